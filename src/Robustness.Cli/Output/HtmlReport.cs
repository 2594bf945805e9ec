using System.Net;
using Markdig;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using Robustness.IO;

namespace Robustness.Cli.Output;

/// <summary>
/// Turns a Markdown report into one self-contained HTML page beside it (<c>report.md</c> → <c>report.html</c>): the
/// pictures it links are embedded as data URIs, so the page can be mailed or attached to a ticket on its own. Raw HTML
/// in the Markdown is escaped (reports quote file and class names, which are the user's), and the page's content
/// security policy forbids loading anything from outside it.
/// </summary>
public static class HtmlReport
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UsePipeTables().UseEmphasisExtras().UseAutoIdentifiers().DisableHtml().Build();

    private static readonly Dictionary<string, string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png", [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".gif"] = "image/gif",
    };

    /// <summary>Writes the page for <paramref name="markdownPath"/> beside it (atomically) and returns its path.</summary>
    public static string Write(string markdownPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(markdownPath);
        string full = Path.GetFullPath(markdownPath);
        string html = Render(File.ReadAllText(full), Path.GetDirectoryName(full)!);
        string htmlPath = Path.ChangeExtension(full, ".html");
        AtomicFile.WriteAllText(htmlPath, html);
        return htmlPath;
    }

    /// <summary>
    /// The page for <paramref name="markdown"/>; pictures linked by a relative path are read from
    /// <paramref name="folder"/> (a link that leaves the folder or names no picture there stays a plain link).
    /// </summary>
    public static string Render(string markdown, string folder)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var document = Markdown.Parse(markdown, Pipeline);
        foreach (var image in document.Descendants<LinkInline>().Where(l => l.IsImage && l.Url is not null))
            if (DataUri(folder, image.Url!) is string uri) image.Url = uri;

        using var body = new StringWriter();
        var renderer = new HtmlRenderer(body);
        Pipeline.Setup(renderer);
        renderer.Render(document);

        string title = document.Descendants<HeadingBlock>().FirstOrDefault() is { Inline: { } inline }
            ? string.Concat(inline.Descendants<LiteralInline>().Select(l => l.Content.ToString()))
            : "Robustness report";
        return $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
            <meta name="generator" content="robustness">
            <title>{WebUtility.HtmlEncode(title)}</title>
            <style>
            body {"{"} font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; {"}"}
            table {"{"} border-collapse: collapse; margin: 0.5rem 0 1rem; {"}"}
            th, td {"{"} border: 1px solid #c8c8c8; padding: 0.25rem 0.6rem; text-align: left; {"}"}
            th {"{"} background: #f1f1f1; {"}"}
            td {"{"} font-variant-numeric: tabular-nums; {"}"}
            img {"{"} max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid #e2e2e2; {"}"}
            code {"{"} background: #f4f4f4; padding: 0 0.2rem; {"}"}
            </style>
            </head>
            <body>
            <main>
            {body}
            </main>
            </body>
            </html>

            """;
    }

    private static string? DataUri(string folder, string url)
    {
        if (url.Contains(':', StringComparison.Ordinal) || url.StartsWith('/') || url.StartsWith('\\')) return null;
        string root = Path.GetFullPath(folder);
        string path = Path.GetFullPath(Path.Combine(root, Uri.UnescapeDataString(url)));
        if (!path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal)) return null;
        if (!ImageTypes.TryGetValue(Path.GetExtension(path), out string? type) || !File.Exists(path)) return null;
        return $"data:{type};base64,{Convert.ToBase64String(File.ReadAllBytes(path))}";
    }
}
