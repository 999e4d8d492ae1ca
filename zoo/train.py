"""Training with paper recipes (compiled by :func:`zoo.recipe.compile_model`): fit with
checkpoints every epoch, and resume after any interruption (``kill -9`` included) or damage.

Resumption is exact: a run killed at any moment and started again with the same command
ends with the same weights as an uninterrupted run. What makes that hold:

- At the end of epoch ``e`` the run folder gets, each written to a temporary file and
  renamed into place (:mod:`zoo.io`), ``ckpt-<e>.weights.h5`` (``model.save_weights``:
  model AND optimizer variables), ``best-<e>.npz`` (EarlyStopping's best weights, when it
  keeps them), then ``state-<e>.json`` (epoch, history, each epoch's training seconds,
  callback state, and the sha256 and size of those files) and a copy of it as ``state.json``. The state file is the commit
  point: an epoch without one never happened. The files of the last two epochs are kept.
- Every state file carries the sha256 of its own content, and resuming verifies every file
  a state names before anything is loaded. The newest state that verifies wins, so a
  truncated, missing or bit-flipped newest checkpoint or state costs one epoch, not the run
  (a :class:`ResumeWarning` says what was skipped). When nothing verifies, or files were
  lost, :class:`ResumeError` names the run folder and each problem; a folder where no epoch
  was ever committed (no state file, at most an epoch-0 checkpoint of a run killed before its
  state) starts afresh. Temporary files of a killed writer are removed on resume.
- The data order of epoch ``e`` is a function of ``(seed, e)`` alone: ``train_data`` is
  a callable ``epoch -> tf.data.Dataset`` (the pipelines take the epoch as their shuffle
  key), so a resumed run sees the same batches as an uninterrupted one.
- Keras does not save seed-generator states (dropout) with the weights, so every
  ``SeedGenerator`` of the model is re-keyed from ``(seed, epoch)`` at each epoch start.
- The state of EarlyStopping / ReduceLROnPlateau (``wait``, ``best``, ...) is saved and
  restored after Keras resets it in ``on_train_begin``.

Under a ``tf.distribute`` strategy (``fit(..., strategy=...)``, :mod:`zoo.distribute`) the
same holds, with the recipe's batch size as the global batch:

- only the chief (``strategy.extended.should_checkpoint``) writes the run folder; the other
  workers save where the chief saves too (saving runs collective operations, all must take
  part), into a temporary folder of their own that they delete at once;
- every worker resumes from the chief's files (the run folder must be storage they all see);
  one all-reduce checks that they all resume from the same epoch;
- the copies that replicas update on their own (BatchNormalization moving statistics) are
  averaged at every epoch end, before anything reads or saves them;
- a killed worker stops the job (the others' collectives fail within seconds, TensorFlow's
  heartbeat); started again, every worker resumes from the last epoch the chief committed.
"""
from __future__ import annotations

import csv
import io
import json
import re
import time
import warnings
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from zoo import distribute
from zoo import io as zio

STATE_FILE = "state.json"
FINAL_WEIGHTS = "final.weights.h5"
STATE_FORMAT = 2
KEEP = 2  # epochs whose checkpoint files are kept
_CALLBACK_STATE = ("wait", "best", "cooldown_counter", "stopped_epoch", "best_epoch")
_EPOCH_FILE = re.compile(r"^(?:ckpt-(\d+)\.weights\.h5|best-(\d+)\.npz|state-(\d+)\.json)$")


class ResumeError(RuntimeError):
    """A run folder holds training state, but nothing in it verifies (or it belongs to another model)."""


class ResumeWarning(RuntimeWarning):
    """Resuming from an older epoch because the newest files did not verify."""


# Compiling from a recipe lives beside the Recipe (model modules use it too).


# --------------------------------------------------------------------------- files
def _ckpt_name(epoch: int) -> str:
    return f"ckpt-{epoch:04d}.weights.h5"


def _best_name(epoch: int) -> str:
    return f"best-{epoch:04d}.npz"


def _state_name(epoch: int) -> str:
    return f"state-{epoch:04d}.json"


