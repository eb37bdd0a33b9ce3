// castbook studio: the page is a view of two files, the script and
// voices.toml; every change goes straight to the server, which writes them.
// Plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (selector) => document.querySelector(selector);
const tools = document.querySelector("#line-tools"); // moves between paragraphs
const PAGE_PARAGRAPHS = 150; // paragraphs added to the page at a time

const S = {
  book: null,
  files: null,
  cast: [],
  low: 0.5,
  chapter: null, // {n, title, segments}
  paras: [], // [{heading, segs}]
  shown: 0, // paragraphs in the page so far
  sel: null, // selected segment index (in the whole script)
  review: false,
  hues: new Map(),
  voices: null,
  playing: null, // {kind: "line"|"run", i, next}
  audio: new Map(), // url -> Promise<blob url>
};

// ---------------------------------------------------------------- helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

let toastTimer = 0;
function toast(message, kind) {
  const node = $("#toast");
  node.textContent = message;
  node.className = `show ${kind || ""}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.className = ""; }, kind === "error" ? 6000 : 2200);
}

function basename(path) {
  return path.split("/").pop();
}

function flagged(seg) {
  return seg.k === "d" && (seg.s === null || (seg.c !== null && seg.c < S.low));
}

// Speaker colours: hues spread around the wheel in order of first
// appearance, so the main characters are far apart and stay put.
function hue(name) {
  if (!S.hues.has(name)) {
    const n = S.hues.size;
    S.hues.set(name, Math.round((n * 137.508 + 210) % 360));
  }
  return S.hues.get(name);
}

// -------------------------------------------------------------- the book

async function loadBook() {
  const book = await api("/api/book");
  S.book = book;
  S.low = book.low;
  document.title = `${book.title} · castbook studio`;
  $("#book-title").textContent = book.title;
  setFiles(book.files);
  setCast(book.cast);
  renderChapterList();
}

function setFiles(files) {
  S.files = files;
  const foot = $("#files");
  foot.replaceChildren();
  const line = (label, file) => {
    const p = el("div");
    p.append(`${label}: `, el("code", "", file.path));
    if (!file.exists) p.append(" (created at the first change)");
    foot.append(p);
  };
  line("Speakers", files.script);
  line("Voices", files.voices);
  const banner = $("#banner");
  banner.hidden = !files.problem;
  banner.className = files.problem ? "error" : "";
  banner.textContent = files.problem ? `Can't read a file: ${files.problem}` : "";
}

function renderChapterList() {
  const list = $("#chapter-list");
  list.replaceChildren();
  let review = 0;
  for (const chapter of S.book.chapters) {
    const flags = chapter.unknown + chapter.low;
    review += flags;
    const li = el("li", flags ? "" : "clean");
    const a = el("a");
    a.href = `#${chapter.n}`;
    a.dataset.n = chapter.n;
    a.title = `${chapter.title}: ${chapter.lines} lines of dialogue, ${chapter.unknown} with no speaker, ${chapter.low} doubtful`;
    a.append(el("span", "name", chapter.title));
    if (flags) a.append(el("span", "badge", String(flags)));
    if (S.chapter && S.chapter.n === chapter.n) a.setAttribute("aria-current", "true");
    a.addEventListener("click", (event) => {
      event.preventDefault();
      openChapter(chapter.n);
    });
    li.append(a);
    list.append(li);
  }
  $("#review-count").textContent = review ? `(${review})` : "";
}

function updateChapterSummary(summary) {
  if (!summary) return;
  const index = S.book.chapters.findIndex((c) => c.n === summary.n);
  if (index >= 0) S.book.chapters[index] = summary;
  renderChapterList();
  if (S.chapter && S.chapter.n === summary.n) renderChapterMeta(summary);
}

function renderChapterMeta(summary) {
  const parts = [`${summary.lines} lines of dialogue`];
  if (summary.unknown) parts.push(`${summary.unknown} with no speaker`);
  if (summary.low) parts.push(`${summary.low} doubtful`);
  $("#chapter-meta").textContent = parts.join(" · ");
}

