"""Fault injection for zoo.train.fit: a kill at every point of checkpoint writing, damaged files.

One uninterrupted run of a tiny model is recorded; at each file-system event of its
checkpoint writing (every atomic rename and every pruning delete) a copy of the run folder
is taken as a ``kill -9`` at that moment would leave it: the temporary file being written
cut at a random length, nothing cleaned up. Each copy is then resumed and must end with the
uninterrupted run's exact weights and history, having resumed from the newest epoch that
was committed. Damaged copies (newest files truncated, bit-flipped or deleted at random)
must resume from the newest epoch whose files are all intact, or raise ResumeError naming
the folder and leave it untouched; none may train from a damaged state.

A sample runs in the default suite; ``-m slow`` runs every kill point, many more damage cases
and real ``SIGKILL`` s of a training subprocess at random moments.
"""
import errno
import json
import os
import pathlib
import random
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from zoo import io as zio
from zoo import train

EPOCHS = 4
SEED = 3
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _data_factory():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def data(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(32), seed=tf.stack([tf.constant(7, tf.int64), tf.cast(epoch, tf.int64)]))
        return tf.data.Dataset.from_tensor_slices(order).batch(8).map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
    return data


_TINY = {}


def _model():
    """The tiny model, as freshly built and compiled: one compiled model is reused (its train
    function traced once), every variable (model and optimizer) reset to its initial value."""
    import keras

    if "model" not in _TINY:
        keras.utils.set_random_seed(1)
        inputs = keras.Input((4,), name="x")
        h = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
        h = keras.layers.Dropout(0.25, name="drop")(h)
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(h), name="tiny")
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        model.optimizer.build(model.trainable_variables)
        _TINY["model"] = model
        _TINY["initial"] = [v.numpy() for v in model.variables + model.optimizer.variables]
    model = _TINY["model"]
    for variable, value in zip(model.variables + model.optimizer.variables, _TINY["initial"]):
        variable.assign(value)
    model.stop_training = False
    return model


def _callbacks():
    import keras

    # Both kinds of callback state: counters (ReduceLROnPlateau) and best weights (best-<e>.npz).
    return [keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, monitor="loss"),
            keras.callbacks.EarlyStopping(monitor="loss", patience=50, restore_best_weights=True)]


def _fit(run_dir, quiet=True):
    model = _model()
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", train.ResumeWarning)
        out = train.fit(model, _data_factory(), epochs=EPOCHS, run_dir=run_dir, callbacks=_callbacks(),
                        seed=SEED, verbose=0)
    return np.concatenate([w.ravel() for w in model.get_weights()]), out


def _files(folder):
    return {p.name: zio.sha256(p) for p in pathlib.Path(folder).iterdir()}


class Recording:
    """The uninterrupted run, and the run folder as a kill at each write event would leave it."""

    def __init__(self, base, monkeypatch):
        self.run = base / "run"
        self.images, self.epoch_ends = [], []  # (folder, committed epoch or None, finished)
        self.committed, self.finished = None, False
        self.rng = random.Random(0)
        real_commit, real_unlink = zio._commit, pathlib.Path.unlink
        recording = self

        def commit(tmp, path, sync_dir):
            if path.parent == recording.run:
                recording.snapshot(f"before-rename-{path.name}", partial=tmp.name)
            real_commit(tmp, path, sync_dir)
            if path.parent == recording.run:
                if path.name.startswith("state-"):
                    recording.committed = int(path.name[6:10])
                if path.name == train.STATE_FILE:
                    recording.finished = bool(json.loads(path.read_text()).get("finished"))
                    recording.epoch_ends.append((recording.copy(f"after-{len(recording.epoch_ends)}-state"),
                                                 recording.committed, recording.finished))

        def unlink(self, missing_ok=False):
            if self.parent == recording.run and self.exists() and not zio.is_temporary(self.name):
                recording.snapshot(f"before-delete-{self.name}")
            return real_unlink(self, missing_ok=missing_ok)

        monkeypatch.setattr(zio, "_commit", commit)
        monkeypatch.setattr(pathlib.Path, "unlink", unlink)
        self.weights, self.out = _fit(self.run)
        monkeypatch.undo()
        self.images.append((self.copy("finished"), self.committed, True))

    def copy(self, label):
        target = self.run.parent / "images" / f"{len(self.images) + len(self.epoch_ends):03d}-{label}"
        shutil.copytree(self.run, target)
        return target

    def snapshot(self, label, partial=None):
        image = self.copy(label)
        if partial is not None:  # killed while writing it: a random prefix reached the disk
            data = (image / partial).read_bytes()
            (image / partial).write_bytes(data[: self.rng.randrange(len(data) + 1)])
        self.images.append((image, self.committed, self.finished))


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return Recording(tmp_path_factory.mktemp("faults"), monkeypatch)


