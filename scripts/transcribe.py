"""Does audio say its words? Transcribes a WAV offline with pocketsphinx and
prints the word error rate against the text it should say, as JSON:

  .venv/bin/python scripts/transcribe.py FILE.wav TEXT...
  {"wer": 0.12, "words": 40, "heard": "..."}

The tests run it on short Piper renders (scripts/test installs pocketsphinx
into .venv); the same recogniser, text normalisation and WER as
scripts/tts_eval.py (scripts/bench-piper, scripts/bench-kokoro). Any mono 16-bit
WAV: it is resampled to the recogniser's 16 kHz here (band-limited, by FFT),
so nothing beyond the .venv is needed.
"""

import json
import sys
import wave

from tts_eval import normalise, transcribe, wer


def pcm_16k(path: str) -> bytes:
    import numpy as np

    with wave.open(path) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"transcribe: {path}: expected 16-bit mono")
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if rate != 16000 and len(samples):
        count = round(len(samples) * 16000 / rate)
        spectrum = np.fft.rfft(samples)[: count // 2 + 1]
        samples = np.fft.irfft(spectrum, count) * (count / len(samples))
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: transcribe.py FILE.wav TEXT...")
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        sys.exit("transcribe: pocketsphinx is not in this Python: run scripts/setup-piper pocketsphinx (scripts/test does)")
    reference = normalise(" ".join(sys.argv[2:]))
    heard = transcribe(pcm_16k(sys.argv[1]))
    print(json.dumps({"wer": wer(reference, normalise(heard)), "words": len(reference), "heard": heard}))


if __name__ == "__main__":
    main()