async function openChapter(n, select) {
  stop();
  const chapter = await api(`/api/chapter/${n}`);
  S.chapter = chapter;
  S.paras = paragraphs(chapter.segments);
  S.shown = 0;
  S.sel = null;
  $("#chapter-title").textContent = chapter.title;
  renderChapterMeta(S.book.chapters.find((c) => c.n === n));
  $("#text").replaceChildren();
  hideTools();
  showMore();
  renderChapterNav();
  renderChapterList();
  const current = document.querySelector(`#chapter-list a[data-n="${n}"]`);
  if (current) current.scrollIntoView({ block: "nearest" });
  history.replaceState(null, "", `#${n}`);
  if (select !== undefined) selectSegment(select, true);
  else $("#reader").scrollTop = 0;
}

// Segments grouped as the page shows them: a heading alone, else one
// paragraph's segments together.
function paragraphs(segments) {
  const out = [];
  let current = null;
  for (const seg of segments) {
    if (!/\S/.test(seg.t)) continue;
    if (seg.k === "h") {
      out.push({ heading: true, segs: [seg] });
      current = null;
      continue;
    }
    if (!current || seg.p === null || seg.p !== current.p) {
      current = { heading: false, p: seg.p, segs: [] };
      out.push(current);
    }
    current.segs.push(seg);
  }
  return out;
}

function renderChapterNav() {
  const nav = $("#chapter-nav");
  nav.replaceChildren();
  const index = S.book.chapters.findIndex((c) => c.n === S.chapter.n);
  const button = (chapter, label) => {
    const b = el("button", "", label);
    b.type = "button";
    b.addEventListener("click", () => openChapter(chapter.n));
    return b;
  };
  nav.append(index > 0 ? button(S.book.chapters[index - 1], `← ${S.book.chapters[index - 1].title}`) : el("span"));
  if (index + 1 < S.book.chapters.length) nav.append(button(S.book.chapters[index + 1], `${S.book.chapters[index + 1].title} →`));
}

// Adds the next paragraphs to the page (a long chapter arrives whole but
// is put in the page as the reader gets there, keeping the page light).
function showMore(until) {
  const text = $("#text");
  const target = Math.min(S.paras.length, Math.max(S.shown + PAGE_PARAGRAPHS, until || 0));
  const fragment = document.createDocumentFragment();
  for (; S.shown < target; S.shown++) fragment.append(paragraphNode(S.paras[S.shown]));
  text.append(fragment);
  if (!S.paras.length) text.replaceChildren(el("p", "empty", "This chapter has no text."));
}

const moreObserver = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && S.chapter && S.shown < S.paras.length) showMore();
}, { root: null, rootMargin: "800px" });

function paragraphNode(para) {
  const div = el("div", para.heading ? "para heading" : "para");
  const who = el("div", "who");
  const body = el("div", "body");
  const speakers = [];
  // Matter that is not read aloud (a summary, a copyright page): shown, greyed.
  const skipped = para.segs.find((s) => s.m);
  if (skipped) {
    div.classList.add("skipped");
    who.append(el("span", "matter", skipped.m));
    div.title = `${skipped.m}: not read aloud (castbook render --matter keep / --notes read to read it)`;
  }
  for (const seg of para.segs) {
    const span = el("span", `seg ${seg.k}`, seg.t);
    span.dataset.i = seg.i;
    if (seg.k === "d") {
      span.dataset.s = seg.s === null ? "" : seg.s;
      if (seg.s === null) span.classList.add("unknown");
      else span.style.setProperty("--hue", hue(seg.s));
      if (flagged(seg)) {
        span.classList.add(seg.s === null ? "unknown" : "low");
        div.classList.add("flag");
        span.title = seg.s === null ? "No speaker found" : `Doubtful: ${seg.s}? (confidence ${seg.c.toFixed(1)})`;
      } else {
        span.title = seg.s;
      }
      if (!speakers.includes(seg.s)) speakers.push(seg.s);
    }
    body.append(span);
    if (flagged(seg)) body.append(el("span", "mark", "?"));
  }
  for (const name of speakers) {
    const chip = el("button", name === null ? "chip unknown" : "chip", name === null ? "?" : name);
    chip.type = "button";
    chip.tabIndex = -1;
    if (name !== null) chip.style.setProperty("--hue", hue(name));
    chip.title = name === null ? "No speaker: click to choose one" : `${name}: click to change`;
    chip.addEventListener("click", (event) => {
      event.stopPropagation();
      const first = para.segs.find((s) => s.k === "d" && s.s === name);
      selectSegment(first.i);
      openPicker();
    });
    who.append(chip);
  }
  div.append(who, body);
  return div;
}

