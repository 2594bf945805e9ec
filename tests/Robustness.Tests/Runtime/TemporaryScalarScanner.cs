using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace Robustness.Tests.Runtime;

/// <summary>
/// Compiles C# sources against TorchSharp and lists every place where a number becomes a temporary TorchSharp Scalar
/// that nothing keeps alive through the native call: an implicit (user-defined) conversion to Scalar, and a
/// Tensor-number operator (<c>x * 0.5</c>, <c>x -= 1</c>), which TorchSharp 0.107 implements with such a conversion.
/// See <c>Robustness.Runtime.Scalars</c> for why they are dangerous.
/// </summary>
internal static class TemporaryScalarScanner
{
    public sealed record Finding(string File, int Line, string Code)
    {
        public override string ToString() => $"{File}:{Line}: {Code}";
    }

    public static IReadOnlyList<Finding> ScanDirectory(string directory)
    {
        var files = Directory.GetFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        return Scan(files.Select(f => (Path.GetRelativePath(directory, f), File.ReadAllText(f))));
    }

    public static IReadOnlyList<Finding> Scan(IEnumerable<(string Path, string Text)> sources)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, options, s.Path)).ToList();
        var compilation = CSharpCompilation.Create("scan", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        var findings = new List<Finding>();
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                // Each operation tree once, from its root (a member body, an initializer).
                var root = model.GetOperation(node);
                if (root is null || root.Parent is not null) continue;
                foreach (var operation in root.DescendantsAndSelf())
                    if (IsTemporaryScalar(operation))
                    {
                        var span = operation.Syntax.GetLocation().GetLineSpan();
                        findings.Add(new Finding(span.Path, span.StartLinePosition.Line + 1, operation.Syntax.ToString()));
                    }
            }
        }
        return findings.Distinct().ToList();
    }

    private static bool IsTemporaryScalar(IOperation operation) => operation switch
    {
        IConversionOperation c => c.OperatorMethod is not null && IsScalar(c.Type),
        IBinaryOperation b => TensorNumberOperator(b.OperatorMethod),
        ICompoundAssignmentOperation a => TensorNumberOperator(a.OperatorMethod),
        _ => false,
    };

    private static bool TensorNumberOperator(IMethodSymbol? method) =>
        method is not null && method.ContainingType.ToDisplayString() == "TorchSharp.torch.Tensor"
        && method.Parameters.Any(p => p.Type.SpecialType != SpecialType.None);

    private static bool IsScalar(ITypeSymbol? type) => type?.ToDisplayString() == "TorchSharp.Scalar";

    // Every assembly the test host runs with: the framework, TorchSharp and the library's other packages.
    private static IEnumerable<MetadataReference> References() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p));
}
