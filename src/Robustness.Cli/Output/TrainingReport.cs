using System.Globalization;
using System.Text;
using Robustness.Training;

namespace Robustness.Cli.Output;

/// <summary>
/// The report of <c>robustness train</c>: one row per epoch (loss, accuracies, learning rate, throughput), the loss
/// curve and the accuracy curves (training and, with <c>--test</c>, test accuracy).
/// </summary>
public static class TrainingReport
{
    /// <summary>The JSON report of <c>train</c>.</summary>
    public sealed record TrainingDocument(string Model, string Architecture, long Parameters, int TrainImages, int? TestImages, string Objective,
        int Seed, string Device, double Seconds, IReadOnlyList<EpochSummary> History);

    /// <summary>Writes the report's files into <paramref name="folder"/> and returns the line naming them.</summary>
    public static string Write(ReportFolder folder, TrainingDocument document)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(document);
        if (document.History.Count == 0) throw new ArgumentException("The training history is empty.", nameof(document));
        var c = CultureInfo.InvariantCulture;
        var history = document.History;
        bool tested = history.Any(e => e.Test is not null);
        var md = new StringBuilder();
        md.AppendLine(c, $"# Training: {document.Architecture}").AppendLine();
        md.AppendLine(c, $"- Model: `{document.Model}` ({document.Parameters:N0} parameters)");
        md.AppendLine(c, $"- {document.TrainImages} training images{(document.TestImages is int t ? $", {t} test images" : "")}; objective {document.Objective}; seed {document.Seed}; device {document.Device}");
        md.AppendLine(c, $"- {history.Count} epochs in {TimeSpan.FromSeconds(document.Seconds):hh\\:mm\\:ss}").AppendLine();

        double[] epochs = history.Select(e => (double)(e.Epoch + 1)).ToArray();
        LineChart.Write(folder.PicturePath("loss.png"), "Training loss", "epoch", "mean loss per image",
            [new LineChart.Series("training loss", epochs, history.Select(e => e.TrainLoss).ToArray())]);
        var accuracy = new List<LineChart.Series> { new("training", epochs, history.Select(e => 100 * e.TrainAccuracy).ToArray()) };
        if (tested)
        {
            var withTest = history.Where(e => e.Test is not null).ToArray();
            accuracy.Add(new("test", withTest.Select(e => (double)(e.Epoch + 1)).ToArray(), withTest.Select(e => 100 * e.Test!.Accuracy).ToArray()));
        }
        LineChart.Write(folder.PicturePath("accuracy.png"), "Accuracy", "epoch", "accuracy (%)", accuracy, (0, 100));
        md.AppendLine(c, $"![training loss]({folder.PictureName("loss.png")})").AppendLine();
        md.AppendLine(c, $"![accuracy]({folder.PictureName("accuracy.png")})").AppendLine();

        md.AppendLine("| epoch | training loss | training accuracy | test accuracy | learning rate | images/s | checkpoint |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---|");
        foreach (var e in history)
            md.AppendLine(c, $"| {e.Epoch + 1} | {e.TrainLoss:F4} | {e.TrainAccuracy.ToString("P2", c)} | {(e.Test is { } r ? r.Accuracy.ToString("P2", c) : "-")} | {e.LearningRate:G4} | {e.ImagesPerSecond:F0} | {(e.Checkpointed ? "kept" : "")} |");
        return folder.Write(document, md.ToString());
    }
}
