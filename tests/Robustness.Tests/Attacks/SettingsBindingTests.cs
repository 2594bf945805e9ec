using FluentAssertions;
using Robustness.Attacks;
using Robustness.Protection;
using Xunit;

namespace Robustness.Tests.Attacks;

/// <summary>
/// Each shared knob means one thing, and a technique's definition says which knobs it binds: a knob it lists changes
/// the technique's options, a knob it does not list changes nothing (so warning about it is right).
/// </summary>
public class SettingsBindingTests
{
    private static readonly Dictionary<string, Func<AttackSettings, AttackSettings>> Knobs = new()
    {
        [nameof(AttackSettings.Epsilon)] = s => s with { Epsilon = 3.0 / 255 },
        [nameof(AttackSettings.Steps)] = s => s with { Steps = 3 },
        [nameof(AttackSettings.StepSize)] = s => s with { StepSize = 0.5 / 255 },
        [nameof(AttackSettings.Restarts)] = s => s with { Restarts = 2 },
        [nameof(AttackSettings.SearchSteps)] = s => s with { SearchSteps = 3 },
        [nameof(AttackSettings.Queries)] = s => s with { Queries = 50 },
    };

    public static TheoryData<string> Attacks()
    {
        var data = new TheoryData<string>();
        foreach (var d in BuiltInAttacks.All) data.Add(d.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public void An_attack_reads_exactly_the_knobs_its_definition_lists(string name)
    {
        var definition = BuiltInAttacks.Get(name);
        var settings = new AttackSettings { Norm = definition.Norms[0] };
        var baseline = definition.Build(settings).Options;

        definition.Reads.Should().NotBeEmpty();
        definition.Reads.Should().OnlyContain(r => typeof(AttackSettings).GetProperty(r) != null, "every listed knob is a settings property");
        foreach (var (knob, set) in Knobs)
        {
            var changed = definition.Build(set(settings)).Options;
            if (definition.Reads.Contains(knob)) changed.Should().NotBe(baseline, $"{name} reads {knob}");
            else changed.Should().Be(baseline, $"{name} does not list {knob}, so it must not change");
        }
    }

    [Fact]
    public void Carlini_wagner_takes_its_binary_search_from_search_steps_not_restarts()
    {
        var cw = (CwL2Options)BuiltInAttacks.Get("cw-l2").Build(new AttackSettings { Norm = Norm.L2, SearchSteps = 4 }).Options;
        cw.SearchSteps.Should().Be(4);
        BuiltInAttacks.Get("cw-l2").Ignored(new AttackSettings { Norm = Norm.L2, Restarts = 3 }).Should().Equal("Restarts");
        BuiltInAttacks.Get("pgd").Ignored(new AttackSettings { Steps = 5, Queries = 100 }).Should().Equal("Queries");
    }

    [Fact]
    public void Every_protector_lists_real_knobs_and_sep_and_error_minimising_noise_keep_theirs_apart()
    {
        foreach (var d in BuiltInProtectors.All)
            d.Reads.Should().NotBeEmpty().And.OnlyContain(r => typeof(ProtectorSettings).GetProperty(r) != null, d.Name);
        BuiltInProtectors.Get("sep").Reads.Should().Contain(nameof(ProtectorSettings.Iterations)).And.NotContain(nameof(ProtectorSettings.Steps));
        BuiltInProtectors.Get("error-minimizing").Reads.Should().Contain(nameof(ProtectorSettings.Steps)).And.NotContain(nameof(ProtectorSettings.Iterations));
        BuiltInProtectors.Get("sep-fa-vr").Reads.Should().Contain(nameof(ProtectorSettings.InnerSteps));
        BuiltInProtectors.Get("random").Ignored(new ProtectorSettings { Iterations = 5, StepSize = 0.01 }).Should().Equal("Iterations", "StepSize");
    }
}