function segment(i) {
  if (!S.chapter || !S.chapter.segments.length) return null;
  const first = S.chapter.segments[0].i;
  return S.chapter.segments[i - first] || null;
}

function spanOf(i) {
  return document.querySelector(`#text .seg[data-i="${i}"]`);
}

function paragraphIndexOf(i) {
  return S.paras.findIndex((p) => p.segs.some((s) => s.i === i));
}

function refreshParagraph(i) {
  const index = paragraphIndexOf(i);
  const span = spanOf(i);
  if (index < 0 || !span) return;
  const old = span.closest(".para");
  old.replaceWith(paragraphNode(S.paras[index]));
  if (S.sel === i) selectSegment(i, false);
}

// -------------------------------------------------------------- selection

function selectSegment(i, scroll) {
  const index = paragraphIndexOf(i);
  if (index < 0) return;
  if (index >= S.shown) showMore(index + 20);
  document.querySelectorAll("#text .seg.selected").forEach((n) => n.classList.remove("selected"));
  const span = spanOf(i);
  if (!span) return;
  S.sel = i;
  span.classList.add("selected");
  if (scroll) span.scrollIntoView({ block: "center", behavior: "smooth" });
  history.replaceState(null, "", `#${S.chapter.n}:${i}`);
  showTools(span);
}

function showTools(span) {
  const seg = segment(S.sel);
  tools.querySelector('[data-act="speaker"]').hidden = !seg || seg.k !== "d";
  // In the page, not the paragraph: paragraphs clip what overflows them.
  const page = $(".page");
  page.append(tools);
  tools.hidden = false;
  const top = span.getBoundingClientRect().top - page.getBoundingClientRect().top;
  tools.style.right = "32px";
  tools.style.top = `${top - 36}px`;
}

function hideTools() {
  tools.hidden = true;
  document.body.append(tools);
}

// The next dialogue line after (dir 1) or before (dir -1) the selection;
// in review mode, the next one that needs review.
function step(dir) {
  const segs = S.chapter ? S.chapter.segments : [];
  const want = (s) => s.k === "d" && (!S.review || flagged(s));
  let at = S.sel === null ? (dir > 0 ? -1 : segs.length) : segs.findIndex((s) => s.i === S.sel);
  for (at += dir; at >= 0 && at < segs.length; at += dir) {
    if (want(segs[at])) return selectSegment(segs[at].i, true);
  }
  return null;
}

// The next line that needs review in the book, chapter after chapter.
async function nextFlag(dir) {
  const segs = S.chapter ? S.chapter.segments : [];
  let at = S.sel === null ? (dir > 0 ? -1 : segs.length) : segs.findIndex((s) => s.i === S.sel);
  for (at += dir; at >= 0 && at < segs.length; at += dir) {
    if (flagged(segs[at])) return selectSegment(segs[at].i, true);
  }
  const chapters = S.book.chapters;
  let c = chapters.findIndex((x) => x.n === S.chapter.n);
  for (c += dir; c >= 0 && c < chapters.length; c += dir) {
    if (chapters[c].unknown + chapters[c].low === 0) continue;
    const chapter = await api(`/api/chapter/${chapters[c].n}`);
    const list = dir > 0 ? chapter.segments : [...chapter.segments].reverse();
    const hit = list.find(flagged);
    if (hit) return openChapter(chapters[c].n, hit.i);
  }
  toast("No more lines need review in that direction.");
  return null;
}

