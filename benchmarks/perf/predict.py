"""``python -m benchmarks.perf.predict``: how long ``zoo.predict`` takes to answer on a 4 s clip.

Per release: the first call loads the release (build, sha256 check, weights, extractors: the
``load`` column) and predicts once (tracing, librosa's first calls); then ``--repeats`` timed
calls of ``zoo.predict(path, model=release)`` on the same file, each one decoding, resampling,
extracting the features and running the model, as ``python -m zoo predict`` does once the
model is loaded. Reported: the median (and min-max) wall time of those calls, for a 16 kHz mono
wav and for the same clip as a 44.1 kHz stereo wav (decode, downmix and resampling to the
extractors' rates are part of the answer). ``--cli`` also times one cold ``python -m zoo predict``
per release (a new process: Python, TensorFlow and the release load included).

Clips: ``benchmarks.features.make_clips`` (a synthetic voiced signal), or ``--audio FILE``.

    python -m benchmarks.perf.predict                       # writes benchmarks/results/predict.md
    python -m benchmarks.perf.predict --releases csa-emodb-smoke --repeats 3 --out /tmp
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf.report import header, per_call_lines, run_meta, start

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RELEASES = ("gru_bert-audio_only-emodb-real", "gru_bert-audio_only-emodb-real_sn", "blstmatt-emodb-smoke", "csa-emodb-smoke")
SECONDS = 4.0
LIBRARIES = ("tensorflow", "keras", "numpy", "librosa", "soundfile", "soxr")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--releases", nargs="+", default=list(RELEASES))
    p.add_argument("--repeats", type=int, default=9, help="timed calls per release and clip (default 9)")
    p.add_argument("--audio", help="time this file instead of the synthetic 4 s clips")
    p.add_argument("--cli", action="store_true", help="also time one cold `python -m zoo predict` per release")
    p.add_argument("--note", default="", help="a sentence for the top of the markdown (e.g. the machine's load)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results"))
    return p.parse_args(argv)


def make_clips(folder: str) -> dict:
    """``{"16 kHz mono": path, "44.1 kHz stereo": path}``: the same 4 s synthetic clip."""
    import numpy as np
    import soundfile

    from benchmarks.features import make_clips as clips

    mono16 = clips(folder, 1, SECONDS)[0].audio_path
    sub = os.path.join(folder, "44k")
    os.makedirs(sub, exist_ok=True)
    mono44 = clips(sub, 1, SECONDS, sr=44100)[0].audio_path
    samples, sr = soundfile.read(mono44, dtype="float32")
    stereo = os.path.join(folder, "clip-44k-stereo.wav")
    soundfile.write(stereo, np.stack([samples, 0.7 * samples], axis=1), sr, subtype="PCM_16")
    return {"16 kHz mono": mono16, "44.1 kHz stereo": stereo}


def time_release(release: str, clips: dict, repeats: int) -> dict:
    import zoo

    row = {"release": release, "clips": {}}
    first = next(iter(clips.values()))
    t0 = time.perf_counter()
    zoo.predict.load(release)
    row["load_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    zoo.predict(first, model=release)
    row["first_call_seconds"] = time.perf_counter() - t0
    for name, path in clips.items():
        zoo.predict(path, model=release)  # this clip's first call (a new rate to resample from)
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = zoo.predict(path, model=release)
            runs.append(time.perf_counter() - t0)
        row["clips"][name] = {"median": statistics.median(runs), "min": min(runs), "max": max(runs),
                              "runs": [round(r, 4) for r in runs], "label": result.get("label")}
    return row


def time_cli(release: str, path: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zoo", "predict", path, "--model", release], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return time.perf_counter() - t0


def markdown(meta: dict, rows: list) -> str:
    clip_names = list(rows[0]["clips"]) if rows else []
    lines = header("# `zoo predict` latency on a 4 s clip", meta, f"{meta['cpu']}, {meta['cores']} CPU cores",
                   meta["python"], meta["libraries"])
    lines += [
        f"Time to the answer of `zoo.predict(path, model=release)` once the release is loaded: median "
        f"(min-max) of {meta['repeats']} calls, each decoding the file, resampling, extracting the "
        "release's features and running the model; `load` is the first `zoo.predict.load(release)` "
        "(build, sha256 check, weights, extractors; TensorFlow already imported), `first call` the first "
        "prediction after it (tracing, librosa's first calls).",
        "",
        "| release | " + " | ".join(f"{c} (ms)" for c in clip_names) + " | load (s) | first call (s) |"
        + (" cold CLI (s) |" if meta["cli"] else ""),
        "|---|" + "---:|" * (len(clip_names) + 2 + bool(meta["cli"])),
    ]
    for row in rows:
        cells = [f"{1000 * row['clips'][c]['median']:.0f} ({1000 * row['clips'][c]['min']:.0f}-"
                 f"{1000 * row['clips'][c]['max']:.0f})" for c in clip_names]
        cells += [f"{row['load_seconds']:.2f}", f"{row['first_call_seconds']:.2f}"]
        if meta["cli"]:
            cells.append(f"{row['cli_seconds']:.1f}")
        lines.append(f"| `{row['release']}` | " + " | ".join(cells) + " |")
    if meta["cli"]:
        lines += ["", "cold CLI: one `python -m zoo predict <16 kHz clip> --model <release>` in a new process "
                      "(Python start, TensorFlow import, release load and the prediction)."]
    lines += ["", "Clips: " + ", ".join(f"{c}: `{Path(p).name}`" for c, p in meta["clips"].items())
              + (" (`benchmarks.features.make_clips`, a synthetic voiced signal)" if not meta["audio"] else "")
              + ". Per-call seconds:", ""]
    lines += per_call_lines((row["release"], c, row["clips"][c]["runs"]) for row in rows for c in clip_names)
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = start()
    import keras  # TensorFlow's import is not part of the first release's load

    del keras
    with tempfile.TemporaryDirectory() as folder:
        clips = {"given file": args.audio} if args.audio else make_clips(folder)
        rows = []
        for release in args.releases:
            row = time_release(release, clips, args.repeats)
            if args.cli:
                row["cli_seconds"] = time_cli(release, next(iter(clips.values())))
            rows.append(row)
            print(f"{release}: " + ", ".join(f"{c} {1000 * v['median']:.0f} ms" for c, v in row["clips"].items()),
                  file=sys.stderr)
    meta = {**run_meta("benchmarks.perf.predict", argv, started, args.note, LIBRARIES),
            "repeats": args.repeats, "cli": args.cli, "audio": args.audio, "clips": clips}
    text = markdown(meta, rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "predict.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
