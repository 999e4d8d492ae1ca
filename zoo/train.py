"""Training with paper recipes: compile from a :class:`zoo.recipe.Recipe`, fit with
checkpoints every epoch, and resume after any interruption (``kill -9`` included).

Resumption is exact: a run killed at any moment and started again with the same command
ends with the same weights as an uninterrupted run. What makes that hold:

- A checkpoint is ``model.save_weights`` (model AND optimizer variables) written to a
  temporary file and renamed into place; ``state.json`` (epoch, history, callback
  state, checkpoint name) is written the same way and only after its checkpoint, so a
  reader only ever sees complete files. The last two checkpoints are kept.
- The data order of epoch ``e`` is a function of ``(seed, e)`` alone: ``train_data`` is
  a callable ``epoch -> tf.data.Dataset`` (the pipelines take the epoch as their shuffle
  key), so a resumed run sees the same batches as an uninterrupted one.
- Keras does not save seed-generator states (dropout) with the weights, so every
  ``SeedGenerator`` of the model is re-keyed from ``(seed, epoch)`` at each epoch start.
- The state of EarlyStopping / ReduceLROnPlateau (``wait``, ``best``, ...) is saved and
  restored after Keras resets it in ``on_train_begin``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import keras
import numpy as np

from zoo.recipe import compile_model

STATE_FILE = "state.json"
FINAL_WEIGHTS = "final.weights.h5"
_CALLBACK_STATE = ("wait", "best", "cooldown_counter", "stopped_epoch", "best_epoch")


# Compiling from a recipe lives beside the Recipe (model modules use it too).
compile_from_recipe = compile_model


# --------------------------------------------------------------------------- files
def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_save_weights(model: keras.Model, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.weights.h5")
    try:
        model.save_weights(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_value(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if hasattr(value, "numpy"):
        return np.asarray(value).item()
    return value


def read_state(run_dir: Union[str, Path]) -> Optional[dict]:
    """The last complete training state of a run folder, or None."""
    path = Path(run_dir) / STATE_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- callbacks
def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Re-key every seed generator (dropout etc.) of ``model`` from ``(seed, epoch)``."""
    for i, variable in enumerate(v for v in model.variables if v.path.endswith("seed_generator_state")):
        key = np.array([seed * 1_000_003 + epoch, i], dtype=variable.dtype)
        variable.assign(key)


class _Reseed(keras.callbacks.Callback):
    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        reseed(self.model, self.seed, epoch)


class _Checkpoint(keras.callbacks.Callback):
    """Writes weights + optimizer, then the state file, atomically, every epoch.

    Placed after the user's callbacks so that, on resume, its ``on_train_begin`` runs
    after theirs and restores the state they have just reset.
    """

    def __init__(self, run_dir: Path, watched: list, history: list, restore: Optional[dict], keep: int = 2):
        super().__init__()
        self.run_dir, self.watched, self.history = run_dir, watched, history
        self.restore, self.keep = restore, keep

    def on_train_begin(self, logs=None):
        if not self.restore:
            return
        for cb, saved in zip(self.watched, self.restore.get("callbacks", [])):
            for key, value in saved.items():
                if key == "best_weights_file":
                    cb.best_weights = self._load_weight_list(value)
                else:
                    setattr(cb, key, value)

    def _load_weight_list(self, name):
        data = np.load(self.run_dir / name)
        return [data[f"w{i}"] for i in range(len(data.files))]

    def _save_weight_list(self, weights, epoch) -> str:
        name = f"best-{epoch:04d}.npz"
        tmp = self.run_dir / f".{name}.tmp.npz"
        np.savez(tmp, **{f"w{i}": w for i, w in enumerate(weights)})
        os.replace(tmp, self.run_dir / name)
        return name

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch, **{k: _json_value(v) for k, v in (logs or {}).items()}})
        name = f"ckpt-{epoch:04d}.weights.h5"
        _atomic_save_weights(self.model, self.run_dir / name)
        callbacks = []
        for cb in self.watched:
            saved = {k: _json_value(getattr(cb, k)) for k in _CALLBACK_STATE if hasattr(cb, k)}
            if getattr(cb, "best_weights", None) is not None:
                saved["best_weights_file"] = self._save_weight_list(cb.best_weights, epoch)
            callbacks.append(saved)
        state = {"epoch": epoch, "checkpoint": name, "history": self.history, "callbacks": callbacks,
                 "stop_training": bool(self.model.stop_training)}
        _atomic_write_text(self.run_dir / STATE_FILE, json.dumps(state, indent=1))
        self._prune(keep_names={name, *(c.get("best_weights_file") for c in callbacks)})

    def _prune(self, keep_names):
        for pattern in ("ckpt-*.weights.h5", "best-*.npz"):
            files = sorted(self.run_dir.glob(pattern))
            for path in files[: -self.keep]:
                if path.name not in keep_names:
                    path.unlink(missing_ok=True)