// ------------------------------------------------------- speaker picker

function suggestions() {
  const seg = segment(S.sel);
  const names = [];
  const add = (name) => { if (name && !names.includes(name)) names.push(name); };
  // Who is talking nearby first, then everyone by how much they say.
  const segs = S.chapter.segments;
  const at = segs.findIndex((s) => s.i === S.sel);
  for (let d = 1; d < 12; d++) {
    for (const j of [at - d, at + d]) {
      if (segs[j] && segs[j].k === "d") add(segs[j].s);
    }
  }
  [...S.cast].filter((c) => c.name).sort((a, b) => b.lines - a.lines).forEach((c) => add(c.name));
  // The current speaker last: the line is being changed to someone else.
  const others = names.filter((n) => n !== seg.s);
  return { seg, names: seg.s === null ? others : [...others, seg.s] };
}

let pickerItems = [];
let pickerIndex = 0;

function openPicker() {
  const seg = segment(S.sel);
  if (!seg || seg.k !== "d") return;
  const picker = $("#picker");
  const input = $("#picker-input");
  input.value = "";
  picker.hidden = false;
  fillPicker();
  // Below the line if it fits, else above it.
  const box = spanOf(S.sel).getBoundingClientRect();
  const height = picker.offsetHeight;
  const top = box.bottom + 6 + height > window.innerHeight ? Math.max(8, box.top - height - 6) : box.bottom + 6;
  picker.style.top = `${top}px`;
  picker.style.left = `${Math.min(window.innerWidth - 340, Math.max(8, box.left))}px`;
  input.focus();
}

function closePicker() {
  $("#picker").hidden = true;
  const span = S.sel === null ? null : spanOf(S.sel);
  if (span) span.focus?.();
}

function fillPicker() {
  const typed = $("#picker-input").value.trim();
  const { seg, names } = suggestions();
  const lower = typed.toLowerCase();
  const matching = names.filter((n) => n.toLowerCase().includes(lower));
  pickerItems = matching.slice(0, 30).map((name) => ({ name, label: name }));
  // A typed name that is nobody's yet comes after those it partly matches.
  if (typed && !names.some((n) => n.toLowerCase() === lower)) {
    pickerItems.push({ name: typed, label: `New speaker “${typed}”`, fresh: true });
  }
  if (!typed) pickerItems.push({ name: null, label: "No speaker (@?)" });
  pickerIndex = 0;
  const list = $("#picker-list");
  list.replaceChildren();
  pickerItems.forEach((item, n) => {
    const li = el("li");
    li.setAttribute("role", "option");
    li.append(el("span", "key", n < 9 && !typed ? String(n + 1) : ""));
    const swatch = el("span", "swatch");
    if (item.name && !item.fresh) swatch.style.setProperty("--hue", hue(item.name));
    else swatch.style.background = "transparent";
    li.append(swatch, el("span", "", item.label));
    if (item.name === seg.s && !item.fresh) li.append(el("span", "current", "current"));
    const c = item.name === null ? null : S.cast.find((x) => x.name === item.name);
    if (c && !item.fresh) li.append(el("span", "lines", `${c.lines}`));
    li.addEventListener("mousedown", (event) => {
      event.preventDefault();
      choose(n);
    });
    list.append(li);
  });
  markPicker();
}

function markPicker() {
  [...$("#picker-list").children].forEach((li, n) => {
    li.setAttribute("aria-selected", n === pickerIndex ? "true" : "false");
    if (n === pickerIndex) li.scrollIntoView({ block: "nearest" });
  });
}

