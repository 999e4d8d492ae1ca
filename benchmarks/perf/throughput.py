"""Training throughput, and what the tf.data pipeline costs against in-memory tensors.

Both arms train the same compiled model on the same synthetic utterances, all of the
IEMOCAP mean length (4.5 s), so every batch has the same shape in both arms and the only
difference is how batches are made:

* ``pipeline``: ``zoo.pipeline.fold_datasets(...)["train_by_epoch"]`` from a
  ``FeatureTable`` with the options training uses (``benchmarks.runner.run_one``), streamed
  as ``zoo.train.fit`` streams it (``Dataset.range(e, e + 1).flat_map(train_by_epoch)``);
* ``in_memory``: ``Dataset.from_tensor_slices((padded arrays, targets)).batch(b).prefetch()``.

One untimed epoch per arm first (tracing; the pipeline's ``(None, None, D)`` trace also
serves the baseline's fixed shapes), then ``repeats`` timed epochs per arm, interleaved
(ABBA...) so that load drifts on the shared machine hit both arms alike.
Overhead = median pipeline epoch / median in-memory epoch - 1.
"""
from __future__ import annotations

import math

from benchmarks.perf import data, timing
from benchmarks.perf.data import MEAN_SECONDS


def measure(setup, model, repeats: int = 3) -> dict:
    """Throughput of both arms on a compiled ``model`` (see the module docstring)."""
    n = setup.epoch_batches * setup.batch_size
    if setup.chunking is not None:  # n chunks: 4.5 s utterances give 1 + (450 - 30) // 20 = 22 each
        length, overlap = setup.chunking[:2]
        per_utterance = 1 + (setup.streams["fbank"].steps(MEAN_SECONDS) - length) // (length - overlap)
        n = math.ceil(n / per_utterance)
    table = data.table(setup, [MEAN_SECONDS] * n, seed=1)
    pipe = timing.Pipeline(setup, table)
    inputs, targets = data.padded_arrays(table, setup)
    memory = timing.in_memory(inputs, targets, setup.batch_size)

    warm = {"pipeline": timing.fit_epoch(model, pipe.epoch(0), pipe.steps),
            "in_memory": timing.fit_epoch(model, memory, pipe.steps)}
    seconds = {"pipeline": [], "in_memory": []}
    for r in range(repeats):
        order = ("pipeline", "in_memory") if r % 2 == 0 else ("in_memory", "pipeline")
        for arm in order:
            ds = pipe.epoch(r + 1) if arm == "pipeline" else memory
            seconds[arm].append(timing.fit_epoch(model, ds, pipe.steps))
    med = {arm: timing.median(v) for arm, v in seconds.items()}
    paired = [p / m for p, m in zip(seconds["pipeline"], seconds["in_memory"])]
    return {
        "model": setup.model, "batch_size": setup.batch_size, "sizes": setup.size_note,
        "parameters": int(model.count_params()), "samples_per_epoch": pipe.samples, "steps_per_epoch": pipe.steps,
        "sample_unit": "chunks of 30 frames" if setup.chunking else "utterances of 4.5 s",
        "warmup_seconds": {k: round(v, 3) for k, v in warm.items()},
        "epoch_seconds": {k: [round(x, 4) for x in v] for k, v in seconds.items()},
        "samples_per_second": {arm: pipe.samples / med[arm] for arm in med},
        "pipeline_overhead": med["pipeline"] / med["in_memory"] - 1,
        "paired_ratio_range": [min(paired), max(paired)],
    }