def _file_epoch(name: str) -> Optional[int]:
    match = _EPOCH_FILE.match(name)
    return None if match is None else int(next(g for g in match.groups() if g is not None))


def _record(path: Path) -> dict:
    return {"sha256": zio.sha256(path), "size": path.stat().st_size}


def _save_weights(model: keras.Model, path: Path) -> dict:
    """``model.save_weights`` written atomically; returns the file's sha256 and size."""
    with zio.atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
        record = _record(tmp)
    return record


def _save_weights_and_discard(model: keras.Model) -> None:
    """What a worker that is not the chief does where the chief saves: saving runs collective
    operations under a multi-worker strategy, so every worker must save; it writes to a
    temporary folder of its own, deleted at once (TensorFlow's multi-worker pattern, as in
    Keras' BackupAndRestore)."""
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="zoo-worker-")
    try:
        model.save_weights(str(Path(folder) / "discarded.weights.h5"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _state_digest(state: dict) -> str:
    body = {k: v for k, v in state.items() if k != "state_sha256"}
    return zio.sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def _write_state(run_dir: Path, state: dict, *names: str) -> dict:
    """Seal ``state`` with the sha256 of its content and write it to each of ``names``."""
    state = {**{k: v for k, v in state.items() if k != "state_sha256"}, "format": STATE_FORMAT}
    state["state_sha256"] = _state_digest(state)
    for name in names:
        zio.atomic_write_json(run_dir / name, state)
    return state


def _parse_state(path: Path) -> dict:
    """A state file's content; ``ValueError`` saying why it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"unreadable ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text (corrupt)") from None
    try:
        state = json.loads(text)
    except ValueError as error:
        raise ValueError(f"not valid JSON (truncated or corrupt: {error})") from None
    if not isinstance(state, dict):
        raise ValueError("not a JSON object (corrupt)")
    if "format" in state or "state_sha256" in state:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"state format {state.get('format')!r}, expected {STATE_FORMAT} (corrupt or newer zoo)")
        if state.get("state_sha256") != _state_digest(state):
            raise ValueError("content does not match its sha256 (corrupt)")
    # else: a state written before states were sealed (its checkpoint is checked on load).
    if not isinstance(state.get("epoch"), int) or not isinstance(state.get("history"), list) or (
            "checkpoint" not in state and not state.get("finished")):
        raise ValueError("missing epoch, history or checkpoint (corrupt)")
    return state


def _required_files(state: dict) -> List[str]:
    """What resuming from ``state`` loads: a finished run only its final weights."""
    if state.get("finished"):
        return [FINAL_WEIGHTS]
    return [state["checkpoint"]] + [c["best_weights_file"] for c in state.get("callbacks", [])
                                    if c.get("best_weights_file")]


def _verify(run_dir: Path, state: dict) -> Optional[str]:
    """None when every file ``state`` needs is present and intact, else what is wrong."""
    files = state.get("files")
    for name in _required_files(state):
        path = run_dir / name
        if not path.is_file():
            return f"{name} is missing"
        if files is None:  # unsealed state: no checksums, at least the file must open
            try:
                if name.endswith(".h5"):
                    zio.h5_layout(path, skip=())
                else:
                    with np.load(path) as data:
                        [data[k] for k in data.files]
            except Exception as error:
                return f"{name} is unreadable ({error})"
            continue
        expected = files.get(name)
        if expected is None:
            return f"{name} has no recorded sha256"
        size = path.stat().st_size
        if size != expected["size"]:
            return f"{name} is {size:,} bytes, {expected['size']:,} were written (truncated or replaced)"
        if zio.sha256(path) != expected["sha256"]:
            return f"{name} does not match its recorded sha256 (corrupt)"
    return None


def _state_files(run_dir: Path) -> List[Path]:
    epochs = sorted((p for p in run_dir.glob("state-*.json") if _file_epoch(p.name) is not None),
                    key=lambda p: _file_epoch(p.name), reverse=True)
    main = run_dir / STATE_FILE
    return ([main] if main.exists() else []) + epochs


def _resume_point(run_dir: Path) -> Tuple[Optional[dict], List[str]]:
    """The newest verified state of ``run_dir`` (None: start afresh) and what was skipped."""
    problems, candidates = [], []
    state_files = _state_files(run_dir)
    for path in state_files:
        try:
            state = _parse_state(path)
        except ValueError as error:
            problems.append(f"{path.name}: {error}")
            continue
        candidates.append(state)
        if state.get("finished") and state.get("checkpoint"):
            # Its last epoch without the final file: when only that is damaged, the run is closed again.
            files = {k: v for k, v in state.get("files", {}).items() if k != FINAL_WEIGHTS}
            unfinished = {k: v for k, v in state.items() if k not in ("finished", "state_sha256")}
            candidates.append({**unfinished, **({"files": files} if "files" in state else {})})
    # Newest first; for one epoch the finished state (state.json) before the per-epoch one.
    candidates.sort(key=lambda s: (s["epoch"], bool(s.get("finished"))), reverse=True)
    seen = []
    for state in candidates:
        if state in seen:
            continue
        seen.append(state)
        problem = _verify(run_dir, state)
        if problem is None:
            return state, problems
        label = "finished run" if state.get("finished") else "epoch"
        problems.append(f"{label} {state['epoch']}: {problem}")
    if not state_files:
        leftovers = sorted(p.name for p in run_dir.iterdir()
                           if (_file_epoch(p.name) or 0) > 0 or p.name == FINAL_WEIGHTS)
        if not leftovers:
            return None, problems  # no epoch was ever committed: a fresh start
        problems.append(f"no state file, but {', '.join(leftovers[:4])} exist (state files deleted?)")
    raise ResumeError(f"{run_dir}: cannot resume training, no checkpoint in it verifies: " + "; ".join(problems)
                      + ". Restore the damaged files, or delete the folder to train from scratch.")


def _prune(run_dir: Path, epoch: int, keep: int = KEEP) -> None:
    """Delete the files of epochs up to ``epoch`` but the last ``keep`` (state files first: a
    state never names a deleted file)."""
    old = sorted({e for e in map(_file_epoch, (p.name for p in run_dir.iterdir()))
                  if e is not None and e <= epoch})[: -keep]
    for e in old:
        for name in (_state_name(e), _ckpt_name(e), _best_name(e)):
            (run_dir / name).unlink(missing_ok=True)


def _clean(run_dir: Path, state: Optional[dict]) -> None:
    """Remove a killed writer's temporary files, the files of epochs after ``state`` (they did
    not verify, or were never committed; training writes them again), and finish pruning."""
    zio.remove_temporaries(run_dir)
    for path in run_dir.iterdir():
        if path.name.startswith(".") and ".tmp" in path.name and path.is_file():
            path.unlink(missing_ok=True)  # temporary names of earlier zoo versions
    last = -1 if state is None else state["epoch"]
    for path in run_dir.iterdir():
        epoch = _file_epoch(path.name)
        if epoch is not None and epoch > last:
            path.unlink(missing_ok=True)
    if state is not None:
        _prune(run_dir, last)


def _json_value(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if hasattr(value, "numpy"):
        return np.asarray(value).item()
    return value


def epoch_seconds(state: Optional[dict]) -> List[Optional[float]]:
    """Training seconds of each epoch of ``state``'s history (``epoch_begin`` to ``epoch_end``,
    validation included, checkpoint writing not), in order; None for an epoch whose state
    predates the field (or a gap)."""
    if not state:
        return []
    recorded = list(state.get("epoch_seconds") or [])
    return [recorded[i] if i < len(recorded) else None for i in range(len(state.get("history", [])))]


def mean_epoch_seconds(seconds: Sequence[Optional[float]]) -> Optional[float]:
    """Mean over the epochs whose seconds were recorded; None when none were."""
    known = [s for s in seconds if s is not None]
    return float(np.mean(known)) if known else None


def read_state(run_dir: Union[str, Path]) -> Optional[dict]:
    """The newest complete, verified training state of a run folder, or None when it has none.

    Raises :class:`ResumeError` (naming the folder and each problem) when the folder holds
    state but none of it verifies.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    return _resume_point(run_dir)[0]


