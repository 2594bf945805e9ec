namespace Robustness.Data;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one, never a half-written one: the
/// content goes to a temporary file in the same folder (same file system, so the rename is atomic), which is
/// flushed to disk and then renamed over the target.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string fullPath, Action<Stream> write)
    {
        string directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{fullPath}' has no folder.", nameof(fullPath));
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
}
