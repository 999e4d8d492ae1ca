"""The machine a run was on, the header every results markdown starts with, and the markdown of
a run's results."""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import time

LIBRARIES = ("tensorflow", "keras", "keras-hub", "numpy", "librosa", "soundfile", "pyAudioAnalysis")
TARGET_OVERHEAD = 0.10
TARGET_BUCKETING = 2.0


def cpu_model() -> str:
    """``model name`` of /proc/cpuinfo (the platform string where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions(names=LIBRARIES) -> dict:
    """``{distribution: version}`` of each name; None where it is not installed."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def usable_cores() -> int:
    """The cores this process may run on (its affinity), else every core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine() -> dict:
    from benchmarks.perf.precision import gpus

    return {"cpu": cpu_model(), "cpu_cores": os.cpu_count(), "cores_usable": usable_cores(),
            "arch": platform.machine(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "libraries": library_versions(), "gpus": gpus()}


def start() -> dict:
    """What a run notes when it starts: its clock and the load average, for :func:`run_meta`."""
    return {"started": time.perf_counter(), "load_start": os.getloadavg()[0]}


def run_meta(module: str, argv, started: dict, note: str = "", libraries=LIBRARIES) -> dict:
    """The meta every one-file benchmark reports (what :func:`header` prints): the command that
    ran ``python -m module`` with ``argv`` (None: this process's), date, wall time since
    :func:`start`, load average at start and end, CPU, usable cores, Python and ``libraries``."""
    words = sys.argv[1:] if argv is None else list(argv)
    return {"command": f"python -m {module} " + " ".join(shlex.quote(a) for a in words),
            "date": datetime.date.today().isoformat(), "wall_seconds": time.perf_counter() - started["started"],
            "load_start": started["load_start"], "load_end": os.getloadavg()[0], "note": note,
            "cpu": cpu_model(), "cores": usable_cores(), "python": platform.python_version(),
            "libraries": library_versions(libraries)}


def header(title: str, meta: dict, machine_line: str, python: str, libraries: dict) -> list:
    """A results markdown's first lines: title, the note, command, date and wall time, the
    machine, the load average at start / end, Python and the installed libraries' versions."""
    lines = [title, ""]
    if meta.get("note"):
        lines += [meta["note"], ""]
    return lines + [
        f"command: `{meta['command']}`  ",
        f"date: {meta['date']}, wall time {meta['wall_seconds']:.0f} s  ",
        f"machine: {machine_line}  ",
        f"load average (1 min) at start / end: {meta['load_start']:.1f} / {meta['load_end']:.1f}  ",
        f"Python {python}; " + ", ".join(f"{k} {v}" for k, v in libraries.items() if v), ""]


def per_call_lines(calls) -> list:
    """``- `release`, column: [seconds, ...]`` for each ``(release, column, runs)``."""
    return [f"- `{release}`, {column}: {runs}" for release, column, runs in calls]


def _ms(seconds) -> str:
    return f"{1000 * seconds:.0f}"


def _error_row(row, width) -> str:
    return f"| {row['model']} | error: {row['error']} |" + " |" * (width - 2)


def _pct(x) -> str:
    return f"{100 * x:+.1f} %"


def throughput_table(rows) -> list:
    out = ["| model | sizes | parameters | batch | samples / epoch | in-memory samples/s | pipeline samples/s "
           "| overhead, wall (median; per-repeat range) | overhead, CPU time (median; range) "
           "| CPU ms / batch without model: pipeline, in-memory | pipeline cost / training step (≤ 10 %?) |",
           "|---|---|---:|---:|---|---:|---:|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 11))
            continue
        sps = r["samples_per_second"]
        lo, hi = r["paired_ratio_range"]
        clo, chi = r["paired_cpu_ratio_range"]
        ms = r["batch_ms_without_model"]
        share = r["pipeline_cost_share"]
        out.append(f"| {r['model']} | {r['sizes']} | {r['parameters']:,} | {r['batch_size']} | "
                   f"{r['samples_per_epoch']} {r['sample_unit']} ({r['steps_per_epoch']} steps) | "
                   f"{sps['in_memory']:.1f} | {sps['pipeline']:.1f} | "
                   f"{_pct(r['pipeline_overhead'])} ({_pct(lo - 1)} … {_pct(hi - 1)}) | "
                   f"{_pct(r['pipeline_overhead_cpu'])} ({_pct(clo - 1)} … {_pct(chi - 1)}) | "
                   f"{ms['pipeline']['cpu']:.1f}, {ms['in_memory']['cpu']:.1f} "
                   f"(step {r['train_step_cpu_ms']:.0f}) | "
                   f"{100 * share:.1f} % ({'yes' if share <= TARGET_OVERHEAD else '**no**'}) |")
    return out


ROW_NAMES = {"global_max": "pad to longest in epoch", "batch_max": "pad to batch max (random order)",
             "bucketing": "bucketing (`\"auto\"`)", "recipe_554": "pad to 554 tokens (DSER recipe)",
             "bucketing_16": "bucketing, 16 quantile buckets"}


def bucketing_table(rows) -> list:
    out = ["| model (input) | epoch | layout | padded / real steps | batches | loop steps | s / epoch: wall, CPU "
           "| bucketing speed-up: wall, CPU (≥ 2x?) |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 8))
            continue
        lo, mean, hi = r["seconds_min_mean_max"]
        longest = ", ".join(f"{k} {v}" for k, v in r["longest_steps"].items())
        epoch = (f"{r['utterances']} utt., {lo:.1f}/{mean:.1f}/{hi:.1f} s min/mean/max, batch {r['batch_size']}; "
                 f"longest: {longest}")
        for i, (name, row) in enumerate(r["rows"].items()):
            speed = row["median_seconds"] / r["rows"]["bucketing"]["median_seconds"]
            speed_cpu = row["median_cpu_seconds"] / r["rows"]["bucketing"]["median_cpu_seconds"]
            verdict = ("" if name in ("bucketing", "recipe_554")
                       else f" ({'yes' if speed_cpu >= TARGET_BUCKETING else 'no'})")
            pad = "—" if row["padding"] is None else f"{row['padding']:.2f}"
            head = f"{r['model']} (`{r['bucket_input']}`) | {epoch}" if i == 0 else " | "
            out.append(f"| {head} | {ROW_NAMES.get(name, name)} | {pad} | {row['steps_per_epoch']} | "
                       f"{row['loop_steps']} | {row['median_seconds']:.2f}, {row['median_cpu_seconds']:.2f} | "
                       f"{speed:.2f}x, {speed_cpu:.2f}x{verdict} |")
    return out


def full_epoch_table(rows) -> list:
    out = ["| model (input) | layout | padded / real steps | batches | loop steps | loop steps / bucketing's |",
           "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        counts = r.get("full_epoch_counts")
        if not counts:
            continue
        base = counts["rows"]["bucketing"]["loop_steps"]
        for i, (name, row) in enumerate(counts["rows"].items()):
            head = f"{r['model']} (`{r['bucket_input']}`)" if i == 0 else ""
            out.append(f"| {head} | {ROW_NAMES.get(name, name)} | {row['padding']:.2f} | {row['steps_per_epoch']} | "
                       f"{row['loop_steps']} | {row['loop_steps'] / base:.2f}x |")
    return out if len(out) > 2 else []


def latency_table(rows) -> list:
    out = ["| model | sizes | parameters | extractors | input shapes | features ms | model ms | total ms "
           "| features share |", "|---|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 9))
            continue
        ex = ", ".join(f"{k}: `{v}`" for k, v in r["extractors"].items())
        shapes = ", ".join(f"{k} {tuple(v)}" for k, v in r["input_shapes"].items())
        share = r["features_seconds"] / r["total_seconds"]
        out.append(f"| {r['model']} | {r['sizes']} | {r['parameters']:,} | {ex} | {shapes} | "
                   f"{_ms(r['features_seconds'])} | {_ms(r['model_seconds'])} | {_ms(r['total_seconds'])} | "
                   f"{100 * share:.0f} % |")
    return out


def precision_table(rows) -> list:
    out = ["| model | status | float32 samples/s | mixed_float16 samples/s | speed-up |", "|---|---|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 5))
        elif "samples_per_second" not in r:
            out.append(f"| {r['model']} | {r['status']} | — | — | — |")
        else:
            s = r["samples_per_second"]
            out.append(f"| {r['model']} | {r['status']} | {s['float32']:.1f} | {s['mixed_float16']:.1f} | "
                       f"{r['speedup']:.2f}x |")
    return out


TARGET_FROZEN = 5.0


def frozen_table(rows) -> list:
    out = ["| model | sizes | precomputed part | parameters: end to end, trainable part | batch, steps / epoch "
           "| encode once (s) | max abs posterior difference | first epoch s (wall): end to end, precomputed "
           "| later epochs s, wall: end to end, precomputed | CPU s | speed-up: wall, CPU (≥ 5x?) |",
           "|---|---|---|---|---|---:|---:|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 11))
            continue
        med, cpu, first = r["median_seconds"], r["median_cpu_seconds"], r["first_epoch"]
        p = r["parameters"]
        out.append(f"| {r['model']} | {r['sizes']} | {', '.join(r['parts'])} | {p['end_to_end']:,}, "
                   f"{p['trainable_part']:,} | {r['batch_size']}, {r['steps_per_epoch']} | {r['encode_seconds']:.1f} | "
                   f"{r['max_abs_posterior_difference']:.1e} | {first['end_to_end']['wall']:.1f}, "
                   f"{first['precomputed']['wall']:.1f} | {med['end_to_end']:.2f}, {med['precomputed']:.2f} | "
                   f"{cpu['end_to_end']:.2f}, {cpu['precomputed']:.2f} | {r['speedup']:.1f}x, {r['cpu_speedup']:.1f}x "
                   f"({'yes' if r['cpu_speedup'] >= TARGET_FROZEN else '**no**'}) |")
    return out


TRACE_ROWS = {"pad_to_bucket": "pad to bucket (default)", "batch_max": "pad to batch max (`pad_to_bucket=False`)"}


def traces_table(rows) -> list:
    out = ["| model | epoch | layout | batch shapes (buckets) | train-step traces (≤ shapes?) | traced with "
           "| loop steps | first epoch s: wall, CPU |", "|---|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(_error_row(r, 8))
            continue
        for i, (name, row) in enumerate(r["rows"].items()):
            traced = "; ".join(row.get("traced_with", [])).replace("|", "/") or "—"
            head = f"{r['model']} | {r['utterances']} utt., batch {r['batch_size']}" if i == 0 else " | "
            ok = "yes" if row["traces"] <= row["shapes"] else "**no**"
            loop = "—" if row["loop_steps"] is None else str(row["loop_steps"])
            out.append(f"| {head} | {TRACE_ROWS.get(name, name)} | {row['shapes']} | {row['traces']} ({ok}) | "
                       f"`{traced}` | {loop} | "
                       f"{row['first_epoch_seconds']:.1f}, {row['first_epoch_cpu_seconds']:.1f} |")
    return out


def markdown(results: dict, appended: bool = False) -> str:
    meta, env = results["meta"], results["meta"]["machine"]
    title = ("# Speed benchmarks, appended run: " + ", ".join(results["sections"])) if appended else \
        "# Speed benchmarks (`benchmarks.perf`)"
    lines = header(title, meta, f"{env['cpu']}, {env['cpu_cores']} CPU cores ({env['cores_usable']} usable), "
                                f"{env['arch']}, {env['os']}, GPUs: {', '.join(env['gpus']) or 'none'}",
                   env["python"], env["libraries"])
    sections = results["sections"]
    if "throughput" in sections:
        lines += ["## Training throughput and tf.data pipeline overhead", "",
                  sections["throughput"]["description"], ""] + throughput_table(sections["throughput"]["rows"]) + [""]
    if "bucketing" in sections:
        rows = sections["bucketing"]["rows"]
        lines += ["## Length bucketing against padding (seconds per epoch)", "",
                  sections["bucketing"]["description"], ""] + bucketing_table(rows) + [""]
        full = full_epoch_table(rows)
        if full:
            n = next(r["full_epoch_counts"]["utterances"] for r in rows if r.get("full_epoch_counts"))
            lines += [f"Counted on a full IEMOCAP-size epoch ({n:,} utterances, same distribution; "
                      "no model, nothing timed):", ""] + full + [""]
    if "latency" in sections:
        durations = {r["audio_seconds"] for r in sections["latency"]["rows"] if "audio_seconds" in r}
        wav = "/".join(f"{d:g}" for d in sorted(durations)) or "?"
        lines += [f"## End-to-end inference latency ({wav} s wav → prediction, one utterance)", "",
                  sections["latency"]["description"], ""] + latency_table(sections["latency"]["rows"]) + [""]
    if "precision" in sections:
        lines += ["## mixed_float16 against float32", "", sections["precision"]["description"], ""] \
            + precision_table(sections["precision"]["rows"]) + [""]
    if "frozen" in sections:
        lines += ["## Frozen encoders once per utterance (seconds per epoch after the first)", "",
                  sections["frozen"]["description"], ""] + frozen_table(sections["frozen"]["rows"]) + [""]
    if "traces" in sections:
        lines += ["## Training-step traces per epoch, first epoch with and without pad-to-bucket", "",
                  sections["traces"]["description"], ""] + traces_table(sections["traces"]["rows"]) + [""]
    return "\n".join(lines)