def _load(model: keras.Model, run_dir: Path, name: str) -> None:
    try:
        zio.load_weights_strict(model, run_dir / name, f"model {model.name!r}")
    except zio.WeightsError as error:
        raise ResumeError(f"{run_dir}: {name} is intact but does not fit this model ({error}); "
                          f"is this run folder another model's?") from error


def _load_weight_list(path: Path) -> list:
    with np.load(path) as data:
        return [data[f"w{i}"] for i in range(len(data.files))]


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


class _SyncReplicas(keras.callbacks.Callback):
    """Averages the replica copies of BatchNormalization moving statistics at each epoch end
    (:func:`zoo.distribute.sync_replica_copies`), before the user's callbacks (EarlyStopping's
    best weights) and the checkpoint read them. Placed first; every worker runs it."""

    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy

    def on_epoch_end(self, epoch, logs=None):
        distribute.sync_replica_copies(self.model, self.strategy)


class _Checkpoint(keras.callbacks.Callback):
    """Writes weights + optimizer, best weights, then the state files, atomically, every epoch.

    Placed after the user's callbacks so that, on resume, its ``on_train_begin`` runs
    after theirs and restores the state they have just reset. With ``write=False`` (a worker
    that is not the chief) it keeps the history and restores callback state, but writes nothing.
    """

    def __init__(self, run_dir: Path, watched: list, history: list, restore: Optional[dict], keep: int = KEEP,
                 write: bool = True):
        super().__init__()
        self.run_dir, self.watched, self.history = run_dir, watched, history
        self.restore, self.keep, self.write = restore, keep, write
        self.seconds = epoch_seconds(restore)  # one per row of history, the earlier processes' too
        self.last_state: Optional[dict] = None
        self._started: Optional[float] = None

    def on_train_begin(self, logs=None):
        if not self.restore:
            return
        for cb, saved in zip(self.watched, self.restore.get("callbacks", [])):
            for key, value in saved.items():
                if key == "best_weights_file":
                    cb.best_weights = _load_weight_list(self.run_dir / value)
                else:
                    setattr(cb, key, value)

    def _save_weight_list(self, weights, epoch, files: dict) -> str:
        name = _best_name(epoch)
        buffer = io.BytesIO()
        np.savez(buffer, **{f"w{i}": w for i, w in enumerate(weights)})
        data = buffer.getvalue()
        zio.atomic_write_bytes(self.run_dir / name, data)
        files[name] = {"sha256": zio.sha256_bytes(data), "size": len(data)}
        return name

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch, **{k: _json_value(v) for k, v in (logs or {}).items()}})
        self.seconds.append(None if self._started is None else round(time.perf_counter() - self._started, 4))
        if not self.write:
            _save_weights_and_discard(self.model)
            return
        name = _ckpt_name(epoch)
        files = {name: _save_weights(self.model, self.run_dir / name)}
        callbacks = []
        for cb in self.watched:
            saved = {k: _json_value(getattr(cb, k)) for k in _CALLBACK_STATE if hasattr(cb, k)}
            if getattr(cb, "best_weights", None) is not None:
                saved["best_weights_file"] = self._save_weight_list(cb.best_weights, epoch, files)
            callbacks.append(saved)
        state = {"epoch": epoch, "checkpoint": name, "files": files, "history": self.history,
                 "epoch_seconds": self.seconds, "callbacks": callbacks, "stop_training": bool(self.model.stop_training)}
        # state-<e>.json commits the epoch; state.json is its copy under the usual name.
        self.last_state = _write_state(self.run_dir, state, _state_name(epoch), STATE_FILE)
        _prune(self.run_dir, epoch, self.keep)



