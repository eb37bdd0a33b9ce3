// Measures the studio page on a running server (scripts/bench-studio):
//   node open-time.mjs URL
// prints one JSON object: how long the page takes to show its first
// chapter, how many elements the page holds, how long switching to the
// longest chapter takes, and frame times while scrolling through it.
import { launch } from "./harness.mjs";

const url = process.argv[2];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const started = Date.now();
  await page.goto(url);
  await page.locator("#text .para").first().waitFor();
  const open_ms = Date.now() - started;
  const book = await page.evaluate(() => fetch("/api/book").then((r) => r.json()));
  const longest = book.chapters.reduce((a, b) => (b.lines > a.lines ? b : a));
  const t = Date.now();
  await page.locator(`#chapter-list a[data-n="${longest.n}"]`).click();
  await page.locator("#chapter-title", { hasText: longest.title }).waitFor();
  await page.locator("#text .para").first().waitFor();
  const switch_ms = Date.now() - t;
  const elements = await page.evaluate(() => document.querySelectorAll("*").length);
  // Scroll the reader through the whole chapter, one step a frame,
  // recording each frame's time.
  const scroll = await page.evaluate(async () => {
    const reader = document.querySelector("#reader");
    const frames = [];
    let last = performance.now();
    for (let n = 0; n < 400 && reader.scrollTop + reader.clientHeight < reader.scrollHeight - 2; n++) {
      reader.scrollTop += 300;
      await new Promise(requestAnimationFrame);
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    frames.sort((a, b) => a - b);
    const at = (q) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))];
    return { frames: frames.length, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: frames[frames.length - 1] };
  });
  const elementsAfter = await page.evaluate(() => document.querySelectorAll("*").length);
  console.log(JSON.stringify({
    open_ms,
    chapters: book.chapters.length,
    longest: { n: longest.n, lines: longest.lines, switch_ms },
    elements,
    elements_after_scroll: elementsAfter,
    scroll,
  }));
} finally {
  await browser.close();
}
