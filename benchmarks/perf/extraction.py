"""Feature extraction speed on real clips: ``zoo.pipeline.compute_features`` with 1 and 2
workers against the per-file librosa loop a user would write.

    python -m benchmarks.perf.extraction                        # RAVDESS copy, 2 repeats
    python -m benchmarks.perf.extraction --corpus emodb --limit 200 --repeats 3
    python -m benchmarks.perf.extraction --quick --out /tmp/x   # 12 clips: checks that it runs

For each audio extractor (``fbank``, ``logmel``, ``mfcc``, ``mfcc_deltas``, ``chroma``, default
options), over the same clips, without a cache:

* ``1 worker``: ``compute_features(records, {name: extractor}, workers=1)`` (the serial loop);
* ``2 workers, warm``: ``workers=2`` (this process and one worker process) with the worker
  already started, as on every call after the first within a minute;
* ``2 workers, cold``: ``workers=2`` right after ``release_workers()``: the worker starts
  (a fresh interpreter importing numpy and librosa) while this process already extracts;
* ``naive loop``: ``y, sr = librosa.load(path, sr=rate)`` and the same librosa calls the
  extractor makes, file after file: the same feature (the first clips are compared: the
  largest absolute difference from the extractor's output is reported), with the BLAS
  threads a user gets by default (one per core), and ``1 BLAS thread``
  (``threadpoolctl``), as ``compute_features`` runs: the same code path cost.

Three control rows extract nothing and read no file. ``sleep_5ms`` sleeps 5 ms per clip: it needs
no CPU, so its speed-up shows what the scheduling of ``workers=2`` gives when a second core is
free, whatever the load. ``python_work`` (a fixed pure-Python loop, a few kB of memory) and
``fft_work`` (a fixed numpy STFT-sized FFT, a few MB, as an extractor's frames) do the same
fixed work per clip, a few ms: their speed-up and their CPU seconds, 1 worker against 2, show how
much compute the second core adds on this machine for work that needs no memory traffic and for
work that does. When two processes spend more CPU seconds on the same fixed work than one, the
cores share something (a host's hyper-threads, caches, memory bandwidth), and no scheduling in
``compute_features`` gets that back.

Each repeat runs every column once per extractor, in a rotated order so that load drifts hit
all columns alike; medians of wall seconds are reported, with the CPU seconds of this process
and its worker processes (``/proc``), and the 1-minute load average before every measurement.
The machine may be shared: the load average says how busy it was (on ``N`` cores, a load
above ``N`` means other processes competed for them), and ``cores used`` how much of the
machine a column got (2 workers can use up to 2 cores, if nobody else needs them).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from zoo.features.base import Extractor

EXTRACTORS = ("fbank", "logmel", "mfcc", "mfcc_deltas", "chroma")
CONTROLS = ("sleep_5ms", "python_work", "fft_work")
COLUMNS = ("serial", "parallel_warm", "parallel_cold", "naive", "naive_1_thread")
CONTROL_SLEEP = 0.005
TARGET_SPEEDUP = 1.7
PARITY_CLIPS = 3
LIBRARIES = ("numpy", "librosa", "soundfile", "soxr", "scipy", "joblib")


# --------------------------------------------------------------------- the naive loops


def _naive_short_term_mel(y, sr, n_mels):
    import librosa

    return librosa.feature.melspectrogram(y=y, sr=sr, n_fft=400, win_length=400, hop_length=160,
                                          window="hamming", center=False, n_mels=n_mels)


def naive_fbank(y, sr):
    return np.log(np.maximum(_naive_short_term_mel(y, sr, 23), np.finfo(np.float32).eps)).T


def naive_logmel(y, sr):
    import librosa

    return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128)).T


def naive_mfcc(y, sr):
    import librosa

    return librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40).T


def naive_mfcc_deltas(y, sr):
    import librosa

    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(_naive_short_term_mel(y, sr, 40)), n_mfcc=40)
    return np.concatenate([mfcc, librosa.feature.delta(mfcc, width=9),
                           librosa.feature.delta(mfcc, width=9, order=2)]).T


def naive_chroma(y, sr):
    import librosa

    return librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr).T


#: name -> (rate librosa.load resamples to, feature of the loaded signal)
NAIVE = {"fbank": (16000, naive_fbank), "logmel": (22050, naive_logmel), "mfcc": (22050, naive_mfcc),
         "mfcc_deltas": (16000, naive_mfcc_deltas), "chroma": (22050, naive_chroma)}


class Sleep(Extractor):
    """The control extractor: a (1,) array after ``CONTROL_SLEEP`` seconds of sleep."""

    name = "sleep_5ms"
    shape = (1,)

    def config(self):
        return {"seconds": CONTROL_SLEEP}

    def extract(self, record):
        time.sleep(CONTROL_SLEEP)
        return np.zeros(1, np.float32)


class PythonWork(Extractor):
    """Control: a fixed pure-Python loop per clip (``iterations`` steps; a few ms, a few kB)."""

    name = "python_work"
    shape = (1,)
    iterations = 60_000

    def config(self):
        return {"iterations": self.iterations}

    def extract(self, record):
        total = 0
        for i in range(self.iterations):
            total += i * i % 7
        return np.full(1, total % 7, np.float32)


class FftWork(Extractor):
    """Control: a fixed numpy FFT per clip, the size of a 2 s STFT (200 frames of 2,048 samples, a few MB)."""

    name = "fft_work"
    shape = (1,)
    frames, n_fft = 200, 2048

    def config(self):
        return {"frames": self.frames, "n_fft": self.n_fft}

    def extract(self, record):
        x = np.cos(np.arange(self.frames * self.n_fft, dtype=np.float32) * 1e-3).reshape(self.frames, self.n_fft)
        spectrum = np.abs(np.fft.rfft(x, axis=1)) ** 2
        return np.full(1, float(spectrum[0, 0]) > 0, np.float32)


def make_control(name: str) -> Extractor:
    return {c.name: c for c in (Sleep, PythonWork, FftWork)}[name]()


def naive_loop(paths, name):
    import librosa

    rate, feature = NAIVE[name]
    out = []
    for path in paths:
        y, sr = librosa.load(path, sr=rate)
        out.append(feature(y, sr))
    return out


# --------------------------------------------------------------------- measuring


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's live child processes, from ``/proc``."""
    me, total = os.getpid(), 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields[1] is the parent pid (field 4 of stat)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _timed(fn):
    load = os.getloadavg()[0]
    wall, cpu, kids = time.perf_counter(), time.process_time(), _children_cpu()
    out = fn()
    # A worker started during the call began at 0 CPU seconds: its whole time is counted.
    return out, {"seconds": time.perf_counter() - wall,
                 "cpu_seconds": time.process_time() - cpu + max(0.0, _children_cpu() - kids), "load": load}


