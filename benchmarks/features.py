"""Feature-extraction speed: real-time factor uncached, and what the cache saves.

    python -m benchmarks.features [--seconds 4] [--clips 20] [--extractors fbank,mfcc] [--text]

Generates ``--clips`` synthetic 16 kHz 16-bit clips (a vibrato tone with harmonics, noise
and a syllable-rate envelope) in a temporary folder, then for each extractor:

* ``RTF``: seconds of audio per second of compute, calling ``extractor.extract`` (decode,
  resample, features; no cache). One untimed warm-up call first (numba compilation,
  imports, network construction).
* ``first pass``: ``FeatureCache.get_or_compute`` into an empty cache (hash + compute +
  atomic write), ms per clip.
* ``cached read``: a fresh ``FeatureCache`` object on the filled folder (as a new run:
  file hashes not memoised), ms per clip; ``speed-up`` = uncached / cached time.

Prints a markdown table (with the machine and library versions) on stdout.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time

import numpy as np

AUDIO_EXTRACTORS = ("logmel", "mfcc", "chroma", "mfcc_deltas", "fbank", "logmel_image",
                    "paa_frames", "paa_hsf")
TEXT_EXTRACTORS = ("word_ids", "bert_tokens")
SENTENCES = ("Excuse me, do you have your forms?", "I told you I don't want to talk about it.",
             "That is so great, congratulations!", "Yeah. [LAUGHTER] I guess so.")


def make_clips(folder: str, clips: int, seconds: float, sr: int = 16000):
    """Synthetic speech-like clips written as 16-bit wavs; returns Records."""
    import soundfile

    from zoo.data.records import Record

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    records = []
    for i in range(clips):
        f0 = 110 + 120 * rng.random()
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t))) / sr
        voice = sum(np.sin(k * phase) / k for k in range(1, 8))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + rng.random() * 6) ** 2
        signal = 0.2 * voice * envelope + 0.005 * rng.standard_normal(t.shape)
        path = os.path.join(folder, f"clip{i:03d}.wav")
        soundfile.write(path, (signal / np.abs(signal).max() * 0.8).astype(np.float32), sr, subtype="PCM_16")
        records.append(Record(f"clip{i:03d}", "bench", audio_path=path, sample_rate=sr,
                              transcript=SENTENCES[i % len(SENTENCES)]))
    return records


def time_extractor(name, records, seconds, folder):
    from zoo import features

    options = {}
    if name == "word_ids":
        options["vocabulary"] = features.Vocabulary.build(r.transcript for r in records)
    extractor = features.get(name, **options)
    extractor.extract(records[0])  # warm-up
    start = time.perf_counter()
    for record in records:
        out = extractor.extract(record)
    compute = time.perf_counter() - start

    root = os.path.join(folder, "cache")
    cache = features.FeatureCache(root)
    start = time.perf_counter()
    for record in records:
        cache.get_or_compute(extractor, record)
    first = time.perf_counter() - start

    reread = features.FeatureCache(root)
    start = time.perf_counter()
    for record in records:
        reread.get_or_compute(extractor, record)
    cached = time.perf_counter() - start
    assert reread.stats.hits == len(records), reread.stats
    n = len(records)
    return {"name": name, "shape": tuple(out.shape), "rtf": n * seconds / compute,
            "compute_ms": 1000 * compute / n, "first_ms": 1000 * first / n,
            "cached_ms": 1000 * cached / n, "speedup": compute / cached}


def environment() -> str:
    from zoo.features.cache import library_version

    libs = ", ".join(f"{d} {library_version(d)}" for d in
                     ("numpy", "librosa", "soundfile", "soxr", "pyAudioAnalysis", "keras-hub", "tensorflow"))
    return (f"machine: {platform.machine()} {platform.processor() or ''} ({os.cpu_count()} CPU cores), "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}\n"
            f"libraries: {libs}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each clip (s)")
    parser.add_argument("--clips", type=int, default=20, help="number of clips")
    parser.add_argument("--extractors", default=",".join(AUDIO_EXTRACTORS),
                        help="comma-separated registry names")
    parser.add_argument("--text", action="store_true", help="also time word_ids and bert_tokens")
    args = parser.parse_args(argv)
    names = [n for n in args.extractors.split(",") if n] + (list(TEXT_EXTRACTORS) if args.text else [])

    with tempfile.TemporaryDirectory(prefix="zoo-bench-features-") as folder:
        records = make_clips(folder, args.clips, args.seconds)
        rows = []
        for name in names:
            print(f"timing {name} ...", file=sys.stderr, flush=True)
            rows.append(time_extractor(name, records, args.seconds, os.path.join(folder, name)))

    command = "python -m benchmarks.features " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    print(f"command: `{command.strip()}`  ")
    print(f"{args.clips} clips x {args.seconds:g} s, 16 kHz 16-bit synthetic speech-like audio  ")
    print(environment().replace("\n", "  \n"))
    print()
    print("| extractor | output shape (one clip) | RTF uncached (audio s / compute s) | uncached ms/clip "
          "| first pass via cache ms/clip | cached read ms/clip | cached speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        rtf = "—" if r["name"] in TEXT_EXTRACTORS else f"{r['rtf']:.1f}"
        print(f"| `{r['name']}` | {r['shape']} | {rtf} | {r['compute_ms']:.2f} | "
              f"{r['first_ms']:.2f} | {r['cached_ms']:.2f} | {r['speedup']:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
