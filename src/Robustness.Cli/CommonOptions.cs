using System.CommandLine;
using Robustness.Runtime;
using static TorchSharp.torch;

namespace Robustness.Cli;

/// <summary>Options shared by several commands, defined once so they read and validate the same everywhere.</summary>
public static class CommonOptions
{
    /// <summary>
    /// Runs <paramref name="build"/> (a library call that validates its arguments) and turns an
    /// <see cref="ArgumentException"/> into a usage error: one line, prefixed with <paramref name="option"/> unless the
    /// message names it already, without .NET's "(Parameter ...)" tail (<see cref="ExceptionText"/>).
    /// </summary>
    public static T Usage<T>(Func<T> build, string? option = null)
    {
        ArgumentNullException.ThrowIfNull(build);
        try { return build(); }
        catch (ArgumentException e)
        {
            string message = ExceptionText.Of(e);
            throw new UsageException(option is null || message.Contains(option, StringComparison.Ordinal) ? message : $"{option}: {message}");
        }
    }

    /// <summary><c>--device cpu|cuda|cuda:N|auto</c>.</summary>
    public static Option<string> Device() => new("--device")
    {
        Description = $"Where to run: {TorchDevices.AllowedNames} (auto: CUDA when a CUDA libtorch is configured with {TorchRuntime.LibTorchDirectoryVariable} and sees a GPU, else the CPU).",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary><c>--seed N</c> (>= 0).</summary>
    public static Option<int> Seed() => new("--seed")
    {
        Description = "Seed for initialisation, shuffling and augmentation; the same seed gives the same result on the CPU.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>The <c>--spec FILE.json</c> option: a CNN given as an architecture spec (the <c>arch-spec</c> family).</summary>
    public static Option<string?> ArchSpecFile() => new("--spec")
    {
        Description = "A CNN given as an architecture spec (JSON: stem, stages of plain/basic/bottleneck/invertedResidual/preActBasic blocks, head); replaces --arch and --width.",
    };

    /// <summary>The spec in <paramref name="path"/> as a model spec, or a usage error naming <c>--spec</c>.</summary>
    public static Models.ModelSpec ReadArchSpec(string path, int classes, int channels, int imageSize)
    {
        if (!File.Exists(path)) throw new UsageException($"--spec file '{path}' does not exist.");
        return Usage(() => Models.ArchSpec.Parse(File.ReadAllText(path)).ToModelSpec(classes, channels, imageSize), "--spec");
    }

    /// <summary>Resolves the device option, turning an unknown name into a usage error.</summary>
    public static Device ResolveDevice(ParseResult parse, Option<string> option) => TorchDevices.Resolve(parse.GetValue(option));

    /// <summary>Checks that an integer option lies in [min, max]; a violation is a usage error naming the option.</summary>
    public static int InRange(ParseResult parse, Option<int> option, int min, int max = int.MaxValue)
    {
        int value = parse.GetValue(option);
        if (value < min || value > max)
            throw new UsageException($"{option.Name} must be {(max == int.MaxValue ? $">= {min}" : $"between {min} and {max}")}; got {value}.");
        return value;
    }

    /// <summary>Checks that a number option is finite and in (min, max].</summary>
    public static double Positive(ParseResult parse, Option<double> option)
    {
        double value = parse.GetValue(option);
        if (!double.IsFinite(value) || value <= 0)
            throw new UsageException($"{option.Name} must be a finite number > 0; got {value}.");
        return value;
    }
}
