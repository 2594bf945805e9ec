using FluentAssertions;
using Robustness.Models;
using Robustness.Protection;
using Robustness.Protection.Batch;
using Xunit;

namespace Robustness.Tests.Protection.Batch;

public class ProtectionRunSettingsTests
{
    private static readonly ProtectorSettings Knobs = new()
    {
        Epsilon = 4.0 / 255, Iterations = 12, StepSize = 0.5 / 255, CheckpointCount = 3, InnerSteps = 7,
        SurrogateSpec = new ModelSpec("resnet18", 10, 16), Seed = 9,
    };

    [Fact]
    public void Every_knob_of_the_protector_settings_is_recorded()
    {
        var run = ProtectionRunSettings.For("error-minimizing", Knobs, batchSize: 64, checkpointEpochs: [1, 2]);

        run.Should().BeEquivalentTo(new ProtectionRunSettings
        {
            Method = "error-minimizing", Epsilon = 4.0 / 255, Iterations = 12, StepSize = 0.5 / 255, CheckpointCount = 3, InnerSteps = 7,
            TrainedModel = "resnet18 w16", Seed = 9, BatchSize = 64, CheckpointEpochs = [1, 2],
        });
        ProtectionRunSettings.For("sep", Knobs with { SurrogateSpec = null }, 64, sourceModel: new ModelSpec("small-cnn")).TrainedModel
            .Should().Be("small-cnn default width");
    }

    [Theory]
    [InlineData("inner steps was 7, now 8")]
    [InlineData("trained model was resnet18 w16, now resnet18 w32")]
    public void A_different_inner_step_count_or_trained_model_is_a_difference(string expected)
    {
        var before = ProtectionRunSettings.For("sep-fa-vr", Knobs, 64);
        var after = expected.StartsWith("inner", StringComparison.Ordinal)
            ? ProtectionRunSettings.For("sep-fa-vr", Knobs with { InnerSteps = 8 }, 64)
            : ProtectionRunSettings.For("sep-fa-vr", Knobs with { SurrogateSpec = new ModelSpec("resnet18", 10, 32) }, 64);

        after.Differences(before).Should().ContainSingle().Which.Should().Be(expected);
    }

    [Fact]
    public void A_run_json_written_before_these_fields_existed_still_matches_a_run_without_them()
    {
        string dir = Directory.CreateTempSubdirectory("robustness-run-").FullName;
        try
        {
            string file = Path.Combine(dir, "run.json");
            File.WriteAllText(file, """{ "method": "random", "eps": 0.03137254901960784, "seed": 0, "batchSize": 4, "checkpointEpochs": [] }""");
            var old = ProtectionRunSettings.Read(file);

            ProtectionRunSettings.For("random", new ProtectorSettings { Epsilon = 8.0 / 255 }, 4).Differences(old).Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
