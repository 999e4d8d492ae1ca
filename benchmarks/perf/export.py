"""``python -m benchmarks.perf.export``: wav -> probabilities for a 4 s clip, the Python path against
the exported waveform-in artefacts, in one run.

Per release: ``zoo.predict(path, model=release)`` (decode, extractors in librosa, the Keras model
through ``tf.function``) against the same release exported with ``zoo.export.export(...,
waveform=True)`` and run in its own runtime by :func:`zoo.export.load_artefact`: the TensorFlow
SavedModel (``serve``), the LiteRT interpreter (ai-edge-litert, builtin ops, XNNPACK) and
onnxruntime (CPU). Each artefact's call includes decoding the same wav with soundfile, so every
column is file -> probabilities. After one warm-up call each, ``--repeats`` rounds time every
path once per round (interleaved, so a change of machine load hits all columns alike); reported:
median (min-max) ms and the ratio to ``zoo.predict``'s median, plus the largest difference of
each artefact's probabilities from ``zoo.predict``'s on that clip. Formats whose extra is not
installed are left out (named in the output). Threads: LiteRT and onnxruntime get ``--threads``
(default: the cores this process may use); TensorFlow uses its default pools.

    python -m benchmarks.perf.export                  # writes benchmarks/results/export.md
    python -m benchmarks.perf.export --releases csa-emodb-smoke --repeats 5 --out /tmp
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf.report import header, per_call_lines, run_meta, start, usable_cores

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RELEASES = ("blstmatt-emodb-smoke", "csa-emodb-smoke")
FORMATS = ("saved_model", "litert", "onnx")
SUFFIX = {"saved_model": "_savedmodel", "litert": ".tflite", "onnx": ".onnx"}
NAMES = {"predict": "zoo.predict", "saved_model": "SavedModel", "litert": "LiteRT", "onnx": "ONNX"}
SECONDS = 4.0
LIBRARIES = ("tensorflow", "keras", "numpy", "librosa", "ai-edge-litert", "tf2onnx", "onnx", "onnxruntime")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--releases", nargs="+", default=list(RELEASES))
    p.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    p.add_argument("--repeats", type=int, default=15, help="timed rounds (default 15)")
    p.add_argument("--threads", type=int, default=None, help="LiteRT / onnxruntime threads (default: cores)")
    p.add_argument("--note", default="", help="a sentence for the top of the markdown (e.g. the machine's load)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results"))
    return p.parse_args(argv)


def available(fmt: str) -> bool:
    from zoo import export

    needed = [m for m in export.EXTRAS[fmt].values()]
    try:
        for module in needed:
            __import__(module)
    except ImportError:
        return False
    return True


def time_release(release: str, clip: str, formats, folder: str, repeats: int, threads: int) -> dict:
    import numpy as np
    import soundfile

    import zoo
    from zoo import export, weights

    labels = weights.labels(release)
    row = {"release": release, "paths": {}, "export_seconds": {}, "size_mb": {}, "max_diff": {}}
    def predict():
        probabilities = zoo.predict(clip, model=release, window=0)["probabilities"]
        return np.array([probabilities[k] for k in labels])

    calls = {"predict": predict}
    for fmt in formats:
        out = Path(folder) / f"{release}{SUFFIX[fmt]}"
        t0 = time.perf_counter()
        export.export(release, fmt, out, waveform=True)
        row["export_seconds"][fmt] = time.perf_counter() - t0
        files = list(out.rglob("*")) if out.is_dir() else [out]
        row["size_mb"][fmt] = sum(f.stat().st_size for f in files if f.is_file()) / 1e6
        run = export.load_artefact(out, threads=threads)

        def call(run=run):
            samples, rate = soundfile.read(clip, dtype="float32")
            assert rate == run.sidecar["input"]["sample_rate"] and samples.ndim == 1
            return run(samples[None])[0]

        calls[fmt] = call
    reference = calls["predict"]()  # warm-up (tracing, librosa's first calls) and the reference answer
    for fmt in formats:
        row["max_diff"][fmt] = float(np.abs(calls[fmt]() - reference).max())
    runs = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - t0)
    row["runs"] = {name: [round(r, 5) for r in values] for name, values in runs.items()}
    row["median"] = {name: statistics.median(values) for name, values in runs.items()}
    row["min"] = {name: min(values) for name, values in runs.items()}
    row["max"] = {name: max(values) for name, values in runs.items()}
    row["label"] = labels[int(np.argmax(reference))]
    return row


def markdown(meta: dict, rows: list) -> str:
    columns = ["predict", *meta["formats"]]
    lines = header("# wav -> probabilities: `zoo.predict` vs exported waveform-in artefacts (4 s clip)", meta,
                   f"{meta['cpu']}, {meta['cores']} CPU cores; LiteRT / onnxruntime threads: {meta['threads']}",
                   meta["python"], meta["libraries"])
    lines += [
        f"Median (min-max) of {meta['repeats']} interleaved rounds, ms, for one {SECONDS:g} s 16 kHz mono wav "
        "from file to probabilities. `zoo.predict`: decode, librosa features, Keras model (`tf.function`); "
        "the artefacts: soundfile decode, then `zoo.export.load_artefact(...)(waveform)` with the front-ends "
        "(and CSA's chunking and posterior mean) inside the graph. Ratio: `zoo.predict`'s median over the "
        "column's (higher is faster).",
        "",
        "| release | " + " | ".join(NAMES[c] for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for row in rows:
        cells = []
        for c in columns:
            cell = f"{1000 * row['median'][c]:.1f} ({1000 * row['min'][c]:.1f}-{1000 * row['max'][c]:.1f})"
            if c != "predict":
                cell += f" ×{row['median']['predict'] / row['median'][c]:.1f}"
            cells.append(cell)
        lines.append(f"| `{row['release']}` | " + " | ".join(cells) + " |")
    lines += ["", "Artefacts: export time (s), size (MB), largest |probability difference| from `zoo.predict` "
                  "on the clip:", "",
              "| release | " + " | ".join(NAMES[c] for c in meta["formats"]) + " |",
              "|---|" + "---|" * len(meta["formats"])]
    for row in rows:
        lines.append(f"| `{row['release']}` | " + " | ".join(
            f"{row['export_seconds'][c]:.1f} s, {row['size_mb'][c]:.2f} MB, {row['max_diff'][c]:.1e}"
            for c in meta["formats"]) + " |")
    if meta["skipped"]:
        lines += ["", "Not run (optional extra absent): " + ", ".join(meta["skipped"])]
    lines += ["", f"Clip: `{meta['clip']}` (`benchmarks.features.make_clips`, a synthetic voiced signal); "
                  "predicted label " + ", ".join(f"`{r['release']}` {r['label']}" for r in rows) + ". Per-call seconds:",
              ""]
    lines += per_call_lines((row["release"], NAMES[c], row["runs"][c]) for row in rows for c in columns)
    return "\n".join(lines)


def main(argv=None) -> int:
    from benchmarks.features import make_clips
    from zoo.cli import quiet_tensorflow

    args = parse_args(argv)
    started = start()
    quiet_tensorflow()
    threads = args.threads or usable_cores()
    formats = [f for f in args.formats if available(f)]
    skipped = [f for f in args.formats if f not in formats]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clips(folder, 1, SECONDS)[0].audio_path
        for release in args.releases:
            row = time_release(release, clip, formats, folder, args.repeats, threads)
            rows.append(row)
            print(f"{release}: " + ", ".join(f"{NAMES[c]} {1000 * v:.1f} ms" for c, v in row["median"].items()),
                  file=sys.stderr)
    meta = {**run_meta("benchmarks.perf.export", argv, started, args.note, LIBRARIES),
            "threads": threads, "repeats": args.repeats, "formats": formats, "skipped": skipped,
            "clip": Path(clip).name}
    text = markdown(meta, rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "export.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
