"""Training throughput, and what the tf.data pipeline costs against in-memory tensors.

Both arms train the same compiled model on the same synthetic utterances, all of the
IEMOCAP mean length (4.5 s), so every batch has the same shape in both arms and the only
difference is how batches are made:

* ``pipeline``: ``zoo.pipeline.fold_datasets(...)["train_by_epoch"]`` from a
  ``FeatureTable`` with the options training uses (``benchmarks.runner.run_one``), streamed
  as ``zoo.train.fit`` streams it (``Dataset.range(0, 1).flat_map(train_by_epoch)``);
* ``in_memory``: ``Dataset.from_tensor_slices((padded arrays, targets)).batch(b).prefetch()``.

One untimed epoch per arm first (tracing; the pipeline's ``(None, None, D)`` trace also
serves the baseline's fixed shapes), then ``repeats`` timed epochs per arm, interleaved
(ABBA...) so that load drifts on the shared machine hit both arms alike. Reported:

* wall-clock samples/s and overhead = median pipeline epoch / median in-memory epoch - 1;
* the same ratio in process CPU time (all threads, the model's and tf.data's): other jobs
  on a shared machine move it much less than wall time;
* the pipeline alone: CPU ms to produce one batch (one pass over the epoch without a
  model, pipeline minus in-memory), as a share of the CPU ms of one training step. Each pass
  also pays the epoch's set-up (a new shuffled index dataset), here spread over only 1-7
  batches, so the share is an upper bound for real epochs of a hundred batches. On a
  CPU-bound 2-core machine tf.data's work cannot hide behind the model's, so this share is
  what the pipeline costs; it is the steadiest of the three numbers and decides the
  "≤ 10 %" column.
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

    warm = {}
    if not setup.quick:  # --quick runs eagerly: nothing to trace
        warm = {"pipeline": timing.fit_epoch(model, pipe.stream, pipe.steps),
                "in_memory": timing.fit_epoch(model, memory, pipe.steps)}
    wall = {"pipeline": [], "in_memory": []}
    cpu = {"pipeline": [], "in_memory": []}
    alone = {"pipeline": [], "in_memory": []}
    for r in range(repeats):
        order = ("pipeline", "in_memory") if r % 2 == 0 else ("in_memory", "pipeline")
        for arm in order:
            ds = pipe.stream if arm == "pipeline" else memory
            w, c = timing.fit_epoch(model, ds, pipe.steps, cpu=True)
            wall[arm].append(w)
            cpu[arm].append(c)
        for arm in order:
            alone[arm].append(timing.iterate(pipe.stream if arm == "pipeline" else memory))
    med = {arm: timing.median(v) for arm, v in wall.items()}
    med_cpu = {arm: timing.median(v) for arm, v in cpu.items()}
    paired = [p / m for p, m in zip(wall["pipeline"], wall["in_memory"])]
    paired_cpu = [p / m for p, m in zip(cpu["pipeline"], cpu["in_memory"])]
    batch_ms = {arm: {"wall": 1000 * timing.median([w / b for w, _, b in runs]),
                      "cpu": 1000 * timing.median([c / b for _, c, b in runs])} for arm, runs in alone.items()}
    step_cpu_ms = 1000 * med_cpu["in_memory"] / pipe.steps
    return {
        "model": setup.model, "batch_size": setup.batch_size, "sizes": setup.size_note,
        "parameters": int(model.count_params()), "samples_per_epoch": pipe.samples, "steps_per_epoch": pipe.steps,
        "sample_unit": "chunks of 30 frames" if setup.chunking else "utterances of 4.5 s",
        "warmup_seconds": {k: round(v, 3) for k, v in warm.items()},
        "epoch_seconds": {k: [round(x, 4) for x in v] for k, v in wall.items()},
        "epoch_cpu_seconds": {k: [round(x, 4) for x in v] for k, v in cpu.items()},
        "samples_per_second": {arm: pipe.samples / med[arm] for arm in med},
        "pipeline_overhead": med["pipeline"] / med["in_memory"] - 1,
        "paired_ratio_range": [min(paired), max(paired)],
        "pipeline_overhead_cpu": med_cpu["pipeline"] / med_cpu["in_memory"] - 1,
        "paired_cpu_ratio_range": [min(paired_cpu), max(paired_cpu)],
        "batch_ms_without_model": batch_ms, "train_step_cpu_ms": step_cpu_ms,
        "pipeline_cost_share": (batch_ms["pipeline"]["cpu"] - batch_ms["in_memory"]["cpu"]) / step_cpu_ms,
    }
