// Takes the README's picture of the studio on the sample story:
//   CASTBOOK_BIN=... node screenshot.mjs OUT.png
// (a fresh copy of the sample and voices.toml, rendered once so the
// render panel has its links; a line attribution gets wrong selected and
// the speaker picker open).
import fs from "node:fs";
import path from "node:path";
import { launch, root, scratch, startStudio } from "./harness.mjs";

const out = path.resolve(process.argv[2] || "studio.png");
const dir = scratch({
  "the-lighthouse-keepers.txt": { copy: path.join(root, "samples/the-lighthouse-keepers.txt") },
  "voices.toml": { copy: path.join(root, "voices.toml") },
});
const studio = await startStudio(dir, ["the-lighthouse-keepers.txt", "-o", "out"]);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 }, deviceScaleFactor: 1 });
  await page.goto(studio.url);
  await page.locator("#text .seg.d").first().waitFor();
  await page.locator("#render").click();
  await page.locator("#render-state", { hasText: "Rendered in" }).waitFor({ timeout: 300_000 });
  await page.locator("#chapter-list a", { hasText: "Chapter 2" }).click();
  await page.locator("#text .seg.d", { hasText: "Isolde Varga. I'm a surveyor" }).click();
  await page.keyboard.press("Enter");
  await page.locator("#picker-list li").first().waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  studio.child.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
