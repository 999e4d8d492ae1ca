"""What every command-line entry point of the zoo shares: a quiet, optionally deterministic start.

TensorFlow prints C++ start-up lines on every run (the oneDNN notice, and on machines without a
GPU the CUDA probe's "failed call to cuInit" error) before any Python logging is set up;
:func:`quiet_tensorflow` imports it and probes the devices with those lines sent to /dev/null.
``ZOO_TF_LOGS=1`` keeps them (e.g. to debug a GPU set-up). It also drops TensorFlow's
"triggered tf.function retracing" warning: a command that trains or evaluates one fresh model per
fold and seed makes a new predict function each time, which that counter (shared by every model's
function) reports as retracing; the zoo's own datasets give one padded shape per bucket. Other
Python warnings and errors are not touched.
"""
from __future__ import annotations

import logging
import os
import sys


DETERMINISTIC_THREADS = 2  # intra-op threads of the deterministic mode (inter-op: 1)


def _positive_int(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {text!r}")
    return int(text)


def add_workers_argument(parser) -> None:
    """``--workers N``: the processes that extract features (``zoo.pipeline.compute_features``)."""
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="processes that extract features (default $ZOO_FEATURE_WORKERS, else one per core; "
                             "1 = serial in this process); the features do not depend on it")


def apply_workers(args) -> None:
    """Make ``args.workers`` (from :func:`add_workers_argument`) the default of every
    ``compute_features`` call this process makes, through ``$ZOO_FEATURE_WORKERS``."""
    if getattr(args, "workers", None):
        from zoo.pipeline import WORKERS_ENV

        os.environ[WORKERS_ENV] = str(args.workers)


def classes_option(names):
    """A ``--classes`` list as :func:`zoo.experiment.prepare` takes it: None when absent, ``"all"``
    for ``--classes all``, else the label names."""
    if not names:
        return None
    return "all" if list(names) == ["all"] else list(names)


def deterministic(threads: int = DETERMINISTIC_THREADS) -> None:
    """TensorFlow's deterministic mode: op determinism on, fixed thread counts (intra ``threads``,
    inter 1), so the same command gives the same numbers on machines with other core counts.
    Must run before TensorFlow executes its first op."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(1)


def quiet_tensorflow(deterministic_mode: bool = False) -> None:
    """Import TensorFlow and list its devices with the C++ log lines of that start silenced
    (and switch on :func:`deterministic` first when asked)."""
    if os.environ.get("ZOO_TF_LOGS"):
        if deterministic_mode:
            deterministic()
        return
    if "tensorflow" in sys.modules:
        _drop_retracing_warnings()
        if deterministic_mode:
            deterministic()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to hide
        _drop_retracing_warnings()
        if deterministic_mode:
            deterministic()
        return
    sys.stderr.flush()
    saved, null = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
        import tensorflow as tf

        if deterministic_mode:
            deterministic()
        tf.config.list_physical_devices()
        _drop_retracing_warnings()
    finally:
        os.dup2(saved, fd)
        os.close(null)
        os.close(saved)


class _NoRetracingWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _drop_retracing_warnings() -> None:
    """Filter TensorFlow's per-process retracing warning out of its Python logger (once)."""
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingWarnings) for f in logger.filters):
        logger.addFilter(_NoRetracingWarnings())