function choose(n) {
  const item = pickerItems[n];
  if (!item) return;
  closePicker();
  const seg = segment(S.sel);
  if (seg && item.name !== seg.s) setSpeaker(seg.i, item.name);
}

async function setSpeaker(i, name) {
  try {
    const change = await api("/api/speaker", { segment: i, speaker: name, version: S.files.script.version });
    setFiles(change.files);
    setCast(change.cast);
    const seg = segment(i);
    if (seg) {
      seg.s = change.speaker;
      seg.c = change.c;
      refreshParagraph(i);
    }
    updateChapterSummary(change.chapter);
    toast(`Saved: ${change.speaker === null ? "no speaker" : change.speaker} (${basename(change.files.script.path)})`);
  } catch (error) {
    toast(error.message, "error");
    if (error.status === 409) reloadAll();
  }
}

// -------------------------------------------------------------------- cast

function setCast(cast) {
  S.cast = cast;
  cast.forEach((c) => { if (c.name) hue(c.name); });
  const list = $("#cast");
  list.replaceChildren();
  for (const entry of cast) {
    const who = entry.name === null ? "the narrator" : entry.name;
    const li = el("li", entry.name === null ? "narrator" : "");
    li.dataset.name = entry.name === null ? "" : entry.name;
    const swatch = el("span", "swatch");
    if (entry.name) swatch.style.setProperty("--hue", hue(entry.name));
    const name = el("span", "name", entry.name === null ? "Narrator" : entry.name);
    name.title = entry.name === null ? "Reads everything that is not dialogue" : `${entry.name}: ${entry.lines} lines, ${entry.words} words`;
    const lines = el("span", "lines", entry.name === null ? "" : `${entry.lines} ${entry.lines === 1 ? "line" : "lines"}`);
    const play = el("button", "play", "▶");
    play.type = "button";
    play.title = `Hear ${who}`;
    play.setAttribute("aria-label", play.title);
    play.addEventListener("click", () => {
      const query = new URLSearchParams({ v: `${S.files.script.version}.${S.files.voices.version}` });
      if (entry.name !== null) query.set("name", entry.name);
      playUrl(`/api/audio/sample?${query}`, null);
    });
    const controls = el("div", "controls");
    if (entry.name !== null) {
      const select = el("select");
      select.setAttribute("aria-label", `Gender of ${entry.name}`);
      for (const [value, label] of [["", "unknown"], ["female", "female"], ["male", "male"]]) {
        const option = el("option", "", label);
        option.value = value;
        option.selected = entry.gender === value;
        select.append(option);
      }
      select.addEventListener("change", () => changeCast(entry, { gender: select.value || "unknown" }, select));
      controls.append(select);
    }
    const input = el("input");
    input.value = entry.voice;
    input.setAttribute("list", "voice-options");
    input.setAttribute("aria-label", `Voice of ${who}`);
    input.title = "A voice as ENGINE:ID (castbook voices lists them); Enter saves";
    input.spellcheck = false;
    input.addEventListener("focus", loadVoices, { once: true });
    input.addEventListener("change", () => {
      if (input.value.trim() && input.value.trim() !== entry.voice) changeCast(entry, { voice: input.value.trim() }, input);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") input.blur();
      if (event.key === "Escape") { input.value = entry.voice; input.blur(); }
    });
    controls.append(input, el("span", "from", entry.from === "auto" ? "auto-cast" : entry.from));
    li.append(swatch, name, lines, play, controls);
    list.append(li);
  }
}

async function loadVoices() {
  if (S.voices) return;
  S.voices = await api("/api/voices");
  const list = $("#voice-options");
  list.replaceChildren(...S.voices.map((v) => {
    const option = el("option");
    option.value = v.id;
    option.label = [v.gender, v.description].filter(Boolean).join(" · ");
    return option;
  }));
}

