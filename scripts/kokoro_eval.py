"""Kokoro checks for castbook: speed and intelligibility (WER) against the
reference `kokoro-onnx` 0.6.1 (PyPI), on the same text, model and voice.

Run through scripts/bench-kokoro, which installs Kokoro, kokoro-onnx and
pocketsphinx first. Shared pieces are in tts_eval.py.

  kokoro_eval.py bench [--text FILE] [--words N] [--rounds N] [--voice NAME]

Both tools read the voice castbook installed in .models/kokoro/
(kokoro-onnx reads voices from one .npz of the style arrays, built here
from the .bin files). The reference runs the published int8 model
(kokoro-v1.0.int8.onnx), castbook the model it runs for users, built from
it at setup (kokoro-v1.0.qconv.onnx: its convolutions statically
quantised; scripts/kokoro_quantise.py). The reference gets the whole text
in one `Kokoro.create` call, as its README shows, and runs with ONNX
Runtime's defaults (one session, one intra-op thread per core); castbook
renders with its defaults (one worker process per core). Each renders the
text --rounds times (default 3), alternating which goes first; the speed
ratio is the reference's best wall time over castbook's, and the real-time
factor is castbook's best wall time over the length of its audio.

The text defaults to ~2,000 words of Alice's Adventures in Wonderland;
--short uses ~--words words of short sentences instead.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tts_eval  # noqa: E402
from tts_eval import PY, ROOT  # noqa: E402

KOKORO = ROOT / ".models" / "kokoro"
MODEL = KOKORO / "kokoro-v1.0.int8.onnx"


def build_npz(out: Path) -> None:
    """kokoro-onnx's voices file: name → float32 [510, 1, 256]."""
    import numpy as np

    voices = {p.stem: np.fromfile(p, dtype="<f4").reshape(510, 1, 256) for p in sorted((KOKORO / "voices").glob("*.bin"))}
    if not voices:
        sys.exit(f"kokoro_eval: no voices in {KOKORO / 'voices'}; run scripts/setup --kokoro")
    np.savez(out, **voices)


def reference(args) -> None:
    """The reference render, in its own process: kokoro-onnx, whole text."""
    import wave

    import numpy as np
    from kokoro_onnx import Kokoro

    kokoro = Kokoro(str(MODEL), args.voices)
    text = Path(args.text).read_text(encoding="utf-8")
    lang = "en-gb" if args.voice.startswith("b") else "en-us"
    samples, rate = kokoro.create(text, voice=args.voice, lang=lang)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(args.out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def render_reference(text_path: Path, work: Path, voice: str):
    out = work / "kokoro-onnx.wav"
    command = [str(PY), __file__, "reference", "--voices", str(work / "voices.npz"), "--voice", voice, "--text", str(text_path), "--out", str(out)]
    wall, cpu = tts_eval.timed(command)
    return wall, cpu, [out]


def render_castbook(text_path: Path, work: Path, voice: str, sessions):
    cast = f'[narrator]\nvoice = "kokoro:{voice}"\n'
    return tts_eval.render_castbook(text_path, work, cast, sessions)


def bench(args) -> None:
    if not MODEL.is_file():
        sys.exit(f"kokoro_eval: {MODEL} not found; run scripts/setup --kokoro")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="castbook-kokoro-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    build_npz(work / "voices.npz")
    text = tts_eval.without_quotes(tts_eval.read_text(args))
    text_path = work / "story.txt"
    text_path.write_text(text, encoding="utf-8")
    print(f"text: {len(text.split())} words, {text_path}; voice {args.voice}; {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores")
    results = tts_eval.compare(
        {
            "kokoro-onnx": lambda: render_reference(text_path, work, args.voice),
            "castbook": lambda: render_castbook(text_path, work, args.voice, args.sessions),
        },
        args.rounds,
    )
    audio = {}
    for name in ["castbook", "kokoro-onnx"]:
        r = results[name]
        audio[name] = tts_eval.wav_seconds(r["wavs"])
        print(f"{name}: {min(r['walls']):.1f} s wall (best of {args.rounds}), {min(r['cpus']):.1f} s CPU, for {audio[name]:.0f} s of audio: real-time factor {min(r['walls']) / audio[name]:.3f}, {min(r['cpus']) / audio[name]:.3f} CPU s per audio s")
    wers = {}
    for name in ["castbook", "kokoro-onnx"]:
        wers[name], heard, words = tts_eval.word_error_rate(text, results[name]["wavs"], work, name)
        print(f"WER {name}: {wers[name]:.3f} ({heard} words recognised, {words} in the text)")
    print(f"WER difference castbook - kokoro-onnx: {wers['castbook'] - wers['kokoro-onnx']:+.3f} (target: at most +0.020)")
    ref, ours = results["kokoro-onnx"], results["castbook"]
    best = min(ref["walls"]) / min(ours["walls"])
    rounds = " ".join(f"{r / c:.2f}" for r, c in zip(ref["walls"], ours["walls"]))
    print(f"speed ratio kokoro-onnx/castbook wall time: {best:.2f}x best-of-{args.rounds} (per round: {rounds}; target: at least 1.50x)")
    print(f"CPU time ratio kokoro-onnx/castbook: {min(ref['cpus']) / min(ours['cpus']):.2f}x (least CPU of each)")
    per_second = min(ours["walls"]) / audio["castbook"]
    print(f"castbook real-time factor: {per_second:.3f} (target: at most 0.150); {tts_eval.load()}")
    # CPU time hardly depends on what else runs, so this is the figure to
    # compare across busy and quiet machines: the real-time factor the
    # cores would give if castbook had them to itself.
    cores = os.cpu_count() or 1
    cpu_bound = min(ours["cpus"]) / audio["castbook"] / cores
    print(f"castbook CPU per audio second: {min(ours['cpus']) / audio['castbook']:.3f} s, so on {cores} idle cores a real-time factor of about {cpu_bound:.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bench", help="speed and WER of castbook and kokoro-onnx")
    b.add_argument("--text", help="plain-text file to render (default: ~2,000 words of Alice)")
    b.add_argument("--words", type=int, default=2000, help="words taken from the default text")
    b.add_argument("--short", action="store_true", help="a text of short sentences instead of Alice")
    b.add_argument("--voice", default="af_heart", help="Kokoro voice (default af_heart)")
    b.add_argument("--sessions", type=int, help="castbook --jobs (default: one per core)")
    b.add_argument("--keep", help="keep renders in this folder")
    b.add_argument("--rounds", type=int, default=3, help="timed runs of each tool (default 3)")
    r = sub.add_parser("reference", help="(internal) one kokoro-onnx render")
    for name in ["--voices", "--voice", "--text", "--out"]:
        r.add_argument(name, required=True)
    args = parser.parse_args()
    if args.mode == "reference":
        reference(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
