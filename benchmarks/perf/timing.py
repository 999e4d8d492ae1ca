"""Timing helpers: one training epoch through ``model.fit``, datasets as training builds them."""
from __future__ import annotations

import time
import warnings

import numpy as np


def quiet_keras() -> None:
    """Silence Keras' per-fit warnings (dict inputs of one-input models, shuffle ignored)."""
    warnings.filterwarnings("ignore", message=".*structure of `inputs` doesn't match.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


def train_options(setup, **overrides) -> dict:
    """The ``make_dataset`` options ``benchmarks.runner.run_one`` trains with: batch size,
    targets, CSA's chunking or ``bucket_boundaries="auto"`` when an input varies in length,
    plus AMH's recipe truncation (750 audio frames)."""
    options = dict(batch_size=setup.batch_size, targets=setup.targets)
    if setup.chunking is not None:
        options["chunking"] = setup.chunking
    else:
        options["bucket_boundaries"] = "auto" if any(s.variable for s in setup.streams.values()) else None
    if setup.truncate:
        options["truncate"] = setup.truncate
    options.update(overrides)
    return options


class Pipeline:
    """``fold_datasets(...)["train_by_epoch"]`` of a table, streamed as ``zoo.train.fit``
    streams it: ``Dataset.range(e, e + 1).flat_map(train_by_epoch)``, ``steps`` batches."""

    def __init__(self, setup, table, **options):
        import tensorflow as tf

        from benchmarks.perf import data
        from zoo import pipeline

        self.tf = tf
        datasets = pipeline.fold_datasets(data.fold_of(table), table, setup.label_set, seed=0,
                                          **train_options(setup, **options))
        self.by_epoch = datasets["train_by_epoch"]
        first = self.by_epoch(tf.constant(0, tf.int64))
        self.steps = sum(1 for _ in first)  # as zoo.train._count_batches (bucketed: unknown cardinality)
        self.samples = sum(int(next(iter(x[0].values())).shape[0]) for x in first)
        self.padded_steps, self.real_steps = _padding(first, setup)

    def epoch(self, e: int):
        tf = self.tf
        return tf.data.Dataset.range(e, e + 1).flat_map(self.by_epoch)


def _padding(dataset, setup):
    """(padded, real) steps of the bucketed input over one epoch (``None`` if fixed-size)."""
    name = setup.bucket_input
    if name is None or not setup.streams[name].variable:
        return None, None
    padded = real = 0
    for inputs, *_ in dataset:
        x = inputs[name].numpy()
        padded += x.shape[0] * x.shape[1]
        nonzero = x != 0 if x.ndim == 2 else np.any(x != 0, axis=-1)
        real += int(nonzero.sum())
    return padded, real


def in_memory(inputs, targets, batch_size: int):
    """The baseline: ``Dataset.from_tensor_slices((arrays, targets)).batch(b).prefetch(AUTOTUNE)``
    of pre-padded numpy arrays."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit_epoch(model, dataset, steps=None) -> float:
    """Seconds of one ``model.fit`` epoch (``on_epoch_begin`` to ``on_epoch_end``: every
    step and the epoch's iterator, not fit's set-up)."""
    import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    timer = Timer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[timer])
    return timer.seconds


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))