def _write_logs(run_dir: Path, history: list) -> None:
    """``log.csv`` and ``history.json``: one row per epoch."""
    _write_csv(run_dir / "log.csv", history)
    zio.atomic_write_json(run_dir / "history.json", history)


def _write_csv(path: Path, history: list) -> None:
    keys = sorted({k for row in history for k in row if k != "epoch"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *keys])
    writer.writeheader()
    for row in history:
        writer.writerow({k: row.get(k, "") for k in ["epoch", *keys]})
    zio.atomic_write_text(path, buffer.getvalue())


def _finish(model, run_dir: Path, state: dict, history: list) -> dict:
    """Final weights, logs, then ``state.json`` marked finished (naming the final file's sha256)."""
    files = {**state.get("files", {}), FINAL_WEIGHTS: _save_weights(model, run_dir / FINAL_WEIGHTS)}
    _write_logs(run_dir, history)
    return _write_state(run_dir, {**state, "files": files, "finished": True}, STATE_FILE)


# --------------------------------------------------------------------------- fit
def _finish_interrupted(model, run_dir: Path, state: dict, callbacks, write: bool = True) -> None:
    watched = [cb for cb in callbacks if any(hasattr(cb, k) for k in _CALLBACK_STATE)]
    for cb, saved in zip(watched, state.get("callbacks", [])):
        if getattr(cb, "restore_best_weights", False) and "best_weights_file" in saved:
            model.set_weights(_load_weight_list(run_dir / saved["best_weights_file"]))
    if write:
        _finish(model, run_dir, state, state["history"])
    else:
        _save_weights_and_discard(model)


