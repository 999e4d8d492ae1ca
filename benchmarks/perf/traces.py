"""Traces of the training step per epoch, and the first epoch's seconds, with and without
padding each bucketed batch to its bucket's length.

Every model, a fresh build per row (so the first epoch pays every trace), one epoch of
``4 x batch`` synthetic utterances with IEMOCAP-like durations through the training pipeline
(``bucket_boundaries="auto"`` where an input varies in length; DSER's text as variable-length
ids, as its smoke and real profiles bucket it). Rows:

* ``pad_to_bucket``: every batch padded to its bucket's length (``make_dataset``'s default);
* ``batch_max``: ``pad_to_bucket=False``, each batch padded to its own longest element.

``traces``: how often Keras traced the training step in the epoch (the model's ``train_step``
wrapped in a counter: its Python body runs once per trace; the optimizer's variables built
before the epoch); ``traced with``: the input shapes of those traces (``None``: a dynamic
axis); ``shapes``: distinct batch shapes of the epoch (``zoo.pipeline.distinct_shapes``), i.e.
buckets used; the goal is traces ≤ shapes. Keras ``fit`` on a ``tf.data`` dataset traces its
step on the dataset's element spec, whose batch and variable axes are ``None``, so the count
does not depend on the batch shapes: Keras 3.15 traces it twice per ``fit`` call (also for a
one-layer model on equal batches, checked by hand), which is why one-shape models show 2 against
1 shape. ``predict`` and ``model(x)`` trace per shape instead (see ``zoo.pipeline.make_dataset``'s
``pad_to_bucket``). Timing is one epoch per row (first epochs cannot be repeated), so it is
noisier than the other sections.
"""
from __future__ import annotations

import numpy as np

from benchmarks.perf import data, timing

ROWS = {"pad_to_bucket": {}, "batch_max": {"pad_to_bucket": False}}


def _counted(model) -> list:
    """Count the traces of ``model``'s training step: ``[count, {input shapes traced}]``."""
    count = [0, set()]
    step = model.train_step

    def train_step(batch):
        count[0] += 1
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        shapes = {k: tuple(v.shape) for k, v in inputs.items()} if isinstance(inputs, dict) else tuple(inputs.shape)
        count[1].add(repr(shapes))
        return step(batch)

    model.train_step = train_step
    return count


def measure(setup, utterances: int = 0, seed: int = 0) -> dict:
    """Both rows for one model (see the module docstring)."""
    import keras

    from benchmarks.perf.bucketing import _variable_setup
    from zoo import pipeline

    if setup.quick:
        raise ValueError("--quick runs eagerly: nothing is traced")
    setup = _variable_setup(setup)
    n = utterances or 4 * setup.batch_size
    table = data.table(setup, data.iemocap_like_seconds(n, np.random.default_rng(seed)), seed=seed)
    out = {"model": setup.model, "batch_size": setup.batch_size, "utterances": n, "rows": {}}
    for row, options in ROWS.items():
        keras.utils.set_random_seed(seed)
        model = setup.compile(setup.build_model())
        # Built before the epoch: a tf.function that creates variables (the optimizer's, on the
        # first step) traces twice, once more than the batch shapes ask for.
        model.optimizer.build(model.trainable_variables)
        traces = _counted(model)
        pipe = timing.Pipeline(setup, table, **options)
        shapes = len(pipeline.distinct_shapes(pipe.by_epoch(0)))
        wall, cpu = timing.fit_epoch(model, pipe.stream, pipe.steps, cpu=True)
        out["rows"][row] = {"traces": traces[0], "traced_with": sorted(traces[1]), "shapes": shapes, "steps": pipe.steps, "loop_steps": pipe.loop_steps,
                            "first_epoch_seconds": wall, "first_epoch_cpu_seconds": cpu}
        del model
        keras.backend.clear_session()
    out["traces_within_shapes"] = all(r["traces"] <= r["shapes"] for r in out["rows"].values())
    return out