def measure(name, records, repeats: int) -> dict:
    """The columns of one extractor (or of a control, :data:`CONTROLS`) over ``records``."""
    from threadpoolctl import threadpool_limits

    from zoo import features, pipeline

    control = name in CONTROLS
    extractor = make_control(name) if control else features.get(name)
    columns = COLUMNS[:3] if control else COLUMNS
    paths = [r.audio_path for r in records]
    parity = None
    if not control:
        reference = pipeline.compute_features(records[:PARITY_CLIPS], {name: extractor}, workers=1)
        naive = naive_loop(paths[:PARITY_CLIPS], name)
        parity = max(float(np.max(np.abs(a - b))) for a, b in zip(reference.features[name], naive))

    def one_thread_naive():
        with threadpool_limits(limits=1, user_api="blas"):
            return naive_loop(paths, name)

    def run(column):
        if column == "naive":
            return lambda: naive_loop(paths, name)
        if column == "naive_1_thread":
            return one_thread_naive
        if column == "parallel_cold":
            pipeline.release_workers()
        elif column == "parallel_warm":  # make sure the worker runs and has imported librosa
            pipeline.compute_features(records[:2], {name: extractor}, workers=2)
        workers = 1 if column == "serial" else 2
        return lambda: pipeline.compute_features(records, {name: extractor}, workers=workers)

    runs = {c: [] for c in columns}
    tables = {}
    for r in range(repeats):
        order = columns[r % len(columns):] + columns[:r % len(columns)]
        for column in order:
            out, timing = _timed(run(column))
            runs[column].append(timing)
            count = len(out) if column.startswith("naive") else len(out.records)
            if count != len(records):
                raise RuntimeError(f"{name} {column}: {count} of {len(records)} clips extracted")
            if not column.startswith("naive"):
                tables[column] = out
    for column in ("parallel_warm", "parallel_cold"):  # the same table as the serial loop
        if any(not np.array_equal(a, b) for a, b in zip(tables[column].features[name], tables["serial"].features[name])):
            raise RuntimeError(f"{name}: {column} gave other arrays than the serial loop")
    med = {c: float(np.median([t["seconds"] for t in v])) for c, v in runs.items()}
    return {"extractor": name, "config": extractor.config(), "clips": len(records), "runs": runs,
            "median_seconds": med,
            "median_cpu_seconds": {c: float(np.median([t["cpu_seconds"] for t in v])) for c, v in runs.items()},
            "speedup_warm": med["serial"] / med["parallel_warm"], "speedup_cold": med["serial"] / med["parallel_cold"],
            "zoo_vs_naive": None if control else med["naive"] / med["serial"],
            "zoo_vs_naive_1_thread": None if control else med["naive_1_thread"] / med["serial"],
            "parity_max_abs_diff": parity}


