using System.Text;

namespace Robustness.IO;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one, never a half-written one: the
/// content goes to a temporary file in the same folder (same file system, so the rename is atomic), which is
/// flushed to disk and then renamed over the target. A process killed mid-write leaves at most a hidden
/// <c>.name.*.tmp</c> file beside the target, never a truncated target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>, creating its folder.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{fullPath}' has no folder.", nameof(path));
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) to <paramref name="path"/>.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        Write(path, stream => stream.Write(bytes));
    }
}
