"""Shared pieces of castbook's speech benchmarks (piper_eval.py,
kokoro_eval.py): the texts, timing, rendering with castbook, and word error
rates from pocketsphinx transcripts.

Standard library plus pocketsphinx (and sox for resampling).

Speed: each tool renders the text --rounds times, alternating which goes
first; a ratio is one tool's best wall time over the other's, since the
machine may be shared and other load only ever slows a run down.
"""

import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"


def castbook_bin() -> Path:
    """The release binary: $CASTBOOK_BIN, else built by scripts/release-binary
    (which honours CARGO_TARGET_DIR)."""
    env = os.environ.get("CASTBOOK_BIN")
    if env:
        return Path(env)
    out = subprocess.run([str(ROOT / "scripts" / "release-binary")], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def shared_dir() -> Path:
    return Path(os.environ.get("CASTBOOK_SHARED", ROOT.parent / "shared"))


def dev_story(name: str) -> str:
    source = shared_dir() / "eval/attribution/dev" / name / "text.txt"
    if not source.is_file():
        sys.exit(f"tts_eval: {source}: not found; set CASTBOOK_SHARED to the shared folder")
    return source.read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    """Paragraphs unwrapped to one line each, so every tool sees whole sentences."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        line = " ".join(paragraph.split()).replace("_", "")
        if line:
            out.append(line)
    return out


def default_text(words: int) -> str:
    """The first ~`words` words of Alice's Adventures in Wonderland (public
    domain), from the eval kit."""
    out, count = [], 0
    for line in paragraphs(dev_story("alices-adventures-in-wonderland")):
        out.append(line)
        count += len(line.split())
        if count >= words:
            break
    return "\n\n".join(out) + "\n"


def short_text(words: int) -> str:
    """~`words` words of short sentences (at most 8 words each, as dialogue
    and quick narration are), taken in order from Anne of Green Gables,
    five to a paragraph: the case where fixed costs per model run weigh most."""
    sentences = []
    count = 0
    for line in paragraphs(dev_story("anne-of-green-gables"))[40:]:
        for sentence in re.split(r"(?<=[.!?])\s+", line.replace('"', "")):
            n = len(sentence.split())
            if 2 <= n <= 8 and sentence[-1:] in ".!?" and sentence[:1].isupper():
                sentences.append(sentence)
                count += n
        if count >= words:
            break
    groups = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    return "\n\n".join(groups) + "\n"


def read_text(args) -> str:
    if args.text:
        text = Path(args.text).read_text(encoding="utf-8")
        return "\n\n".join(paragraphs(text)) + "\n"
    if getattr(args, "short", False):
        return short_text(args.words)
    return default_text(args.words)


def without_quotes(text: str) -> str:
    """Every tool reads the same words in one voice: quotation marks are
    dropped, so castbook reads everything as narration (it never gives a
    character the narrator's voice) and the reference is unaffected."""
    return text.replace('"', "").replace("\u201c", "").replace("\u201d", "")


def timed(command: list[str], env=None) -> tuple[float, float]:
    """Runs `command`; returns (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def render_castbook(text_path: Path, work: Path, voices_toml: str, sessions=None) -> tuple[float, float, list[Path]]:
    """castbook renders `text_path` with the cast `voices_toml`, into a
    fresh output folder (and so a fresh segment cache: a cached render would
    not be a benchmark). Returns (wall, CPU, chapter WAVs)."""
    voices = work / "voices.toml"
    voices.write_text(voices_toml, encoding="utf-8")
    out = work / "castbook"
    shutil.rmtree(out, ignore_errors=True)
    command = [str(castbook_bin()), "render", str(text_path), "-c", str(voices), "-o", str(out), "-q"]
    if sessions:
        command += ["--jobs", str(sessions)]
    wall, cpu = timed(command)
    manifest = json.loads((out / "manifest.json").read_text())
    return wall, cpu, [out / c["file"] for c in manifest["chapters"]]


def to_16k_pcm(wavs: list[Path], work: Path, name: str) -> bytes:
    """Joins the WAVs and converts to 16 kHz 16-bit mono with sox."""
    raw = work / f"{name}.raw"
    subprocess.run(
        ["sox", *map(str, wavs), "-t", "raw", "-c", "1", "-b", "16", "-e", "signed-integer", str(raw), "gain", "-3", "rate", "16000"],
        check=True,
    )
    return raw.read_bytes()


def transcribe(pcm: bytes) -> str:
    from pocketsphinx import Decoder, Segmenter, set_loglevel

    set_loglevel("FATAL")
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    words = []
    for speech in Segmenter(sample_rate=16000).segment(io.BytesIO(pcm)):
        decoder.start_utt()
        decoder.process_raw(speech.pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is not None:
            words.append(hyp.hypstr)
    return " ".join(words)


def normalise(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'")
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)


def wer(reference: list[str], hypothesis: list[str]) -> float:
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(reference))


def wav_seconds(wavs: list[Path]) -> float:
    total = 0.0
    for path in wavs:
        with wave.open(str(path)) as w:
            total += w.getnframes() / w.getframerate()
    return total


def word_error_rate(text: str, wavs: list[Path], work: Path, name: str) -> tuple[float, int, int]:
    """(WER, words recognised, words in the text) of `wavs` against `text`."""
    reference = normalise(text)
    hypothesis = normalise(transcribe(to_16k_pcm(wavs, work, name)))
    return wer(reference, hypothesis), len(hypothesis), len(reference)


def load() -> str:
    """The load average, for the record: timings on a busy machine are slow."""
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def compare(tools: dict, rounds: int) -> dict:
    """Runs each tool (name → function returning (wall, CPU, WAVs)) `rounds`
    times, alternating which goes first, printing every run. Returns
    name → {"walls", "cpus", "wavs"} (WAVs of the last run)."""
    results = {name: {"walls": [], "cpus": [], "wavs": []} for name in tools}
    names = list(tools)
    print(f"  before: {load()}", flush=True)
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            wall, cpu, wavs = tools[name]()
            result = results[name]
            result["walls"].append(wall)
            result["cpus"].append(cpu)
            result["wavs"] = wavs
            print(f"  round {round_ + 1}: {name} {wall:.1f} s wall, {cpu:.1f} s CPU ({load()})", flush=True)
    return results