async function changeCast(entry, change, control) {
  control.classList.add("saving");
  try {
    const view = await api("/api/cast", { name: entry.name, ...change, version: S.files.voices.version });
    setFiles(view.files);
    setCast(view.cast);
    S.audio.clear();
    const who = entry.name === null ? "the narrator" : entry.name;
    const now = view.cast.find((c) => c.name === entry.name);
    toast(`Saved: ${who} ${change.voice ? "speaks with" : `is ${change.gender}, voice`} ${now ? now.voice : ""} (${basename(view.files.voices.path)})`);
  } catch (error) {
    toast(error.message, "error");
    if (error.status === 409) reloadAll(); else setCast(S.cast);
  } finally {
    control.classList.remove("saving");
  }
}

// ------------------------------------------------------------------- audio

function lineUrl(i) {
  // The versions make a changed speaker or voice a new address.
  return `/api/audio/line/${i}?v=${S.files.script.version}.${S.files.voices.version}`;
}

// Fetches a clip once; the promise is kept so a second play is instant.
// The oldest are let go past a few hundred, so a long session stays small.
const KEEP_CLIPS = 200;
function clip(url) {
  if (!S.audio.has(url) && S.audio.size >= KEEP_CLIPS) {
    const [oldest, promise] = S.audio.entries().next().value;
    S.audio.delete(oldest);
    promise.then((blob) => setTimeout(() => URL.revokeObjectURL(blob), 60_000), () => {});
  }
  if (!S.audio.has(url)) {
    const promise = fetch(url).then(async (response) => {
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error(data.error || `${response.status} ${response.statusText}`);
      }
      return URL.createObjectURL(await response.blob());
    });
    promise.catch(() => S.audio.delete(url));
    S.audio.set(url, promise);
  }
  return S.audio.get(url);
}

const player = $("#player");

async function playUrl(url, i) {
  stop();
  const token = {};
  S.playing = { token, i, kind: "line" };
  markPlaying(i);
  try {
    const src = await clip(url);
    if (S.playing?.token !== token) return;
    player.src = src;
    await player.play();
  } catch (error) {
    if (S.playing?.token === token) stop();
    if (error.name !== "AbortError") toast(error.message, "error");
  }
}

function playLine() {
  const seg = segment(S.sel);
  if (!seg) return;
  if (S.playing) return stop();
  playUrl(lineUrl(seg.i), seg.i);
}

// The chapter from the selected line: each line in turn, the next two
// fetched ahead, the highlight and the selection following the voice.
async function playFrom() {
  if (S.sel === null) {
    const first = S.chapter?.segments.find((s) => /\w/.test(s.t));
    if (!first) return;
    selectSegment(first.i, true);
  }
  stop();
  const token = {};
  const segs = S.chapter.segments;
  const order = segs.slice(segs.findIndex((s) => s.i === S.sel)).filter((s) => !s.m && /[\p{L}\p{N}]/u.test(s.t));
  S.playing = { token, kind: "run" };
  $("#play-here").classList.add("active");
  $("#play-here").innerHTML = '<span class="icon" aria-hidden="true">■</span> Stop';
  for (let n = 0; n < order.length; n++) {
    if (S.playing?.token !== token) return;
    for (const ahead of order.slice(n + 1, n + 3)) clip(lineUrl(ahead.i)).catch(() => {});
    const seg = order[n];
    try {
      const src = await clip(lineUrl(seg.i));
      if (S.playing?.token !== token) return;
      selectSegment(seg.i, !isVisible(spanOf(seg.i)));
      markPlaying(seg.i);
      player.src = src;
      await player.play();
      await new Promise((resolve, reject) => {
        player.onended = resolve;
        player.onerror = () => reject(new Error("the audio could not be played"));
        S.playing.stopRun = resolve;
      });
    } catch (error) {
      if (S.playing?.token === token) {
        stop();
        if (error.name !== "AbortError") toast(error.message, "error");
      }
      return;
    }
  }
  if (S.playing?.token === token) stop();
}