def _check_same_resume_point(strategy, run_dir: Path, state: Optional[dict]) -> None:
    """Every worker must resume from the same epoch: one all-reduce (sums of the code and of its
    square: equal codes iff their variance is 0). A worker that sees another folder, or none,
    would otherwise train from other weights or hang the job."""
    import tensorflow as tf

    mine = -1 if state is None else 2 * state["epoch"] + int(bool(state.get("finished")))
    value = tf.constant([mine, mine * mine], tf.float64)
    total, squares = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: value), axis=None).numpy()
    n = strategy.num_replicas_in_sync
    if total != n * mine or squares != n * mine * mine:
        where = "none" if mine < 0 else f"epoch {mine // 2}" + (" (finished)" if mine % 2 else "")
        raise ResumeError(f"{run_dir}: the workers do not see the same training state (this one resumes from "
                          f"{where}, the mean over the workers is not that). The run folder must be storage "
                          f"every worker sees (a shared file system), at the same path.")


def _count_batches(dataset) -> int:
    steps = int(dataset.cardinality())
    return steps if steps >= 0 else sum(1 for _ in dataset)


def fit(model: keras.Model, train_data: Callable, *, epochs: int, run_dir: Union[str, Path],
        validation_data=None, callbacks: Sequence = (), seed: int = 0, verbose="auto",
        class_weight: Optional[dict] = None, strategy=None) -> dict:
    """Fit a compiled model, checkpointing every epoch and resuming from ``run_dir``.

    Args:
        train_data: ``epoch -> tf.data.Dataset`` (the data order of an epoch must depend
            only on the epoch and the seed), or a ``tf.data.Dataset`` used for every
            epoch (then resumption is exact only if it does not reshuffle).
        run_dir: checkpoint folder; a run found there is resumed from its newest epoch
            whose files verify; a finished run returns its history without training.
        callbacks: Keras callbacks (EarlyStopping, ReduceLROnPlateau, ... ).
        strategy: a ``tf.distribute.Strategy`` (:func:`zoo.distribute.make_strategy`) that
            ``model`` was built and compiled under (``strategy.scope()``); the batches of
            ``train_data`` are global batches, split across the replicas (and auto-sharded by
            DATA across workers). None: the strategy the model was built under, if any.

    Returns:
        dict with ``history`` (one row per epoch), ``resumed_from`` (epoch or None),
        ``stopped_early``, ``epochs_run`` (by this call), ``epoch_seconds`` (one per row of
        ``history``, the epochs of earlier, resumed processes included; None where a state
        predates the field) and ``seconds_per_epoch`` (their mean; None when none is known).

    Raises:
        ResumeError: ``run_dir`` holds training state but no checkpoint in it verifies,
            or its checkpoint does not fit ``model``.
        ValueError: ``model`` was not built under ``strategy.scope()``.
    """
    if not distribute.is_distributed(strategy):
        built = getattr(model, "_distribute_strategy", None)
        if strategy is not None and distribute.is_distributed(built):
            distribute.check_model(model, strategy)  # built under a strategy, another one passed: the error
        strategy = built if distribute.is_distributed(built) else None
    if strategy is not None:
        distribute.prepare_model(model, strategy)
    with distribute.scope(strategy):
        return _fit(model, train_data, epochs=epochs, run_dir=Path(run_dir), validation_data=validation_data,
                    callbacks=callbacks, seed=seed, verbose=verbose, class_weight=class_weight, strategy=strategy)


