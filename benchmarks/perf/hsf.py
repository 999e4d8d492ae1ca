"""DSER's 68-d HSF (``paa_hsf``): the vectorised backend against pyAudioAnalysis, same clips, one run.

    python -m benchmarks.perf.hsf                      # 20 EmoDB + 20 RAVDESS clips, 5 repeats
    python -m benchmarks.perf.hsf --clips 5 --repeats 2 --out /tmp/hsf.md

Clips come from the development copies of EmoDB and RAVDESS (``$ZOO_SHARED_DATA`` or
``<repository>/../shared/data``; ``--clips`` per corpus, spread over the sorted file list);
with neither present, ``2 x --clips`` synthetic speech-like clips of ``benchmarks.features``
(``--synthetic-seconds`` long) are used and the report says so. Each clip is decoded and resampled to 16 kHz once, outside the timing.

* ``compute``: ``PaaHSF(backend=...).compute(signal, 16000)`` over all clips (features +
  statistics; no decoding), ``--repeats`` passes per backend, the backends alternating
  pass by pass (so load drifts hit both); median and best pass, ratio pyAudioAnalysis /
  vectorised. One untimed warm-up pass each (imports, filterbank construction).
* ``extract``: ``PaaHSF(backend=...).extract(record)`` once per clip (decode + resample +
  features), the end-to-end cost of an uncached feature.
* parity: on every clip, the ``(T, 34)`` frames of the two backends within
  :data:`zoo.features.paa_vectorised.PARITY_TOLERANCE`, the same exact zeros, and the
  largest HSF difference.

Writes the markdown (command, machine, load average before and after, numbers) to
``--out`` (default ``benchmarks/results/hsf.md``) and prints it. Exit status 1 when a clip
is outside the tolerance.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]
BACKENDS = ("pyaudioanalysis", "vectorised")
SR = 16000
TARGET_SPEEDUP = 10.0


def shared_data() -> Path:
    return Path(os.environ.get("ZOO_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))


def spread(paths, n):
    """``n`` paths evenly spaced over the sorted list (all of them when fewer)."""
    paths = sorted(paths)
    if len(paths) <= n:
        return paths
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).round().astype(int)]


def real_clips(n):
    """``{corpus: [Record]}`` of the EmoDB / RAVDESS copies that are present."""
    from zoo.data.records import Record

    root, found = shared_data(), {}
    for corpus, pattern in (("emodb", "wav/*.wav"), ("ravdess", "Actor_*/*.wav")):
        paths = spread((root / corpus).glob(pattern), n)
        if paths:
            found[corpus] = [Record(p.stem, corpus, audio_path=str(p)) for p in paths]
    return found


def timed_passes(extractors, signals, repeats):
    """Seconds per pass over ``signals`` of each extractor's ``compute``, backends alternating."""
    times = {name: [] for name in extractors}
    for name, extractor in extractors.items():  # warm-up
        for signal in signals[:2]:
            extractor.compute(signal, SR)
    for r in range(repeats):
        order = list(extractors) if r % 2 == 0 else list(extractors)[::-1]
        for name in order:
            extractor = extractors[name]
            start = time.perf_counter()
            for signal in signals:
                extractor.compute(signal, SR)
            times[name].append(time.perf_counter() - start)
    return times


