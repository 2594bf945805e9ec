using System.Diagnostics;
using FluentAssertions;
using Xunit;

namespace Robustness.Cli.Tests;

/// <summary>libtorch missing or broken: one line saying what to install, exit code 1, no hundred-line trace.</summary>
public sealed class NativeLoadFailureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-nolib-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TorchSharps_static_constructor_failure_becomes_one_line_naming_the_package()
    {
        var thrown = new TypeInitializationException("TorchSharp.torch", new NotSupportedException(
            "This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.0.\n\nConsider referencing ...\nTrace from LoadNativeBackend:\n..."));

        string? line = NativeLoadFailure.Describe(new InvalidOperationException("outer", thrown));

        line.Should().NotBeNull();
        line.Should().NotContain("\n").And.Contain("doesn't contain a reference to libtorch-cpu-linux-x64").And.Contain("libtorch-cpu-").And.Contain("dotnet tool install");
    }

    [Fact]
    public void Other_failures_are_not_taken_for_a_native_load_failure()
    {
        NativeLoadFailure.Describe(new NotSupportedException("PNG only")).Should().BeNull();
        NativeLoadFailure.Describe(new TypeInitializationException("Robustness.Something", new IOException("x"))).Should().BeNull();
    }

    [Fact]
    public async Task The_tool_without_libtorch_prints_one_line_and_exits_with_1()
    {
        // The tool's own files, less libtorch; an empty NuGet folder, so TorchSharp cannot fetch the natives from the cache either.
        string tool = Path.Combine(_dir, "tool"), packages = Path.Combine(_dir, "packages");
        Directory.CreateDirectory(tool);
        Directory.CreateDirectory(packages);
        foreach (string file in Directory.GetFiles(AppContext.BaseDirectory))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith("libtorch", StringComparison.Ordinal) || name.StartsWith("libc10", StringComparison.Ordinal) || name == "libLibTorchSharp.so") continue;
            // Copies, not links: the host runs an app from its real folder, where libtorch is.
            File.Copy(file, Path.Combine(tool, name));
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (string arg in new[] { Path.Combine(tool, "Robustness.Cli.dll"), "train", "--synthetic", "20", "--epochs", "1", "--out", Path.Combine(_dir, "m.safetensors") })
            start.ArgumentList.Add(arg);
        start.Environment["NUGET_PACKAGES"] = packages;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        (await stdout).Should().BeEmpty("TorchSharp's probing trace is not shown unless asked for");

        process.ExitCode.Should().Be(ExitCodes.Failure, stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle(stderr).Which.Should().StartWith("robustness: libtorch, the native library under TorchSharp, could not be loaded");
    }
}
