// castbook studio in a real browser: open the sample story, change a
// speaker and see the script on disk change, play a line to its end, play
// on from a line, change a voice and a gender, and render.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { castbook, launch, root, scratch, startStudio } from "./harness.mjs";

let dir, studio, browser, page;
const read = (name) => fs.readFileSync(path.join(dir, name), "utf8");
/** The `[characters."NAME"]` table of voices.toml text, up to the next table. */
const entry = (voices, name) => {
  const start = voices.indexOf(`[characters."${name}"]`);
  assert.ok(start >= 0, `${name} in voices.toml:\n${voices}`);
  const next = voices.indexOf("\n[", start + 1);
  return voices.slice(start, next < 0 ? undefined : next);
};
const sampleVoices = fs.readFileSync(path.join(root, "voices.toml"), "utf8");

before(async () => {
  dir = scratch({
    "story.txt": { copy: path.join(root, "samples/the-lighthouse-keepers.txt") },
    "voices.toml": sampleVoices,
  });
  studio = await startStudio(dir, ["story.txt", "-o", "out", "--jobs", "2"]);
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("pageerror", (error) => { throw error; });
});

after(async () => {
  await browser?.close();
  studio?.child.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The dialogue span whose text starts with `words`. */
const line = (words) => page.locator("#text .seg.d", { hasText: words }).first();

test("the page shows the story with its speakers and cast", async () => {
  await page.goto(studio.url);
  await page.locator("#text .seg.d").first().waitFor();
  assert.equal(await page.locator("#book-title").textContent(), "The Lighthouse Keepers");
  assert.deepEqual(
    await page.locator("#chapter-list .name").allTextContents(),
    ["Chapter 1: The Storm", "Chapter 2: The Stranger", "Chapter 3: Morning"],
  );
  const cast = await page.locator("#cast .name").allTextContents();
  for (const name of ["Narrator", "Maren Holt", "Tobias Holt", "Isolde Varga", "Fennick"]) {
    assert.ok(cast.includes(name), `${name} in ${cast}`);
  }
  // "You're late," is Tobias's, named beside it and coloured as his.
  assert.equal(await line("You're late").getAttribute("data-s"), "Tobias Holt");
  const chip = page
    .locator(".para", { has: page.locator(".seg.d", { hasText: "You're late" }) })
    .locator(".chip");
  assert.equal(await chip.textContent(), "Tobias Holt");
  // Only one chapter is in the page.
  assert.equal(await page.locator("#text .para.heading").count(), 1);
  assert.equal(fs.existsSync(path.join(dir, "story.txt.script")), false, "no script before a change");
});

test("the keyboard moves between lines of dialogue", async () => {
  const selected = () => page.locator("#text .seg.selected").getAttribute("data-i");
  const dialogue = await page.locator("#text .seg.d").evaluateAll((spans) => spans.map((s) => s.dataset.i));
  await page.keyboard.press("j");
  assert.equal(await selected(), dialogue[0]);
  await page.keyboard.press("j");
  assert.equal(await selected(), dialogue[1]);
  await page.keyboard.press("k");
  assert.equal(await selected(), dialogue[0]);
  await page.keyboard.press("]");
  await page.locator("#chapter-title", { hasText: "Chapter 2" }).waitFor();
  await page.keyboard.press("[");
  await page.locator("#chapter-title", { hasText: "Chapter 1" }).waitFor();
});

test("changing a speaker writes the script at once", async () => {
  await line("You're late").click();
  await page.keyboard.press("Enter");
  await page.locator("#picker-input").fill("Fenn");
  await page.keyboard.press("Enter");
  await page.locator("#toast", { hasText: "Saved: Fennick" }).waitFor();
  const script = read("story.txt.script");
  assert.ok(script.startsWith("# castbook script v1\n"), script.slice(0, 40));
  assert.match(script, /^@Fennick: "You're late,"$/m);
  assert.equal(await line("You're late").getAttribute("data-s"), "Fennick");
  // No speaker: the line is marked, and the review filter and `n` find it.
  await line("Then we have oil").click();
  await page.keyboard.press("Enter");
  await page.locator("#picker-list li", { hasText: "No speaker" }).click();
  await page.locator("#toast", { hasText: "Saved: no speaker" }).waitFor();
  assert.match(read("story.txt.script"), /^@\?: "Then we have oil/m);
  assert.match(await line("Then we have oil").getAttribute("class"), /\bunknown\b/);
  await line("You're late").click();
  await page.keyboard.press("n");
  assert.equal(await page.locator("#text .seg.selected").textContent(), await line("Then we have oil").textContent());
  await page.keyboard.press("r");
  const shown = await page.locator("#text .para:not(.heading)").evaluateAll(
    (paras) => paras.filter((p) => getComputedStyle(p).display !== "none").length,
  );
  // Fennick's line (Tobias is named beside it: doubtful) and the one with no speaker.
  assert.equal(shown, 2, "only the paragraphs that need review");
  await page.keyboard.press("r");
  // A name nobody had yet, typed in.
  await line("Then we have oil").click();
  await page.keyboard.press("e");
  await page.locator("#picker-input").fill("The Harbourmaster");
  await page.keyboard.press("Enter");
  await page.locator("#toast", { hasText: "Saved: The Harbourmaster" }).waitFor();
  assert.match(read("story.txt.script"), /^@The Harbourmaster: "Then we have oil/m);
  await page.locator("#cast .name", { hasText: "The Harbourmaster" }).waitFor();
  // After a reload the page reads the script back.
  await page.reload();
  await line("You're late").waitFor();
  assert.equal(await line("You're late").getAttribute("data-s"), "Fennick");
});

/** Resolves when the audio element next reaches `ended`. */
const ended = () =>
  page.evaluate(() => new Promise((resolve, reject) => {
    const player = document.querySelector("#player");
    player.addEventListener("ended", () => resolve(player.duration), { once: true });
    player.addEventListener("error", () => reject(new Error("audio error")), { once: true });
  }));

test("a line plays to its end, twice", async () => {
  await line("The supply boat").click();
  for (let round = 0; round < 2; round++) {
    const done = ended();
    await page.keyboard.press(" ");
    const seconds = await done;
    assert.ok(seconds > 0.5 && seconds < 10, `duration ${seconds}`);
  }
});

test("play from here follows the audio from line to line", async () => {
  await line("Four nights is nothing").click();
  const start = Number(await line("Four nights is nothing").getAttribute("data-i"));
  await page.keyboard.press("Shift+P");
  await page.waitForFunction(
    (start) => {
      const playing = document.querySelector("#text .seg.playing");
      return playing && Number(playing.dataset.i) >= start + 2;
    },
    start,
    { timeout: 60_000 },
  );
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("#text .seg.playing").count(), 0);
});

test("changing a voice and a gender writes voices.toml, comments kept", async () => {
  const row = page.locator("#cast li", { hasText: "Isolde Varga" });
  await row.locator("input").fill("espeak:en-gb-scotland+f3");
  await row.locator("input").press("Enter");
  await page.locator("#toast", { hasText: "Isolde Varga speaks with espeak:en-gb-scotland+f3" }).waitFor();
  let voices = read("voices.toml");
  assert.match(entry(voices, "Isolde Varga"), /^voice = "espeak:en-gb-scotland\+f3"$/m);
  for (const comment of sampleVoices.split("\n").filter((l) => l.startsWith("#"))) {
    assert.ok(voices.includes(comment), `kept: ${comment}`);
  }
  assert.ok(voices.includes('aliases = ["Maren"]              # optional: other names the story uses'));
  // Characters the file did not list were added with their voices, as
  // `cast --write` adds them; Fennick, listed without a voice, stays so.
  assert.match(entry(voices, "The Harbourmaster"), /^voice = "espeak:/m);
  assert.doesNotMatch(entry(voices, "Fennick"), /^voice =/m);
  // A gender: Fennick becomes a woman, with a woman's voice from the pool.
  await page.locator("#cast li", { hasText: "Fennick" }).locator("select").selectOption("female");
  await page.locator("#toast", { hasText: "Fennick is female" }).waitFor();
  voices = read("voices.toml");
  assert.match(entry(voices, "Fennick"), /^gender = "female"$/m);
  assert.match(entry(voices, "Fennick"), /^voice = "espeak:[^"]*\+f\d"$/m);
  // A voice that does not exist is refused, and the file left alone.
  const row2 = page.locator("#cast li", { hasText: "Maren Holt" });
  await row2.locator("input").fill("espeak:no-such-voice");
  await row2.locator("input").press("Enter");
  await page.locator("#toast.error", { hasText: "no-such-voice" }).waitFor();
  assert.equal(read("voices.toml"), voices);
});

test("render makes every chapter, linked from the page", async () => {
  await page.locator("#render").click();
  await page.locator("#render-state", { hasText: "Rendered in" }).waitFor({ timeout: 300_000 });
  const links = page.locator("#render-links a");
  assert.equal(await links.count(), 3);
  const href = await links.first().getAttribute("href");
  const response = await page.request.get(new URL(href, studio.url).href);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()["content-type"], "audio/wav");
  assert.equal((await response.body()).subarray(0, 4).toString(), "RIFF");
  const manifest = JSON.parse(read("out/manifest.json"));
  const segments = manifest.chapters.flatMap((c) => c.segments);
  const late = segments.find((s) => s.text.includes("late"));
  assert.equal(late.speaker, "Fennick");
  assert.ok(segments.some((s) => s.speaker === "Isolde Varga" && s.voice === "espeak:en-gb-scotland+f3"));
  // The same render as the command line's, byte for byte.
  const cli = spawnSync(castbook(), ["render", "story.txt.script", "-c", "voices.toml", "-o", "cli", "--quiet"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(cli.status, 0, cli.stderr);
  const theirs = JSON.parse(read("cli/manifest.json"));
  assert.deepEqual(theirs.chapters, manifest.chapters);
  for (const chapter of manifest.chapters) {
    assert.ok(
      fs.readFileSync(path.join(dir, "out", chapter.file)).equals(fs.readFileSync(path.join(dir, "cli", chapter.file))),
      chapter.file,
    );
  }
});
