"""Seconds per epoch of the recurrent models: padding to the longest utterance, to the
batch maximum (random order), or length bucketing.

One epoch of ``max(256, 8 x batch)`` utterances with IEMOCAP-like durations
(:func:`benchmarks.perf.data.iemocap_like_seconds`): 8 batches, so that
``bucket_boundaries="auto"`` gets its full 8 buckets as on a real IEMOCAP fold (thousands of
utterances); with fewer batches than buckets the comparison would say more about the epoch
size than about bucketing. Rows, all through ``zoo.pipeline.fold_datasets`` with the
training options (:func:`benchmarks.perf.timing.train_options`):

* ``global_max``: ``pad_to`` = the longest utterance of the epoch (after AMH's 750-frame
  truncation), no bucketing; a full IEMOCAP set pads to 34 s, longer still;
* ``batch_max``: no bucketing, each shuffled batch padded to its own longest element;
* ``bucketing``: ``bucket_boundaries="auto"`` (length quantiles), what training uses;
* DSER also gets ``recipe_554`` (not with ``--quick``): its recipe pads every transcript to
  554 tokens (``word_ids(pad_to_max_length=True)``), the layout its training uses today.

Each row runs ``repeats`` epochs (default 2), in order and then in reverse order, so that
load drifts hit all rows alike; medians of wall and of process CPU seconds are reported
(CPU time, which other jobs on the shared machine disturb less, decides the "≥ 2x" column).
``loop steps`` = padded length summed over the epoch's batches: what a recurrent layer
iterates, one small matmul per step here, so seconds follow it more than the padded
element count (a bucket's last, partial batch costs as many steps as a full one).

Counted, not timed (no model, cheap, noise-free): the same rows for one full IEMOCAP-size
training epoch (4,290 utterances, the session-5 train set of Jalal et al. 2020), where
``"auto"`` makes its 8 buckets of hundreds of utterances, plus explicit boundaries at 16
length quantiles (``zoo.pipeline._auto_boundaries(lengths, batch, max_buckets=16)``), a
candidate for a better default.

The model is the one of the throughput measurement, already traced; one untimed step of
variable-length batches first makes sure its ``(None, None, D)`` trace exists, which then
serves every row (static lengths are its subtypes: no retracing inside the timed epochs). ``padding`` = padded steps / real steps of the bucketed input.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from benchmarks.perf import data, timing

EXTRA_ROWS = {"dser": {"recipe_554": {"text": 554}}}
FULL_EPOCH = 4290


def _variable_setup(setup):
    """DSER's text as variable-length ids (its recipe pads them to 554)."""
    if setup.model != "dser":
        return setup
    streams = dict(setup.streams)
    streams["text"] = dataclasses.replace(streams["text"], fixed=False)
    return dataclasses.replace(setup, streams=streams)


def measure(setup, model, repeats: int = 2, utterances: int | None = None, seed: int = 0) -> dict:
    """The rows above for one recurrent model (``setup.bucket_input`` set)."""
    setup = _variable_setup(setup)
    n = utterances or max(256, 8 * setup.batch_size)
    seconds = data.iemocap_like_seconds(n, np.random.default_rng(seed))
    table = data.table(setup, seconds, seed=seed)
    longest = _longest(setup, table)
    rows = _rows(setup, table)
    pipes = {row: timing.Pipeline(setup, table, **options) for row, options in rows.items()}
    # One untimed step with variable lengths: the (None, None) trace, when the throughput run
    # traced static lengths only (DSER's 554 tokens); a no-op for the others.
    if not setup.quick:  # --quick runs eagerly: nothing to trace
        timing.fit_epoch(model, pipes["batch_max"].stream.take(1), 1)
    times = {row: [] for row in rows}
    cpu = {row: [] for row in rows}
    for r in range(repeats):
        order = list(rows) if r % 2 == 0 else list(rows)[::-1]
        for row in order:
            wall, used = timing.fit_epoch(model, pipes[row].stream, pipes[row].steps, cpu=True)
            times[row].append(wall)
            cpu[row].append(used)
    med = {row: timing.median(v) for row, v in times.items()}
    med_cpu = {row: timing.median(v) for row, v in cpu.items()}
    return {
        "model": setup.model, "bucket_input": setup.bucket_input, "batch_size": setup.batch_size,
        "utterances": n, "seconds_min_mean_max": [float(seconds.min()), float(seconds.mean()), float(seconds.max())],
        "longest_steps": longest,
        "rows": {row: {"epoch_seconds": [round(x, 3) for x in times[row]], "median_seconds": med[row],
                       "epoch_cpu_seconds": [round(x, 3) for x in cpu[row]], "median_cpu_seconds": med_cpu[row],
                       "steps_per_epoch": pipes[row].steps, "loop_steps": pipes[row].loop_steps,
                       "padding": pipes[row].padded_steps / pipes[row].real_steps if pipes[row].real_steps else None}
                 for row in rows},
        "full_epoch_counts": None if setup.quick else full_epoch_counts(setup, seed=seed),
        "speedup_vs_global_max": med["global_max"] / med["bucketing"],
        "speedup_vs_batch_max": med["batch_max"] / med["bucketing"],
        "cpu_speedup_vs_global_max": med_cpu["global_max"] / med_cpu["bucketing"],
        "cpu_speedup_vs_batch_max": med_cpu["batch_max"] / med_cpu["bucketing"],
    }


def _longest(setup, table) -> dict:
    """Longest sequence of each variable input (after the recipe's truncation)."""
    longest = {}
    for name, spec in table.specs.items():
        if spec.variable:
            cap = (setup.truncate or {}).get(name)
            longest[name] = int(min(table.lengths(name).max(), cap or np.inf))
    return longest


def _rows(setup, table, extra_buckets: bool = False) -> dict:
    longest = _longest(setup, table)
    rows = {"global_max": {"pad_to": longest, "bucket_boundaries": None},
            "batch_max": {"bucket_boundaries": None},
            "bucketing": {"bucket_boundaries": "auto"}}
    for row, pad in ({} if setup.quick else EXTRA_ROWS.get(setup.model, {})).items():
        rows[row] = {"pad_to": {**longest, **pad}, "bucket_boundaries": None}
    if extra_buckets:
        from zoo import pipeline

        lengths = table.lengths(setup.bucket_input)
        cap = (setup.truncate or {}).get(setup.bucket_input)
        lengths = np.minimum(lengths, cap) if cap else lengths
        rows["bucketing_16"] = {"bucket_boundaries": pipeline._auto_boundaries(lengths, setup.batch_size, 16)}
    return rows


def full_epoch_counts(setup, utterances: int = FULL_EPOCH, seed: int = 0) -> dict:
    """Padding and loop steps of each row over a full IEMOCAP-size epoch, counted on the
    pipeline's batches of a one-channel table (no model, nothing timed)."""
    streams = {setup.bucket_input: dataclasses.replace(setup.streams[setup.bucket_input], dim=1)}
    light = dataclasses.replace(setup, streams=streams, truncate={
        k: v for k, v in (setup.truncate or {}).items() if k in streams} or None)
    seconds = data.iemocap_like_seconds(utterances, np.random.default_rng(seed + 1))
    table = data.table(light, seconds, seed=seed + 1)
    out = {}
    for row, options in _rows(light, table, extra_buckets=True).items():
        pipe = timing.Pipeline(light, table, **options)
        out[row] = {"steps_per_epoch": pipe.steps, "loop_steps": pipe.loop_steps,
                    "padding": pipe.padded_steps / pipe.real_steps}
    return {"utterances": utterances, "rows": out}
