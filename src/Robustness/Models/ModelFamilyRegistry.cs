namespace Robustness.Models;

/// <summary>
/// An immutable set of <see cref="ModelFamily"/> by name (case-insensitive). <see cref="BuiltIn"/> holds the
/// library's own networks; the service provider of <c>AddRobustness()</c> holds those plus every family a module
/// registered, and is what an application passes to <see cref="Classifier.Load"/> to read a module's models.
/// Nothing is registered process-wide: two hosts with different modules do not see each other's families.
/// </summary>
public sealed class ModelFamilyRegistry
{
    private readonly Dictionary<string, ModelFamily> _byName;

    /// <summary>A registry of <paramref name="families"/>; a later family of the same name replaces an earlier one.</summary>
    public ModelFamilyRegistry(IEnumerable<ModelFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        _byName = new Dictionary<string, ModelFamily>(StringComparer.OrdinalIgnoreCase);
        foreach (var family in families)
        {
            ArgumentNullException.ThrowIfNull(family, nameof(families));
            _byName[family.Name] = family;
        }
    }

    /// <summary>The library's own families: small-cnn, resnet18, preact-resnet18, vgg11, vgg16, wide-resnet, lenet.</summary>
    public static ModelFamilyRegistry BuiltIn { get; } = new(BuiltInModelFamilies.All);

    /// <summary>The registered names, ordered.</summary>
    public IReadOnlyList<string> Names => _byName.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>The registered families, ordered by name.</summary>
    public IReadOnlyList<ModelFamily> Families => _byName.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The family <paramref name="architecture"/>, or an exception listing the known names.</summary>
    public ModelFamily Get(string architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return TryGet(architecture) ?? throw new ArgumentOutOfRangeException(nameof(architecture), architecture,
            $"Unknown architecture '{architecture}'. Known: {string.Join(", ", Names)}.");
    }

    /// <summary>The family <paramref name="name"/>, or null.</summary>
    public ModelFamily? TryGet(string name) => name is not null && _byName.TryGetValue(name, out var family) ? family : null;

    /// <summary>A registry with <paramref name="family"/> added (or replacing the family of its name).</summary>
    public ModelFamilyRegistry With(ModelFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        return TryGet(family.Name) == family ? this : new ModelFamilyRegistry(_byName.Values.Append(family));
    }

    /// <summary>A freshly initialised network for <paramref name="spec"/> on the CPU.</summary>
    public TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Create(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return Get(spec.Architecture).Build(spec);
    }

    internal static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(c => char.IsWhiteSpace(c) || char.IsUpper(c)))
            throw new ArgumentException($"Architecture name '{name}' must be lower-case with no spaces (use dashes).", nameof(name));
    }
}