# --------------------------------------------------------------------- report


def machine() -> dict:
    from benchmarks.perf.report import cpu_model, library_versions, usable_cores

    return {"cpu": cpu_model(), "cpu_cores": os.cpu_count(), "cores_usable": usable_cores(),
            "python": platform.python_version(), "libraries": library_versions(LIBRARIES)}


def markdown(results: dict) -> str:
    meta = results["meta"]
    m = meta["machine"]
    lines = ["# Feature extraction: 1 vs 2 workers vs the naive librosa loop", "",
             f"`{meta['command']}` on {meta['date']}, {meta['clips']} clips of {meta['corpus']} "
             f"({meta['audio_seconds']:.0f} s of audio, {meta['audio_rate']} Hz files); {m['cpu']}, "
             f"{m['cpu_cores']} cores; " + ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v) + ".", "",
             f"Load average (1 min) {meta['load_start']:.2f} at the start, {meta['load_end']:.2f} at the end, "
             f"{meta['load_min']:.2f}-{meta['load_max']:.2f} before the measurements, on "
             f"{m['cpu_cores']} cores. " + (meta["note"] or ""), "",
             results["description"], "",
             "## 1 worker against 2", "",
             f"| extractor | 1 worker s | 2 workers s: warm, cold | speed-up: warm, cold (≥ {TARGET_SPEEDUP}x?) | "
             "CPU s: 1 w, 2 w warm | cores used (CPU s / s): 1 w, 2 w warm | load before: min-max |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    done = [row for row in results["rows"] if "error" not in row]
    for row in done:
        s, c = row["median_seconds"], row["median_cpu_seconds"]
        loads = [t["load"] for v in row["runs"].values() for t in v]
        lines.append(
            f"| {row['extractor']} | {s['serial']:.2f} | {s['parallel_warm']:.2f}, {s['parallel_cold']:.2f} | "
            f"{row['speedup_warm']:.2f}x, {row['speedup_cold']:.2f}x "
            f"({'control' if row['extractor'] in CONTROLS else 'yes' if row['speedup_warm'] >= TARGET_SPEEDUP else 'no'}) | "
            f"{c['serial']:.1f}, {c['parallel_warm']:.1f} | "
            f"{c['serial'] / s['serial']:.2f}, {c['parallel_warm'] / s['parallel_warm']:.2f} | "
            f"{min(loads):.2f}-{max(loads):.2f} |")
    lines += ["", "## zoo against the naive loop", "",
              "``compute_features``' default is one process per core (``workers=None``): the last column sets it, warm "
              "and cold, against the naive loop with its default BLAS threads.", "",
              "| extractor | zoo 1 worker s (CPU s) | naive s (CPU s): default BLAS threads | naive s (CPU s): 1 BLAS thread | "
              "zoo 1 worker vs naive, wall: default (≥ 1x?), 1 thread | zoo 1 worker vs naive 1 thread, CPU | "
              "max abs diff vs naive | zoo default (2 workers) vs naive default, wall: warm, cold (≥ 1x?) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in done:
        s, c = row["median_seconds"], row["median_cpu_seconds"]
        if "naive" not in s:
            continue
        lines.append(
            f"| {row['extractor']} | {s['serial']:.2f} ({c['serial']:.1f}) | {s['naive']:.2f} ({c['naive']:.1f}) | "
            f"{s['naive_1_thread']:.2f} ({c['naive_1_thread']:.1f}) | {row['zoo_vs_naive']:.2f}x "
            f"({'yes' if row['zoo_vs_naive'] >= 1 else 'no'}), {row['zoo_vs_naive_1_thread']:.2f}x | "
            f"{c['naive_1_thread'] / c['serial']:.2f}x | {row['parity_max_abs_diff']:.2g} | "
            f"{s['naive'] / s['parallel_warm']:.2f}x, {s['naive'] / s['parallel_cold']:.2f}x "
            f"({'yes' if s['naive'] / s['parallel_warm'] >= 1 and s['naive'] / s['parallel_cold'] >= 1 else 'no'}) |")
    for row in results["rows"]:
        if "error" in row:
            lines += ["", f"{row['extractor']}: error: {row['error']}"]
    return "\n".join(lines)


def default_root(corpus: str) -> Path:
    """The development copy: ``$ZOO_SHARED_DATA/<corpus>`` or ``<repository>/../shared/data/<corpus>``."""
    base = os.environ.get("ZOO_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return Path(base) / corpus


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf.extraction", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="ravdess", choices=("ravdess", "emodb"))
    p.add_argument("--root", help="corpus folder (default $ZOO_SHARED_DATA/<corpus> or ../shared/data/<corpus>)")
    p.add_argument("--limit", type=int, help="first N clips (sorted by path)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--extractors", nargs="+", choices=EXTRACTORS + CONTROLS,
                   default=list(EXTRACTORS + CONTROLS))
    p.add_argument("--quick", action="store_true", help="12 clips, 1 repeat: checks the code, not speed")
    p.add_argument("--note", default="", help="a sentence for the top of the markdown")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results"))
    p.add_argument("--name", help="file stem (default extraction, or extraction-quick with --quick)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import soundfile

    from zoo import data, pipeline

    args = parse_args(argv)
    root = Path(args.root) if args.root else default_root(args.corpus)
    records = sorted(data.load(args.corpus, root).records, key=lambda r: r.audio_path)
    limit = 12 if args.quick else args.limit
    records = records[:limit] if limit else records
    repeats = 1 if args.quick else args.repeats
    infos = [soundfile.info(r.audio_path) for r in records]
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = []
    for name in args.extractors:
        print(f"{name} ...", file=sys.stderr, flush=True)
        try:
            rows.append(measure(name, records, repeats))
        except Exception as error:  # one extractor's failure must not lose the others' numbers
            rows.append({"extractor": name, "error": f"{type(error).__name__}: {str(error)[:200]}"})
    pipeline.release_workers()
    loads = [t["load"] for row in rows if "runs" in row for v in row["runs"].values() for t in v] or [load_start]
    words = sys.argv[1:] if argv is None else list(argv)
    results = {"meta": {
        "command": "python -m benchmarks.perf.extraction " + " ".join(shlex.quote(a) for a in words),
        "date": datetime.date.today().isoformat(), "wall_seconds": time.perf_counter() - started,
        "corpus": args.corpus, "clips": len(records), "audio_seconds": sum(i.duration for i in infos),
        "audio_rate": "/".join(str(r) for r in sorted({i.samplerate for i in infos})), "repeats": repeats,
        "load_start": load_start, "load_end": os.getloadavg()[0], "load_min": min(loads), "load_max": max(loads),
        "note": args.note, "machine": machine()},
        "description": __doc__.split("\n\n", 2)[2].strip(), "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("extraction-quick" if args.quick else "extraction")
    text = markdown(results)
    (out / f"{stem}.md").write_text(text + "\n")
    (out / f"{stem}.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