def parity(signals):
    """Worst differences between the backends' frames and HSF, over ``signals``."""
    from zoo.features.paa import PaaFrames, high_level_statistics
    from zoo.features.paa_vectorised import FEATURE_NAMES, PARITY_TOLERANCE

    ours, ref = PaaFrames(), PaaFrames(backend="pyaudioanalysis")
    worst = {"abs": 0.0, "excess": 0.0, "feature": None, "zeros_differ": 0, "hsf_abs": 0.0, "hsf_rel": 0.0,
             "failed": 0, "frames": 0}
    for signal in signals:
        a, b = ours.compute(signal, SR), ref.compute(signal, SR)
        worst["frames"] += b.shape[0]
        ok = a.shape == b.shape
        if ok:
            rtol = np.array([PARITY_TOLERANCE[n][0] for n in FEATURE_NAMES])
            atol = np.array([PARITY_TOLERANCE[n][1] for n in FEATURE_NAMES])
            diff = np.abs(a - b)
            excess = (diff / (atol + rtol * np.abs(b))).max(axis=0)  # <= 1: within tolerance
            j = int(np.argmax(excess))
            if excess[j] > worst["excess"]:
                worst.update(excess=float(excess[j]), feature=FEATURE_NAMES[j])
            worst["abs"] = max(worst["abs"], float(diff.max()))
            zeros = int(((a == 0) != (b == 0)).sum())
            worst["zeros_differ"] += zeros
            ha, hb = high_level_statistics(a), high_level_statistics(b)
            worst["hsf_abs"] = max(worst["hsf_abs"], float(np.abs(ha - hb).max()))
            nz = hb != 0
            worst["hsf_rel"] = max(worst["hsf_rel"], float((np.abs(ha - hb)[nz] / np.abs(hb[nz])).max()))
            ok = excess.max() <= 1.0 and zeros == 0
        worst["failed"] += not ok
    return worst


def run(args):
    from zoo.features.audio import load_audio
    from zoo.features.paa import PaaHSF

    clips = real_clips(args.clips)
    source = "development copies of EmoDB and RAVDESS"
    tmp = None
    if not clips:
        from benchmarks.features import make_clips

        tmp = tempfile.TemporaryDirectory(prefix="zoo-bench-hsf-")
        clips = {"synthetic": make_clips(tmp.name, 2 * args.clips, args.synthetic_seconds)}
        source = f"synthetic speech-like clips (no corpora under {shared_data().name}/; set $ZOO_SHARED_DATA)"
    extractors = {b: PaaHSF(backend=b) for b in BACKENDS}
    rows, all_signals = [], []
    for corpus, records in clips.items():
        print(f"{corpus}: {len(records)} clips ...", file=sys.stderr, flush=True)
        signals = [load_audio(r.audio_path, SR)[0] for r in records]
        all_signals += signals
        times = timed_passes(extractors, signals, args.repeats)
        extract = {}
        for name, extractor in extractors.items():
            t0 = time.perf_counter()
            for record in records:
                extractor.extract(record)
            extract[name] = time.perf_counter() - t0
        seconds = sum(len(s) for s in signals) / SR
        rows.append({"corpus": corpus, "clips": len(records), "seconds": seconds, "times": times,
                     "extract": extract, "lengths": (min(len(s) for s in signals) / SR,
                                                   max(len(s) for s in signals) / SR)})
    print("parity ...", file=sys.stderr, flush=True)
    check = parity(all_signals)
    if tmp is not None:
        tmp.cleanup()
    return source, rows, check