def _write_logs(run_dir: Path, history: list) -> None:
    """``log.csv`` and ``history.json``: one row per epoch."""
    _write_csv(run_dir / "log.csv", history)
    _atomic_write_text(run_dir / "history.json", json.dumps(history, indent=1))


def _write_csv(path: Path, history: list) -> None:
    keys = sorted({k for row in history for k in row if k != "epoch"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *keys])
    writer.writeheader()
    for row in history:
        writer.writerow({k: row.get(k, "") for k in ["epoch", *keys]})
    _atomic_write_text(path, buffer.getvalue())


# --------------------------------------------------------------------------- fit
def _finish_interrupted(model, run_dir: Path, state: dict, callbacks) -> None:
    watched = [cb for cb in callbacks if any(hasattr(cb, k) for k in _CALLBACK_STATE)]
    for cb, saved in zip(watched, state.get("callbacks", [])):
        if getattr(cb, "restore_best_weights", False) and "best_weights_file" in saved:
            data = np.load(run_dir / saved["best_weights_file"])
            model.set_weights([data[f"w{i}"] for i in range(len(data.files))])
    _atomic_save_weights(model, run_dir / FINAL_WEIGHTS)
    _write_logs(run_dir, state["history"])
    _atomic_write_text(run_dir / STATE_FILE, json.dumps({**state, "finished": True}, indent=1))


def _count_batches(dataset) -> int:
    steps = int(dataset.cardinality())
    return steps if steps >= 0 else sum(1 for _ in dataset)


def fit(model: keras.Model, train_data: Callable, *, epochs: int, run_dir: Union[str, Path],
        validation_data=None, callbacks: Sequence = (), seed: int = 0, verbose="auto",
        class_weight: Optional[dict] = None) -> dict:
    """Fit a compiled model, checkpointing every epoch and resuming from ``run_dir``.

    Args:
        train_data: ``epoch -> tf.data.Dataset`` (the data order of an epoch must depend
            only on the epoch and the seed), or a ``tf.data.Dataset`` used for every
            epoch (then resumption is exact only if it does not reshuffle).
        run_dir: checkpoint folder; a run found there is resumed from its last complete
            epoch; a finished run returns its history without training.
        callbacks: Keras callbacks (EarlyStopping, ReduceLROnPlateau, ... ).

    Returns:
        dict with ``history`` (one row per epoch), ``resumed_from`` (epoch or None),
        ``stopped_early`` and ``epochs_run``.
    """
    import tensorflow as tf

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(run_dir)
    start, history = 0, []
    if state is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(run_dir / state["checkpoint"])
        start, history = state["epoch"] + 1, list(state["history"])
        if state.get("finished"):
            model.load_weights(run_dir / FINAL_WEIGHTS)
            return {"history": history, "resumed_from": state["epoch"], "epochs_run": 0,
                    "stopped_early": bool(state.get("stop_training"))}
        if state.get("stop_training") or start >= epochs:
            # Killed after the last epoch's checkpoint but before the run was closed.
            _finish_interrupted(model, run_dir, state, callbacks)
            return {"history": history, "resumed_from": state["epoch"], "epochs_run": 0,
                    "stopped_early": bool(state.get("stop_training"))}

    if callable(train_data) and not isinstance(train_data, tf.data.Dataset):
        # One stream whose epoch e is train_data(e): the same batches as an uninterrupted run.
        # train_data receives the epoch as a scalar int64 tensor (it runs inside flat_map).
        steps = _count_batches(train_data(tf.constant(start, tf.int64)))
        # do_not_convert: the factory is plain Python (feature tables, numpy); AutoGraph
        # rewriting it from source would be slow and fragile.
        stream = tf.data.Dataset.range(start, epochs).flat_map(tf.autograph.experimental.do_not_convert(train_data))
    else:
        stream, steps = train_data, None

    watched = [cb for cb in callbacks if any(hasattr(cb, k) for k in _CALLBACK_STATE)]
    checkpoint = _Checkpoint(run_dir, watched, history, state)
    all_callbacks = [_Reseed(seed), *callbacks, checkpoint]
    keras.utils.set_random_seed(seed + start)
    model.fit(stream, epochs=epochs, initial_epoch=start, steps_per_epoch=steps,
              validation_data=validation_data, callbacks=all_callbacks, verbose=verbose,
              class_weight=class_weight, shuffle=False)  # the datasets shuffle per (seed, epoch)
    _write_logs(run_dir, history)
    # The final weights (after EarlyStopping's restore_best_weights) and the finished flag.
    _atomic_save_weights(model, run_dir / FINAL_WEIGHTS)
    final_state = {**(read_state(run_dir) or {"epoch": start - 1, "history": history}), "finished": True}
    _atomic_write_text(run_dir / STATE_FILE, json.dumps(final_state, indent=1))
    return {"history": history, "resumed_from": None if state is None else state["epoch"],
            "epochs_run": len(history) - (0 if state is None else state["epoch"] + 1),
            "stopped_early": bool(model.stop_training)}
