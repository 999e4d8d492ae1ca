"""Timing helpers: one training epoch through ``model.fit``, datasets as training builds them."""
from __future__ import annotations

import time
import warnings

import numpy as np


def quiet_keras() -> None:
    """Silence Keras' per-fit warnings (dict inputs of one-input models, shuffle ignored) and
    TensorFlow's retracing notes (one predict function per model in the latency section)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
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
    if setup.length_inputs:  # the models' masks come from the true lengths
        options["lengths"] = setup.length_inputs
    options.update(overrides)
    return options


class Pipeline:
    """``fold_datasets(...)["train_by_epoch"]`` of a table, streamed as ``zoo.train.fit``
    streams it: ``Dataset.range(0, 1).flat_map(train_by_epoch)``, ``steps`` batches.

    The stream is built once (``zoo.train.fit`` also builds it once per run) and each
    ``model.fit`` iterates it afresh (epoch 0's order). ``train_by_epoch`` is traced without
    autograph conversion: ``make_dataset`` has no tensor-dependent Python control flow, so
    the dataset graph is the same, and autograph would re-read ``zoo/pipeline.py`` from
    disk, which breaks when the file is edited while a benchmark runs (seen here).
    """

    def __init__(self, setup, table, **options):
        import tensorflow as tf

        from benchmarks.perf import data
        from zoo import pipeline

        datasets = pipeline.fold_datasets(data.fold_of(table), table, setup.label_set, seed=0,
                                          **train_options(setup, **options))
        self.by_epoch = datasets["train_by_epoch"]
        first = self.by_epoch(tf.constant(0, tf.int64))
        self.steps = sum(1 for _ in first)  # as zoo.train._count_batches (bucketed: unknown cardinality)
        self.samples = sum(int(next(iter(x[0].values())).shape[0]) for x in first)
        self.padded_steps, self.real_steps, self.loop_steps = _padding(first, setup)
        self.stream = tf.data.Dataset.range(0, 1).flat_map(tf.autograph.experimental.do_not_convert(self.by_epoch))


def _padding(dataset, setup):
    """Over one epoch, for the bucketed input: padded steps (batch x padded length, summed),
    real steps, and loop steps (padded length summed over batches: what a recurrent layer
    iterates, and on a CPU its time, since a step costs about the same at any batch size
    here). ``None`` for fixed-size inputs."""
    name = setup.bucket_input
    if name is None or not setup.streams[name].variable:
        return None, None, None
    padded = real = loop = 0
    for inputs, *_ in dataset:
        x = inputs[name].numpy()
        padded += x.shape[0] * x.shape[1]
        loop += x.shape[1]
        nonzero = x != 0 if x.ndim == 2 else np.any(x != 0, axis=-1)
        real += int(nonzero.sum())
    return padded, real, loop


def in_memory(inputs, targets, batch_size: int):
    """The baseline: ``Dataset.from_tensor_slices((arrays, targets)).batch(b).prefetch(AUTOTUNE)``
    of pre-padded numpy arrays."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit_epoch(model, dataset, steps=None, cpu: bool = False):
    """Wall seconds of one ``model.fit`` epoch (``on_epoch_begin`` to ``on_epoch_end``: every
    step and the epoch's iterator, not fit's set-up); with ``cpu``, ``(wall, cpu)`` where cpu
    is the process CPU time over the same span (all threads: the model's and tf.data's),
    which other jobs on a shared machine disturb far less than wall time."""
    import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.start_cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start
            self.cpu = time.process_time() - self.start_cpu

    timer = Timer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[timer])
    return (timer.seconds, timer.cpu) if cpu else timer.seconds


def iterate(dataset):
    """``(wall s, CPU s, batches)`` of reading one pass of ``dataset`` without a model."""
    start, start_cpu, batches = time.perf_counter(), time.process_time(), 0
    for _ in dataset:
        batches += 1
    return time.perf_counter() - start, time.process_time() - start_cpu, batches


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))