def _check_resumed(recording, run, expected_epoch, finished):
    weights, out = _fit(run)
    np.testing.assert_array_equal(weights, recording.weights)
    assert out["resumed_from"] == expected_epoch
    if finished:
        assert out["epochs_run"] == 0
    history = out["history"]
    assert [row["epoch"] for row in history] == list(range(EPOCHS))
    assert [r["loss"] for r in history] == [r["loss"] for r in recording.out["history"]]
    names = os.listdir(run)
    assert not [n for n in names if n.startswith(".")], names
    assert len([n for n in names if n.startswith("ckpt-")]) <= train.KEEP
    assert train.read_state(run)["finished"]


def _resume_kill_images(recording, tmp_path, images):
    for k, (image, committed, finished) in enumerate(images):
        run = tmp_path / f"run{k}"
        shutil.copytree(image, run)
        expected = EPOCHS - 1 if finished else committed
        try:
            _check_resumed(recording, run, expected, finished)
        except AssertionError as error:
            raise AssertionError(f"kill image {image.name}: {error}") from error


def test_kill_at_sampled_points_of_checkpoint_writing(recording, tmp_path):
    images = recording.images
    assert len(images) >= 20  # a rename per file per epoch, pruning deletes, the final files
    sample = random.Random(1).sample(images[1:-1], 8) + [images[0], images[-1]]
    _resume_kill_images(recording, tmp_path, sorted(sample, key=lambda i: i[0].name))


@pytest.mark.slow
def test_kill_at_every_point_of_checkpoint_writing(recording, tmp_path):
    _resume_kill_images(recording, tmp_path, recording.images)


# ----------------------------------------------------------------------------- damage
def _damage(path, rng):
    kind = rng.choice(["truncate", "flip", "delete"])
    data = bytearray(path.read_bytes())
    if kind == "delete" or not data:
        path.unlink()
        return "delete"
    if kind == "truncate":
        path.write_bytes(bytes(data[: rng.randrange(len(data))]))
    else:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
    return kind


def _expected_resume(before, run, damaged):
    """What fit must do with a damaged folder: ("resume", epoch) / ("fresh", None) / ("error", None)."""
    present = set(os.listdir(run))

    def intact(name):
        return name in before and name not in damaged

    main = json.loads(before[train.STATE_FILE + ":text"])
    if main.get("finished") and intact(train.STATE_FILE) and intact(train.FINAL_WEIGHTS):
        return "resume", main["epoch"]  # a finished run needs only its final weights
    usable = []
    for name in before:
        if name.startswith("ckpt-") and name.endswith(".weights.h5"):
            e = int(name[5:9])
            files_ok = intact(name) and (f"best-{e:04d}.npz" not in before or intact(f"best-{e:04d}.npz"))
            state_ok = intact(f"state-{e:04d}.json") or (intact(train.STATE_FILE) and main.get("epoch") == e)
            if files_ok and state_ok:
                usable.append(e)
    if usable:
        return "resume", max(usable)
    if not any(n.startswith("state") for n in present) and train.FINAL_WEIGHTS not in present and not any(
            n[:5] in ("ckpt-", "best-") and int(n[5:9]) > 0 for n in present):
        return "fresh", None
    return "error", None


