// Renders each HTML report given on the command line in headless Chromium and checks what a reader would see:
// the page loads with no console error and no failed request, every picture is decoded (naturalWidth > 0), at least
// the expected number of pictures is on the page, and a screenshot is written beside the report (*.screenshot.png).
// Usage: node render.mjs REPORT.html[:MIN_PICTURES] ...   (CHROMIUM: the browser, default /usr/bin/chromium)
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
let failures = 0;
try {
  for (const arg of process.argv.slice(2)) {
    const [file, min = "1"] = arg.split(":");
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    const images = await page.evaluate(() => Array.from(document.images).map((i) => ({
      ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth, alt: i.alt })));
    const broken = images.filter((i) => !i.ok);
    if (images.length < Number(min)) problems.push(`${images.length} picture(s), expected at least ${min}`);
    for (const b of broken) problems.push(`picture not rendered: ${b.alt}`);
    const title = await page.title();
    await page.screenshot({ path: file.replace(/\.html$/, ".screenshot.png"), fullPage: true });
    await page.close();
    if (problems.length > 0) {
      failures++;
      console.log(`FAIL ${file}: ${problems.join("; ")}`);
    } else {
      console.log(`ok   ${file}: "${title}", ${images.length} picture(s) rendered (${images.map((i) => i.width).join(", ")} px wide)`);
    }
  }
} finally {
  await browser.close();
}
process.exit(failures === 0 ? 0 : 1);
