using FluentAssertions;
using Xunit;
using static Robustness.Testing.CliRun;

namespace Robustness.Cli.Tests;

/// <summary><c>--verbosity</c>: the library's log reaches stderr at the chosen level, on every command.</summary>
public sealed class VerbosityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("robustness-verbosity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    [Fact]
    public async Task Detailed_shows_the_trainers_per_epoch_log_and_normal_does_not()
    {
        string[] train = ["train", "--synthetic", "60", "--epochs", "2", "--width", "4", "--batch-size", "32", "-o", Path.Combine(_dir, "m.safetensors")];

        var detailed = await Run([.. train, "--verbosity", "detailed"]);
        var normal = await Run(train);

        detailed.Code.Should().Be(0, detailed.Err);
        detailed.Err.Should().Contain("info: Trainer: Epoch 1/2: loss").And.Contain("info: Trainer: Epoch 2/2");
        normal.Code.Should().Be(0, normal.Err);
        normal.Err.Should().NotContain("info:");
    }

    [Fact]
    public async Task An_unknown_level_is_a_usage_error_listing_the_levels()
    {
        var run = await Run("doctor", "-v", "chatty");

        run.Code.Should().Be(ExitCodes.BadArguments);
        run.Err.Should().Contain("chatty").And.Contain("quiet");
    }
}