function isVisible(node) {
  if (!node) return false;
  const box = node.getBoundingClientRect();
  const view = $("#reader").getBoundingClientRect();
  return box.top >= view.top + 40 && box.bottom <= view.bottom - 40;
}

function markPlaying(i) {
  document.querySelectorAll("#text .seg.playing").forEach((n) => n.classList.remove("playing"));
  if (i === null || i === undefined) return;
  const span = spanOf(i);
  if (span) span.classList.add("playing");
}

function stop() {
  const run = S.playing;
  S.playing = null;
  player.pause();
  player.onended = null;
  markPlaying(null);
  $("#play-here").classList.remove("active");
  $("#play-here").innerHTML = '<span class="icon" aria-hidden="true">▶</span> Play from here';
  if (run?.stopRun) run.stopRun();
}

player.addEventListener("ended", () => {
  if (S.playing?.kind === "line") {
    S.playing = null;
    markPlaying(null);
  }
});

// ------------------------------------------------------------------ render

let pollTimer = 0;

async function startRender() {
  $("#render").disabled = true;
  try {
    showRender(await api("/api/render", {}));
  } catch (error) {
    toast(error.message, "error");
    $("#render").disabled = false;
  }
  poll();
}

function showRender(render) {
  const panel = $("#render-panel");
  const state = $("#render-state");
  const progress = $("#render-progress");
  const links = $("#render-links");
  const seen = render.state !== "idle" || render.chapters.length;
  panel.hidden = !seen;
  $("#render").disabled = render.state === "running";
  state.className = render.state;
  progress.hidden = render.state !== "running";
  if (render.state === "running") {
    progress.max = Math.max(1, render.total);
    progress.value = render.done;
    state.textContent = render.total
      ? `Rendering: ${render.done} of ${render.total} sentences · ${Math.round(render.seconds)} s`
      : "Preparing…";
  } else if (render.state === "done") {
    const stale = S.files && render.version && render.version !== S.files.script.version;
    state.textContent = `Rendered in ${render.seconds.toFixed(1)} s: ${render.summary}. Files in ${render.out}`
      + (stale ? ". The speakers changed since: render again to hear the changes." : "");
  } else if (render.state === "failed") {
    state.textContent = `Render failed: ${render.error}`;
  } else {
    state.textContent = `Last render, in ${render.out}:`;
  }
  links.replaceChildren();
  for (const chapter of render.chapters) {
    const li = el("li");
    const a = el("a", "", chapter.title);
    a.href = `/out/${encodeURIComponent(chapter.file)}`;
    a.target = "_blank";
    a.rel = "noopener";
    const minutes = Math.floor(chapter.duration_s / 60);
    const seconds = String(Math.round(chapter.duration_s % 60)).padStart(2, "0");
    li.append(a, " ", el("span", "dur", `${minutes}:${seconds}`));
    links.append(li);
  }
}

// Polls versions (files changed elsewhere) and the render's progress.
async function poll() {
  clearTimeout(pollTimer);
  let delay = 4000;
  try {
    const status = await api("/api/status");
    const changed = S.files && (status.files.script.version !== S.files.script.version
      || status.files.voices.version !== S.files.voices.version);
    if (changed && !status.files.problem) {
      toast(`Reloaded: ${basename(status.files.script.version !== S.files.script.version ? status.files.script.path : status.files.voices.path)} changed on disk`);
      await reloadAll();
    } else {
      setFiles(status.files);
    }
    showRender(status.render);
    if (status.render.state === "running") delay = 700;
  } catch (error) {
    $("#banner").hidden = false;
    $("#banner").className = "error";
    $("#banner").textContent = `The studio is not answering (${error.message}). Is castbook studio still running?`;
  }
  pollTimer = setTimeout(poll, delay);
}