def _fit(model, train_data, *, epochs, run_dir: Path, validation_data, callbacks, seed, verbose, class_weight,
         strategy) -> dict:
    import tensorflow as tf

    chief = distribute.is_chief(strategy)
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
    state, skipped = _resume_point(run_dir) if run_dir.is_dir() else (None, [])
    if skipped:
        warnings.warn(f"{run_dir}: resuming from epoch {state['epoch'] if state else None}, skipping what "
                      f"did not verify: " + "; ".join(skipped), ResumeWarning, stacklevel=3)
    if distribute.workers(strategy) > 1:
        _check_same_resume_point(strategy, run_dir, state)
    if chief:
        _clean(run_dir, state)
    start, history = 0, []
    if state is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        start, history = state["epoch"] + 1, list(state["history"])
        stopped = bool(state.get("stop_training"))
        if state.get("finished"):
            _load(model, run_dir, FINAL_WEIGHTS)
            return _result(state, history, state["epoch"], 0, stopped)
        _load(model, run_dir, state["checkpoint"])
        if stopped or start >= epochs:
            # Killed after the last epoch's checkpoint but before the run was closed.
            _finish_interrupted(model, run_dir, state, callbacks, write=chief)
            return _result(state, history, state["epoch"], 0, stopped)

    if callable(train_data) and not isinstance(train_data, tf.data.Dataset):
        # One stream whose epoch e is train_data(e): the same batches as an uninterrupted run.
        # train_data receives the epoch as a scalar int64 tensor (it runs inside flat_map).
        steps = _count_batches(train_data(tf.constant(start, tf.int64)))
        # do_not_convert: the factory is plain Python (feature tables, numpy); AutoGraph
        # rewriting it from source would be slow and fragile.
        stream = tf.data.Dataset.range(start, epochs).flat_map(tf.autograph.experimental.do_not_convert(train_data))
    else:
        stream, steps = train_data, None
    if strategy is not None:  # each worker takes its part of every global batch
        stream, validation_data = distribute.shard_by_data(stream), distribute.shard_by_data(validation_data)

    watched = [cb for cb in callbacks if any(hasattr(cb, k) for k in _CALLBACK_STATE)]
    checkpoint = _Checkpoint(run_dir, watched, history, state, write=chief)
    synced = [_SyncReplicas(strategy)] if strategy is not None else []
    all_callbacks = [_Reseed(seed), *synced, *callbacks, checkpoint]
    keras.utils.set_random_seed(seed + start)
    model.fit(stream, epochs=epochs, initial_epoch=start, steps_per_epoch=steps,
              validation_data=validation_data, callbacks=all_callbacks, verbose=verbose,
              class_weight=class_weight, shuffle=False)  # the datasets shuffle per (seed, epoch)
    # The final weights (after EarlyStopping's restore_best_weights) and the finished flag.
    last = checkpoint.last_state or state or {"epoch": start - 1, "history": history}
    if chief:
        _finish(model, run_dir, last, history)
    else:
        _save_weights_and_discard(model)
    return _result({"history": history, "epoch_seconds": checkpoint.seconds}, history,
                   None if state is None else state["epoch"],
                   len(history) - (0 if state is None else state["epoch"] + 1), bool(model.stop_training))


def _result(state: dict, history: list, resumed_from: Optional[int], epochs_run: int, stopped: bool) -> dict:
    seconds = epoch_seconds(state)
    return {"history": history, "resumed_from": resumed_from, "epochs_run": epochs_run, "stopped_early": stopped,
            "epoch_seconds": seconds, "seconds_per_epoch": mean_epoch_seconds(seconds)}