def _damage_cases(recording, tmp_path, cases, seed):
    rng = random.Random(seed)
    bases = recording.epoch_ends + [recording.images[-1]]
    outcomes = []
    for k in range(cases):
        image, epoch, finished = rng.choice(bases)
        run = tmp_path / f"damaged{k}"
        shutil.copytree(image, run)
        before = _files(run)
        before[train.STATE_FILE + ":text"] = (run / train.STATE_FILE).read_text()
        newest = [f"ckpt-{epoch:04d}.weights.h5", f"best-{epoch:04d}.npz", f"state-{epoch:04d}.json",
                  train.STATE_FILE] + ([train.FINAL_WEIGHTS] if finished else [])
        targets = rng.sample(newest, rng.choice([1, 1, 2, 3]))
        if epoch > 0 and rng.random() < 0.3:  # the older epoch too
            targets.append(rng.choice([f"ckpt-{epoch - 1:04d}.weights.h5", f"best-{epoch - 1:04d}.npz",
                                       f"state-{epoch - 1:04d}.json"]))
        damaged = {name: _damage(run / name, rng) for name in targets}
        what, expected = _expected_resume(before, run, damaged)
        label = f"case {k}: {image.name}, damaged {damaged}, expected {what} {expected}"
        try:
            if what == "error":
                files = _files(run)
                with pytest.raises(train.ResumeError) as info:
                    _fit(run)
                assert str(run) in str(info.value)
                assert _files(run) == files  # nothing deleted, nothing trained
            else:
                _check_resumed(recording, run, expected, False)
        except (AssertionError, pytest.fail.Exception) as error:
            raise AssertionError(f"{label}: {error}") from error
        outcomes.append(what)
    return outcomes


def test_damaged_newest_files(recording, tmp_path):
    outcomes = _damage_cases(recording, tmp_path, 14, seed=0)
    assert {"resume", "error"} <= set(outcomes)  # the sample covers both outcomes


@pytest.mark.slow
def test_damaged_files_sweep(recording, tmp_path):
    outcomes = _damage_cases(recording, tmp_path, 80, seed=1)
    assert {"resume", "error"} <= set(outcomes)


def test_a_write_failing_part_way_raises_and_the_run_resumes(recording, tmp_path, monkeypatch):
    """A full disk during some write (fsync reports ENOSPC): fit raises, leaves no partial file,
    and the next fit (disk freed) ends exactly like the uninterrupted run."""
    real_fsync = os.fsync
    for k, fail_at in enumerate(random.Random(2).sample(range(1, 20), 2)):
        calls = []

        def fsync(fd):
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # folder fsyncs are best effort
                return real_fsync(fd)
            calls.append(fd)
            if len(calls) == fail_at:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)

        run = tmp_path / f"full{k}"
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="No space left"):
            _fit(run)
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert not [n for n in os.listdir(run) if n.startswith(".")]
        state = train.read_state(run)
        _check_resumed(recording, run, None if state is None else state["epoch"], False)


