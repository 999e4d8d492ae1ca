"""mixed_float16 against float32 training speed (GPUs only).

Two copies of the model are built, one under each global Keras dtype policy (Keras wraps
the mixed one's optimizer in a ``LossScaleOptimizer`` at compile), and trained on the
same in-memory batches of 4.5 s utterances (:func:`benchmarks.perf.timing.in_memory`);
one untimed epoch each, then ``repeats`` timed epochs each, interleaved. On a machine
without a GPU the section records ``"no GPU: skipped"`` (float16 has no fast path on
CPUs); ``force=True`` runs it anyway, which only checks the code path.
"""
from __future__ import annotations

from benchmarks.perf import data, timing
from benchmarks.perf.data import MEAN_SECONDS

POLICIES = ("float32", "mixed_float16")


def gpus() -> list:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def measure(setup, repeats: int = 3, force: bool = False) -> dict:
    """``{"status": ..., "samples_per_second": {policy: ...}, "speedup": mixed / float32}``."""
    import keras

    if not gpus() and not force:
        return {"model": setup.model, "status": "no GPU: skipped"}
    n = setup.epoch_batches * setup.batch_size
    table = data.table(setup, [MEAN_SECONDS] * n, seed=2)
    inputs, targets = data.padded_arrays(table, setup)
    samples = len(targets if not isinstance(targets, dict) else next(iter(targets.values())))
    dataset = timing.in_memory(inputs, targets, setup.batch_size)
    previous = keras.mixed_precision.global_policy()
    models = {}
    try:
        for policy in POLICIES:
            keras.mixed_precision.set_global_policy(policy)
            models[policy] = setup.compile(setup.build_model())
    finally:
        keras.mixed_precision.set_global_policy(previous)
    for model in models.values():
        if not setup.quick:  # --quick runs eagerly: nothing to trace
            timing.fit_epoch(model, dataset)
    seconds = {p: [] for p in POLICIES}
    for r in range(repeats):
        for policy in (POLICIES if r % 2 == 0 else POLICIES[::-1]):
            seconds[policy].append(timing.fit_epoch(models[policy], dataset))
    rate = {p: samples / timing.median(v) for p, v in seconds.items()}
    keras.backend.clear_session()
    return {"model": setup.model, "status": "measured" if gpus() else "forced on CPU (code-path check only)",
            "batch_size": setup.batch_size, "samples_per_epoch": samples,
            "epoch_seconds": {p: [round(x, 4) for x in v] for p, v in seconds.items()},
            "samples_per_second": rate, "speedup": rate["mixed_float16"] / rate["float32"]}
