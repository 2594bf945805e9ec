using FluentAssertions;
using Robustness.Data;
using Robustness.Pruning;
using Robustness.Tests.Attacks;
using Xunit;

namespace Robustness.Tests.Pruning;

/// <summary>PwoA's evaluation protocol, now the library's: the same images and attacks for every model.</summary>
[Collection(TrainedModelCollection.Name)]
public sealed class PrunedModelEvaluationTests
{
    private readonly TrainedModelFixture _fixture;

    public PrunedModelEvaluationTests(TrainedModelFixture fixture) => _fixture = fixture;

    [Fact]
    public void Clean_and_pgd_accuracy_on_a_seeded_subset_with_progress_per_stage()
    {
        var evaluation = new PrunedModelEvaluation(8.0 / 255, attackImages: 32, autoAttack: false, seed: 3, batchSize: 16);
        var test = _fixture.TestSet.Subset(Enumerable.Range(0, 96).ToArray());
        var attacked = evaluation.AttackSubset(test);
        var reports = new List<PrunedModelProgress>();

        var scores = evaluation.Evaluate("teacher", _fixture.Model, 0, test, attacked, new SyncProgress<PrunedModelProgress>(reports.Add));

        attacked.Count.Should().Be(32);
        evaluation.AttackSubset(test).Labels.ToArray().Should().Equal(attacked.Labels.ToArray(), "the subset is seeded");
        evaluation.PgdStepSize.Should().Be(2.0 / 255, "eps / 4 by default");
        scores.Images.Should().Be(96);
        scores.AttackedImages.Should().Be(32);
        scores.PgdAccuracy.Should().BeLessThan(scores.CleanAccuracy);
        scores.AutoAttack.Should().BeNull();
        reports.Should().NotBeEmpty().And.OnlyContain(r => r.Model == "teacher" && r.Stage == "pgd-10");
        PrunedModelEvaluation.Table([scores]).Should().Contain("| teacher |");
    }

    [Fact]
    public void Autoattack_needs_a_catalogue_and_a_step_size_must_be_positive()
    {
        var noCatalog = () => new PrunedModelEvaluation(8.0 / 255, 10, autoAttack: true, seed: 0);
        noCatalog.Should().Throw<ArgumentNullException>().WithParameterName("catalog");
        var badStep = () => new PrunedModelEvaluation(8.0 / 255, 10, autoAttack: false, seed: 0, pgdStepSize: 0);
        badStep.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("pgdStepSize");
    }
}
