using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using Robustness.Models;
using TorchSharp;
using Xunit;

namespace Robustness.Tests.Models;

public class SafeTensorsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly ModelSpec Spec = ModelTestSupport.SmallSpecs["resnet18"];

    private string Write(string name, byte[] bytes)
    {
        string path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // A file with the given JSON header (length prefix and space padding as the format wants) and data bytes.
    private string WriteRaw(string name, string header, int dataBytes = 0)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.PadRight((header.Length + 7) / 8 * 8));
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return Write(name, bytes);
    }

    private string SavedModel()
    {
        using var classifier = Classifier.Create(Spec, seed: 1);
        string path = _folder.File("model.safetensors");
        classifier.Save(path);
        return path;
    }

    private static void LoadingFails(string path, string messagePattern)
    {
        var load = () => SafeTensors.Load(path);
        load.Should().Throw<InvalidDataException>().WithMessage($"*{Path.GetFileName(path)}*{messagePattern}*");
        using var classifier = Classifier.Create(Spec, seed: 1);
        var loadWeights = () => classifier.LoadWeights(path);
        loadWeights.Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Tensors_and_metadata_round_trip_with_their_dtypes()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, torch.Tensor>
        {
            ["f"] = torch.arange(6, dtype: torch.float32).reshape(2, 3),
            ["i"] = torch.tensor(new long[] { long.MaxValue, -1 }),
            ["b"] = torch.tensor(new byte[] { 0, 255 }),
            ["empty"] = torch.zeros(0, 4),
        };
        string path = _folder.File("t.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });

        var (loaded, metadata) = SafeTensors.Load(path);

        metadata.Should().Equal(new Dictionary<string, string> { ["k"] = "v" });
        loaded.Keys.Should().BeEquivalentTo(tensors.Keys);
        foreach (var (name, t) in tensors)
        {
            loaded[name].dtype.Should().Be(t.dtype);
            ModelTestSupport.Identical(loaded[name], t).Should().BeTrue(name);
            loaded[name].Dispose();
        }
        File.ReadAllBytes(path).Length.Should().Be(8 + HeaderLength(path) + 6 * 4 + 2 * 8 + 2);
        (HeaderLength(path) % 8).Should().Be(0, "the header is padded to 8 bytes");
    }

    private static int HeaderLength(string path) => (int)BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path).AsSpan(0, 8));

    [Fact]
    public void A_missing_file_raises_FileNotFoundException()
    {
        string path = _folder.File("absent.safetensors");
        FluentActions.Invoking(() => SafeTensors.Load(path)).Should().Throw<FileNotFoundException>().WithMessage("*absent.safetensors*");
        FluentActions.Invoking(() => Classifier.Load(path)).Should().Throw<FileNotFoundException>();
        using var classifier = Classifier.Create(Spec, seed: 1);
        FluentActions.Invoking(() => classifier.LoadWeights(path)).Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void An_empty_file_is_rejected() =>
        LoadingFails(Write("empty.safetensors", []), "shorter than the 8-byte header length");

    [Fact]
    public void A_truncated_file_is_rejected()
    {
        byte[] full = File.ReadAllBytes(SavedModel());
        LoadingFails(Write("half.safetensors", full[..(full.Length / 2)]), "outside");
        LoadingFails(Write("header-cut.safetensors", full[..20]), "header length");
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_rejected()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        LoadingFails(Write("long-header.safetensors", bytes), "header length 1000 does not fit");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        LoadingFails(Write("huge-header.safetensors", bytes), "does not fit");
    }

    [Fact]
    public void Bad_json_is_rejected()
    {
        LoadingFails(WriteRaw("bad-json.safetensors", "{\"a\": {\"dtype\": "), "not valid JSON");
        LoadingFails(WriteRaw("array.safetensors", "[1, 2]"), "not a JSON object");
        LoadingFails(WriteRaw("dup.safetensors", """{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"""), "");
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "data offsets outside")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", 8, "data offsets outside")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "data offsets outside")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", 8, "data offsets outside")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "need 12")]
    [InlineData("""{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, "unsupported dtype 'F33'")]
    [InlineData("""{"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}""", 8, "'w' is malformed")]
    [InlineData("""{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", 8, "'w' is malformed")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}}""", 8, "negative dimension")]
    [InlineData("""{"w":{"dtype":"F32","data_offsets":[0,8]}}""", 8, "no shape")]
    [InlineData("""{"w":[1,2]}""", 8, "not an object")]
    [InlineData("""{"__metadata__":{"k":1}}""", 0, "metadata 'k' is not a string")]
    public void Malformed_entries_are_rejected_with_what_is_wrong(string header, int dataBytes, string message) =>
        LoadingFails(WriteRaw("entry.safetensors", header, dataBytes), message);

    [Fact]
    public void Weights_of_another_shape_name_the_tensor_and_both_shapes()
    {
        using (var wider = Classifier.Create(Spec with { Width = 8 }, seed: 1)) wider.Save(_folder.File("w8.safetensors"));
        using var classifier = Classifier.Create(Spec, seed: 1);

        var act = () => classifier.LoadWeights(_folder.File("w8.safetensors"));

        act.Should().Throw<StateDictMismatchException>().WithMessage("*w8.safetensors*does not fit resnet18*mis-shaped [conv1.weight: file [8, 3, 3, 3], network [4, 3, 3, 3]*")
            .Which.Missing.Should().BeEmpty();
    }

    [Fact]
    public void Weights_of_another_architecture_list_missing_and_unexpected_names()
    {
        using (var other = Classifier.Create(ModelTestSupport.SmallSpecs["small-cnn"], seed: 1)) other.Save(_folder.File("cnn.safetensors"));
        using var classifier = Classifier.Create(Spec, seed: 1);

        var act = () => classifier.LoadWeights(_folder.File("cnn.safetensors"));

        act.Should().Throw<StateDictMismatchException>().WithMessage("*cnn.safetensors*does not fit resnet18*missing [*conv1.weight*unexpected [*features.*");
    }

    [Fact]
    public void Metadata_naming_an_unknown_architecture_is_a_file_problem()
    {
        string path = SavedModel();
        var (tensors, metadata) = SafeTensors.Load(path);
        var edited = metadata.ToDictionary(p => p.Key, p => p.Value);
        edited[Classifier.MetadataPrefix + "architecture"] = "resnet1000";
        SafeTensors.Save(path, tensors, edited);
        foreach (var t in tensors.Values) t.Dispose();

        var act = () => Classifier.Load(path);

        act.Should().Throw<InvalidDataException>().WithMessage("*model.safetensors*resnet1000*");
    }

    [Fact]
    public void Save_replaces_an_existing_file_and_leaves_no_temporary_file()
    {
        string path = SavedModel();
        long before = new FileInfo(path).Length;
        using (var classifier = Classifier.Create(Spec with { Width = 8 }, seed: 2)) classifier.Save(path);
        new FileInfo(path).Length.Should().BeGreaterThan(before);
        Directory.GetFiles(_folder.Path).Should().ContainSingle("no temporary files remain");
    }
}
