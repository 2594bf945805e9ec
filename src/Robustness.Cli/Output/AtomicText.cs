namespace Robustness.Cli.Output;

/// <summary>Writes a text file atomically (temporary file in the same folder, then rename): never half-written.</summary>
public static class AtomicText
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, creating its folder.</summary>
    public static void Write(string path, string content)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = $"{full}.tmp-{Environment.ProcessId}";
        File.WriteAllText(temp, content);
        File.Move(temp, full, overwrite: true);
    }
}