def markdown(args, argv, source, rows, check, load_before, load_after, wall) -> str:
    from benchmarks.perf.report import cpu_model
    from zoo.features.cache import library_version

    command = " ".join(["python -m benchmarks.perf.hsf"] + [shlex.quote(a) for a in argv])
    libs = ", ".join(f"{d} {library_version(d)}"
                     for d in ("numpy", "scipy", "pyAudioAnalysis", "soundfile", "soxr"))
    out = ["# `paa_hsf`: vectorised backend vs pyAudioAnalysis", "",
           f"command: `{command}`  ",
           f"date: {datetime.date.today().isoformat()}, wall time {wall:.0f} s  ",
           f"machine: {cpu_model()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}, "
           f"Python {platform.python_version()}  ",
           f"libraries: {libs}  ",
           "load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in load_before)
           + "; after: " + ", ".join(f"{x:.2f}" for x in load_after) + "  ",
           f"clips: {source}, decoded and resampled to {SR} Hz once (outside the compute timing)", "",
           f"Compute: `PaaHSF(backend=...).compute(signal, {SR})` over all clips of a corpus, {args.repeats} "
           "passes per backend, backends alternating; ms per clip, median pass (best pass). Ratio = "
           "pyAudioAnalysis / vectorised, of the medians (of the best passes). RTF = seconds of audio per "
           "second of compute. Extract: `extract(record)` once per clip, decode + resample + features.", "",
           "| corpus | clips | length s (min-max) | pyAudioAnalysis ms/clip | vectorised ms/clip "
           "| speed-up median (best) | RTF pAA / vectorised | extract ms/clip pAA / vectorised "
           "| extract speed-up |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        n, t = r["clips"], r["times"]
        med = {b: statistics.median(t[b]) for b in BACKENDS}
        best = {b: min(t[b]) for b in BACKENDS}
        ext = r["extract"]
        ratio_med = med["pyaudioanalysis"] / med["vectorised"]
        ratio_best = best["pyaudioanalysis"] / best["vectorised"]
        out.append(
            f"| {r['corpus']} | {n} | {r['lengths'][0]:.2f}-{r['lengths'][1]:.2f} "
            f"| {1000 * med['pyaudioanalysis'] / n:.1f} ({1000 * best['pyaudioanalysis'] / n:.1f}) "
            f"| {1000 * med['vectorised'] / n:.2f} ({1000 * best['vectorised'] / n:.2f}) "
            f"| {ratio_med:.1f}x ({ratio_best:.1f}x) "
            f"| {r['seconds'] / med['pyaudioanalysis']:.0f} / {r['seconds'] / med['vectorised']:.0f} "
            f"| {1000 * ext['pyaudioanalysis'] / n:.1f} / {1000 * ext['vectorised'] / n:.2f} "
            f"| {ext['pyaudioanalysis'] / ext['vectorised']:.1f}x |")
    n_clips = sum(r["clips"] for r in rows)
    verdict = "all within" if check["failed"] == 0 else f"{check['failed']} clip(s) OUTSIDE"
    median = statistics.median
    slowest = min(median(r["times"]["pyaudioanalysis"]) / median(r["times"]["vectorised"]) for r in rows)
    met = slowest >= TARGET_SPEEDUP and check["failed"] == 0
    out += ["", f"Parity on the same {n_clips} clips ({check['frames']} frames): {verdict} the tolerance "
            "(`zoo.features.paa_vectorised.PARITY_TOLERANCE`: rtol 1e-9, atol 1e-12, MFCC atol 1e-10). "
            f"Largest |difference| of a frame feature {check['abs']:.2e}; largest difference / tolerance "
            f"{check['excess']:.2e} ({check['feature']}); frames/features where exactly one backend gives 0: "
            f"{check['zeros_differ']}; largest HSF |difference| {check['hsf_abs']:.2e} "
            f"(relative {check['hsf_rel']:.2e}).", "",
            f"Target (vectorised at least {TARGET_SPEEDUP:.0f}x faster in compute, median passes, every "
            f"corpus; values within the tolerance): {'met' if met else 'NOT met'} "
            f"(smallest speed-up {slowest:.1f}x).", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf.hsf", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=20, help="clips per corpus (default 20)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per backend (default 5)")
    p.add_argument("--synthetic-seconds", type=float, default=3.0,
                   help="length of the synthetic clips used when no corpus is present (default 3)")
    p.add_argument("--out", default=str(REPOSITORY / "benchmarks" / "results" / "hsf.md"))
    args = p.parse_args(argv)
    if args.clips < 1 or args.repeats < 1 or args.synthetic_seconds < 0.05:
        p.error("--clips and --repeats must be >= 1, --synthetic-seconds >= 0.05")
    load_before, start = os.getloadavg(), time.perf_counter()
    source, rows, check = run(args)
    wall = time.perf_counter() - start
    text = markdown(args, argv, source, rows, check, load_before, os.getloadavg(), wall)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text)
    os.replace(partial, out)
    print(text)
    return 0 if check["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
