using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Robustness.Hosting;

/// <summary>
/// Installs a module package into a host: what <see cref="RobustnessModuleAttribute"/> points at. Its one method calls
/// the package's extension method (<c>builder.AddEfficiency()</c>), so discovery and code install the same thing.
/// </summary>
public interface IRobustnessModuleInstaller
{
    /// <summary>Installs the module into <paramref name="builder"/>.</summary>
    void Install(RobustnessBuilder builder);
}

/// <summary>
/// Marks an assembly as a Robustness module package and names its installer (a type with a public parameterless
/// constructor implementing <see cref="IRobustnessModuleInstaller"/>), so a host such as the <c>robustness</c> tool
/// installs the modules shipped beside it (<see cref="ModuleDiscovery"/>) with no edit to its code.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class RobustnessModuleAttribute(Type installer) : Attribute
{
    /// <summary>The installer type.</summary>
    public Type Installer { get; } = installer ?? throw new ArgumentNullException(nameof(installer));
}

/// <summary>
/// Finds the module packages shipped in a folder (the tool's own) and installs them: every <c>Robustness.*.dll</c>
/// whose assembly carries <see cref="RobustnessModuleAttribute"/>, in file-name order. Assemblies without the
/// attribute (the library, the tool) are skipped; a package that cannot be loaded is an error naming the file, not a
/// module silently missing.
/// </summary>
public static class ModuleDiscovery
{
    /// <summary>The module assemblies in <paramref name="directory"/> (default: the application's folder), in file-name order.</summary>
    public static IReadOnlyList<Assembly> Find(string? directory = null)
    {
        directory ??= AppContext.BaseDirectory;
        var found = new List<Assembly>();
        foreach (var file in Directory.EnumerateFiles(directory, "Robustness.*.dll").Order(StringComparer.Ordinal))
        {
            // Read the attribute from the metadata first: the folder may hold other assemblies (a test host's) that
            // this application could not, and need not, load.
            if (!DeclaresModule(file)) continue;
            try { found.Add(Load(file)); }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException)
            {
                throw new InvalidOperationException($"The module package '{file}' could not be loaded: {e.Message}", e);
            }
        }
        return found;
    }

    // By name where the application knows the assembly (its dependencies), else from the file (a package dropped in).
    private static Assembly Load(string file)
    {
        var name = AssemblyName.GetAssemblyName(file);
        try { return Assembly.Load(name); }
        catch (FileNotFoundException) { return Assembly.LoadFrom(file); }
    }

    // Whether the assembly in the file carries [assembly: RobustnessModule(...)], read without loading it.
    private static bool DeclaresModule(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) return false;
            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly) return false;
            foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
            {
                var constructor = metadata.GetCustomAttribute(handle).Constructor;
                EntityHandle type = constructor.Kind switch
                {
                    HandleKind.MemberReference => metadata.GetMemberReference((MemberReferenceHandle)constructor).Parent,
                    HandleKind.MethodDefinition => metadata.GetMethodDefinition((MethodDefinitionHandle)constructor).GetDeclaringType(),
                    _ => default,
                };
                var (ns, typeName) = type.Kind switch
                {
                    HandleKind.TypeReference => (metadata.GetTypeReference((TypeReferenceHandle)type).Namespace, metadata.GetTypeReference((TypeReferenceHandle)type).Name),
                    HandleKind.TypeDefinition => (metadata.GetTypeDefinition((TypeDefinitionHandle)type).Namespace, metadata.GetTypeDefinition((TypeDefinitionHandle)type).Name),
                    _ => (default(StringHandle), default(StringHandle)),
                };
                if (!typeName.IsNil && metadata.GetString(typeName) == nameof(RobustnessModuleAttribute)
                    && metadata.GetString(ns) == typeof(RobustnessModuleAttribute).Namespace)
                    return true;
            }
            return false;
        }
        catch (BadImageFormatException)
        {
            return false; // not a .NET assembly (a native library named alike)
        }
    }

    /// <summary>Installs every module package found in <paramref name="directory"/> into <paramref name="builder"/>; returns their assemblies.</summary>
    public static IReadOnlyList<Assembly> InstallAll(RobustnessBuilder builder, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var assemblies = Find(directory);
        foreach (var assembly in assemblies)
        {
            var type = assembly.GetCustomAttribute<RobustnessModuleAttribute>()!.Installer;
            if (Activator.CreateInstance(type) is not IRobustnessModuleInstaller installer)
                throw new InvalidOperationException($"{assembly.GetName().Name}'s module installer {type.FullName} does not implement {nameof(IRobustnessModuleInstaller)}.");
            installer.Install(builder);
        }
        return assemblies;
    }
}