async function reloadAll() {
  const keep = S.sel;
  const n = S.chapter ? S.chapter.n : 1;
  S.audio.clear();
  await loadBook();
  const exists = S.book.chapters.some((c) => c.n === n);
  await openChapter(exists ? n : 1, exists && keep !== null ? keep : undefined);
}

// ---------------------------------------------------------------- controls

function setReview(on) {
  S.review = on;
  document.body.classList.toggle("review", on);
  $("#show-all").setAttribute("aria-pressed", String(!on));
  $("#show-review").setAttribute("aria-pressed", String(on));
  if (on && S.paras.length) showMore(S.paras.length);
  // The page moved under the selection: keep it (and its tools) in view.
  const span = S.sel === null ? null : spanOf(S.sel);
  if (span && getComputedStyle(span.closest(".para")).display !== "none") selectSegment(S.sel, true);
  else hideTools();
}

function typing(event) {
  const t = event.target;
  return t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
}

document.addEventListener("keydown", (event) => {
  if (!$("#picker").hidden) return pickerKeys(event);
  if ($("#help").open || typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  const keys = {
    j: () => step(1),
    k: () => step(-1),
    n: () => nextFlag(1),
    N: () => nextFlag(-1),
    Enter: () => openPicker(),
    e: () => openPicker(),
    " ": () => playLine(),
    p: () => playLine(),
    P: () => (S.playing?.kind === "run" ? stop() : playFrom()),
    r: () => setReview(!S.review),
    "]": () => moveChapter(1),
    "[": () => moveChapter(-1),
    "?": () => $("#help").showModal(),
    Escape: () => { stop(); hideTools(); },
  };
  const action = keys[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

function pickerKeys(event) {
  const input = $("#picker-input");
  if (event.key === "Escape") { event.preventDefault(); closePicker(); return; }
  if (event.key === "ArrowDown") { event.preventDefault(); pickerIndex = Math.min(pickerItems.length - 1, pickerIndex + 1); markPicker(); return; }
  if (event.key === "ArrowUp") { event.preventDefault(); pickerIndex = Math.max(0, pickerIndex - 1); markPicker(); return; }
  if (event.key === "Enter") { event.preventDefault(); choose(pickerIndex); return; }
  if (/^[1-9]$/.test(event.key) && input.value === "") { event.preventDefault(); choose(Number(event.key) - 1); }
}

function moveChapter(dir) {
  const chapters = S.book.chapters;
  const index = chapters.findIndex((c) => c.n === S.chapter.n) + dir;
  if (index >= 0 && index < chapters.length) openChapter(chapters[index].n);
}

$("#picker-input").addEventListener("input", fillPicker);
$("#picker-input").addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== $("#picker-input")) closePicker(); }, 150));
$("#text").addEventListener("click", (event) => {
  const span = event.target.closest(".seg");
  if (!span) return;
  const i = Number(span.dataset.i);
  if (S.sel === i && span.classList.contains("d")) openPicker();
  else selectSegment(i, false);
});
tools.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const act = button.dataset.act;
  if (act === "speaker") openPicker();
  if (act === "play") playLine();
  if (act === "here") playFrom();
});
$("#show-all").addEventListener("click", () => setReview(false));
$("#show-review").addEventListener("click", () => setReview(true));
$("#play-here").addEventListener("click", () => (S.playing?.kind === "run" ? stop() : playFrom()));
$("#render").addEventListener("click", startRender);
$("#help-button").addEventListener("click", () => $("#help").showModal());

async function start() {
  try {
    await loadBook();
    const [n, i] = location.hash.slice(1).split(":").map(Number);
    const chapter = S.book.chapters.some((c) => c.n === n) ? n : (S.book.chapters[0] || { n: 1 }).n;
    await openChapter(chapter, Number.isInteger(i) ? i : undefined);
    moreObserver.observe($("#more"));
  } catch (error) {
    $("#banner").hidden = false;
    $("#banner").className = "error";
    $("#banner").textContent = `Could not open the book: ${error.message}`;
  }
  poll();
}

start();
