using FluentAssertions;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Robustness.Build;
using Xunit;

namespace Robustness.Tests.Build;

/// <summary>The build step that makes libLibTorchSharp.so load on hosts with an older libstdc++ (see README, Platform notes).</summary>
public class WeakenMissingGlibcxxVersionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string ShippedGlue()
    {
        // The untouched copy in the NuGet cache: the one TorchSharp ships.
        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Fact]
    public void The_shipped_glue_needs_GLIBCXX_3_4_32_strongly()
    {
        var elf = ElfVersionInfo.Parse(File.ReadAllBytes(ShippedGlue()));
        var need = elf.Needs.Should().ContainSingle(n => n.Version == "GLIBCXX_3.4.32").Which;
        need.Library.Should().Be("libstdc++.so.6");
        (need.Flags & ElfVersionInfo.VerFlagWeak).Should().Be(0);
    }

    [Fact]
    public void Weakening_changes_only_the_flag_of_the_named_version()
    {
        byte[] original = File.ReadAllBytes(ShippedGlue());
        var elf = ElfVersionInfo.Parse((byte[])original.Clone());

        elf.Weaken("GLIBCXX_3.4.32").Should().Be(1);
        elf.Weaken("GLIBCXX_3.4.32").Should().Be(0, "a second pass finds nothing left to do");

        var reparsed = ElfVersionInfo.Parse(elf.Bytes);
        reparsed.Needs.Single(n => n.Version == "GLIBCXX_3.4.32").Flags.Should().Be(ElfVersionInfo.VerFlagWeak);
        reparsed.Needs.Where(n => n.Version != "GLIBCXX_3.4.32").Should().OnlyContain(n => n.Flags == 0);
        int differing = Enumerable.Range(0, original.Length).Count(i => original[i] != elf.Bytes[i]);
        differing.Should().Be(1, "only the low byte of one vna_flags changes");
    }

    [Fact]
    public void The_host_libstdcxx_definitions_are_read()
    {
        string? host = WeakenMissingGlibcxxVersions.FindHostLibstdcxx();
        host.Should().NotBeNull("Linux test machines have libstdc++");
        ElfVersionInfo.Parse(File.ReadAllBytes(host!)).Definitions.Should().Contain("GLIBCXX_3.4.21").And.Contain("CXXABI_1.3");
    }

    [Fact]
    public void The_task_patches_only_when_the_host_lacks_the_version()
    {
        string lib = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(ShippedGlue(), lib);
        string hostLib = WeakenMissingGlibcxxVersions.FindHostLibstdcxx()!;
        bool hostHasIt = ElfVersionInfo.Parse(File.ReadAllBytes(hostLib)).Definitions.Contains("GLIBCXX_3.4.32");

        var task = NewTask(lib, force: false);
        task.Execute().Should().BeTrue();

        bool weak = (ElfVersionInfo.Parse(File.ReadAllBytes(lib)).Needs.Single(n => n.Version == "GLIBCXX_3.4.32").Flags & ElfVersionInfo.VerFlagWeak) != 0;
        weak.Should().Be(!hostHasIt);
        task.Patched.Should().HaveCount(hostHasIt ? 0 : 1);
        Directory.GetFiles(_dir).Should().ContainSingle("the rewrite leaves no temporary file");
    }

    [Fact]
    public void Force_patches_whatever_the_host_has_and_non_ELF_files_are_skipped()
    {
        string lib = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(ShippedGlue(), lib);
        string notElf = Path.Combine(_dir, "readme.txt");
        File.WriteAllText(notElf, "not a library");

        var task = NewTask(lib, force: true, extra: notElf);
        task.Execute().Should().BeTrue();

        task.Patched.Select(p => p.ItemSpec).Should().Equal(lib);
        File.ReadAllText(notElf).Should().Be("not a library");
    }

    [Fact]
    public void A_file_that_is_not_ELF64_little_endian_is_rejected_clearly()
    {
        var bytes = new byte[128];
        bytes[0] = 0x7f; bytes[1] = (byte)'E'; bytes[2] = (byte)'L'; bytes[3] = (byte)'F'; bytes[4] = 1; // 32-bit
        var act = () => ElfVersionInfo.Parse(bytes);
        act.Should().Throw<InvalidDataException>().WithMessage("*64-bit*");
    }

    [Fact]
    public void The_patched_glue_in_the_test_output_loads_and_runs_an_operation()
    {
        // The test project's own output went through the build step; this process loaded it.
        using var t = TorchSharp.torch.arange(4f).sum();
        t.item<float>().Should().Be(6f);
    }

    private static WeakenMissingGlibcxxVersions NewTask(string lib, bool force, string? extra = null)
    {
        var items = new List<ITaskItem> { new TaskItem(lib) };
        if (extra is not null) items.Add(new TaskItem(extra));
        return new WeakenMissingGlibcxxVersions
        {
            BuildEngine = new SilentBuildEngine(),
            Files = items.ToArray(),
            Versions = "GLIBCXX_3.4.32",
            Force = force,
        };
    }

    private sealed class SilentBuildEngine : IBuildEngine
    {
        public bool ContinueOnError => false;
        public int LineNumberOfTaskNode => 0;
        public int ColumnNumberOfTaskNode => 0;
        public string ProjectFileOfTaskNode => "test.proj";
        public bool BuildProjectFile(string projectFileName, string[] targetNames, System.Collections.IDictionary globalProperties, System.Collections.IDictionary targetOutputs) => true;
        public void LogCustomEvent(CustomBuildEventArgs e) { }
        public void LogErrorEvent(BuildErrorEventArgs e) { }
        public void LogMessageEvent(BuildMessageEventArgs e) { }
        public void LogWarningEvent(BuildWarningEventArgs e) { }
    }
}