def test_no_verified_checkpoint_is_a_clear_error(recording, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(recording.epoch_ends[0][0], run)  # after epoch 0: one epoch, nothing older
    (run / "ckpt-0000.weights.h5").write_bytes((run / "ckpt-0000.weights.h5").read_bytes()[:100])
    with pytest.raises(train.ResumeError, match=f"{run}.*ckpt-0000.weights.h5 is .* bytes"):
        train.read_state(run)
    # every state file unreadable: still the folder and each file's problem
    shutil.rmtree(run)
    shutil.copytree(recording.epoch_ends[0][0], run)
    for name in ("state.json", "state-0000.json"):
        (run / name).write_text((run / name).read_text()[:-20])
    with pytest.raises(train.ResumeError, match=f"{run}.*state.json: not valid JSON"):
        _fit(run)


def test_valid_json_with_a_changed_value_is_rejected(recording, tmp_path):
    """A state file that still parses but whose content changed (a flipped digit) is not used."""
    image = next(i for i, epoch, finished in recording.epoch_ends if epoch == 2 and not finished)
    run = tmp_path / "run"
    shutil.copytree(image, run)
    state = json.loads((run / "state.json").read_text())
    state["history"][0]["loss"] += 1.0  # valid JSON, the seal left as it was
    (run / "state.json").write_text(json.dumps(state))
    with pytest.warns(train.ResumeWarning, match="state.json: content does not match its sha256"):
        weights, out = _fit(run, quiet=False)  # from state-0002.json: the history is the intact one
    assert out["resumed_from"] == 2
    np.testing.assert_array_equal(weights, recording.weights)
    assert [r["loss"] for r in out["history"]] == [r["loss"] for r in recording.out["history"]]


def test_lost_state_files(recording, tmp_path):
    """No state file at all: after epoch 0 that is a fresh start (nothing was committed but an
    epoch-0 checkpoint); with later checkpoints present it is an error (they were deleted)."""
    for epoch, fresh in ((0, True), (2, False)):
        image = next(i for i, e, finished in recording.epoch_ends if e == epoch and not finished)
        run = tmp_path / f"run{epoch}"
        shutil.copytree(image, run)
        for path in run.glob("state*.json"):
            path.unlink()
        if fresh:
            assert train.read_state(run) is None
        else:
            with pytest.raises(train.ResumeError, match=f"{run}: .*no state file, but .*ckpt-0001"):
                train.read_state(run)


def test_run_folder_of_an_earlier_zoo_resumes(recording, tmp_path):
    """state.json without checksums (no per-epoch states): its files must at least open."""
    image = next(i for i, epoch, finished in recording.epoch_ends if epoch == 1 and not finished)
    run = tmp_path / "run"
    shutil.copytree(image, run)
    state = json.loads((run / "state-0001.json").read_text())
    legacy = {k: v for k, v in state.items() if k not in ("format", "state_sha256", "files")}
    for path in run.glob("state*.json"):
        path.unlink()
    (run / "state.json").write_text(json.dumps(legacy, indent=1))
    (run / ".ckpt-0002.weights.h5.tmp.weights.h5").write_bytes(b"killed while saving")  # old temporary name
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    _check_resumed(recording, run, 1, False)
    (broken / "ckpt-0001.weights.h5").write_bytes((broken / "ckpt-0001.weights.h5").read_bytes()[:-300])
    (broken / "ckpt-0000.weights.h5").unlink()
    with pytest.raises(train.ResumeError, match="ckpt-0001.weights.h5 is unreadable"):
        train.read_state(broken)


def test_orphan_first_checkpoint_starts_afresh(recording, tmp_path):
    """Killed after epoch 0's checkpoint but before its state: no epoch was committed."""
    image = next(i for i, committed, _ in recording.images if i.name.endswith("before-rename-state-0000.json"))
    run = tmp_path / "run"
    shutil.copytree(image, run)
    assert "ckpt-0000.weights.h5" in os.listdir(run) and train.read_state(run) is None
    _check_resumed(recording, run, None, False)


# ----------------------------------------------------------------------------- real SIGKILL
CHILD = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from tests import test_resume_faults as t
    from zoo import io as zio
    real = zio._commit
    def slow_commit(tmp, path, sync_dir):  # widen the writing window the parent's kill aims at
        time.sleep(0.02)
        real(tmp, path, sync_dir)
    zio._commit = slow_commit
    import keras
    class Started(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            print("STARTED", flush=True)
    callbacks = t._callbacks
    t._callbacks = lambda: callbacks() + [Started()]
    weights, out = t._fit(sys.argv[1])
    import numpy as np
    np.save(sys.argv[1] + ".npy", weights)
    print("RESUMED_FROM", out["resumed_from"], flush=True)
''')


@pytest.mark.slow
def test_sigkill_at_random_moments(recording, tmp_path):
    rng = random.Random(3)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    left = []
    for k in range(4):
        run = tmp_path / f"killed{k}"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(run), str(ROOT)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        for line in child.stdout:
            if line.startswith("STARTED"):
                break
        time.sleep(rng.uniform(0.0, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=300)
        state = train.read_state(run)
        left.append("fresh" if state is None else "finished" if state.get("finished") else state["epoch"])
        final = subprocess.run([sys.executable, "-c", CHILD, str(run), str(ROOT)], capture_output=True, text=True,
                               env=env, cwd=ROOT, timeout=300)
        assert final.returncode == 0, final.stderr[-2000:]
        np.testing.assert_array_equal(np.load(str(run) + ".npy"), recording.weights)
        assert not [n for n in os.listdir(run) if n.startswith(".")]
    assert any(x != "finished" for x in left), left  # some kills landed during training
