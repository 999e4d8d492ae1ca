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
* DSER also gets ``recipe_554``: its recipe pads every transcript to 554 tokens
  (``word_ids(pad_to_max_length=True)``), the layout its training uses today.

The model is the one of the throughput measurement (already traced; its ``(None, None, D)``
trace serves every row). ``padding`` = padded steps / real steps of the bucketed input.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from benchmarks.perf import data, timing

EXTRA_ROWS = {"dser": {"recipe_554": {"text": 554}}}


def _variable_setup(setup):
    """DSER's text as variable-length ids (its recipe pads them to 554)."""
    if setup.model != "dser":
        return setup
    streams = dict(setup.streams)
    streams["text"] = dataclasses.replace(streams["text"], fixed=False)
    return dataclasses.replace(setup, streams=streams)


def measure(setup, model, repeats: int = 1, utterances: int | None = None, seed: int = 0) -> dict:
    """The rows above for one recurrent model (``setup.bucket_input`` set)."""
    setup = _variable_setup(setup)
    n = utterances or max(256, 8 * setup.batch_size)
    seconds = data.iemocap_like_seconds(n, np.random.default_rng(seed))
    table = data.table(setup, seconds, seed=seed)
    longest = {}
    for name, spec in table.specs.items():
        if spec.variable:
            cap = (setup.truncate or {}).get(name)
            longest[name] = int(min(table.lengths(name).max(), cap or np.inf))
    rows = {"global_max": {"pad_to": longest, "bucket_boundaries": None},
            "batch_max": {"bucket_boundaries": None},
            "bucketing": {"bucket_boundaries": "auto"}}
    for row, pad in EXTRA_ROWS.get(setup.model, {}).items():
        rows[row] = {"pad_to": {**longest, **pad}, "bucket_boundaries": None}
    pipes = {row: timing.Pipeline(setup, table, **options) for row, options in rows.items()}
    times = {row: [] for row in rows}
    for r in range(repeats):
        order = list(rows) if r % 2 == 0 else list(rows)[::-1]
        for row in order:
            times[row].append(timing.fit_epoch(model, pipes[row].epoch(r), pipes[row].steps))
    med = {row: timing.median(v) for row, v in times.items()}
    return {
        "model": setup.model, "bucket_input": setup.bucket_input, "batch_size": setup.batch_size,
        "utterances": n, "seconds_min_mean_max": [float(seconds.min()), float(seconds.mean()), float(seconds.max())],
        "longest_steps": longest,
        "rows": {row: {"epoch_seconds": [round(x, 3) for x in times[row]], "median_seconds": med[row],
                       "steps_per_epoch": pipes[row].steps,
                       "padding": pipes[row].padded_steps / pipes[row].real_steps if pipes[row].real_steps else None}
                 for row in rows},
        "speedup_vs_global_max": med["global_max"] / med["bucketing"],
        "speedup_vs_batch_max": med["batch_max"] / med["bucketing"],
    }
