"""Checkpointing and exact resumption of zoo.train.fit, including after kill -9."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

CHILD = textwrap.dedent('''
    import os, sys, signal
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np, keras, tensorflow as tf
    from zoo import train
    run_dir, kill_at, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32"); y = (x[:, 0] > 0).astype("int32")
    def data(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(48), seed=tf.stack([tf.constant(7, tf.int64), tf.cast(epoch, tf.int64)]))
        return tf.data.Dataset.from_tensor_slices(order).batch(8).map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
    keras.utils.set_random_seed(1)
    inp = keras.Input((6,)); h = keras.layers.Dense(16, activation="relu")(inp)
    h = keras.layers.Dropout(0.3)(h); out = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inp, out); model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if where == "batch" and self.epoch == kill_at and batch == 2: os.kill(os.getpid(), signal.SIGKILL)
        def on_epoch_begin(self, epoch, logs=None): self.epoch = epoch
        def on_epoch_end(self, epoch, logs=None):
            if where == "epoch_end" and epoch == kill_at: os.kill(os.getpid(), signal.SIGKILL)
    val = tf.data.Dataset.from_tensor_slices((x[:16], y[:16])).batch(8)
    cbs = [Kill(), keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, monitor="loss")]
    out = train.fit(model, data, epochs=5, run_dir=run_dir, callbacks=cbs, seed=3, verbose=0, validation_data=val)
    np.save(os.path.join(run_dir, "final.npy"), np.concatenate([w.ravel() for w in model.get_weights()]))
    print("RESUMED_FROM", out["resumed_from"])
''')


def _run(run_dir, kill_at=-1, where="none"):
    return subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(kill_at), where],
                          capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(__file__)))


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    clean = _run(tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-2000:]
    reference = np.load(tmp_path / "clean" / "final.npy")

    # Killed in the middle of epoch 2, then at the end of epoch 3 before its checkpoint.
    killed = _run(tmp_path / "killed", kill_at=2, where="batch")
    assert killed.returncode == -9
    state = json.loads((tmp_path / "killed" / "state.json").read_text())
    assert state["epoch"] == 1 and not state.get("finished")
    again = _run(tmp_path / "killed", kill_at=3, where="epoch_end")
    assert again.returncode == -9
    final = _run(tmp_path / "killed")
    assert final.returncode == 0, final.stderr[-2000:]
    assert "RESUMED_FROM 2" in final.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "killed" / "final.npy"), reference)

    history = json.loads((tmp_path / "killed" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [0, 1, 2, 3, 4]
    clean_history = json.loads((tmp_path / "clean" / "history.json").read_text())
    assert [r["loss"] for r in history] == pytest.approx([r["loss"] for r in clean_history], rel=1e-6)
    # No temporary or partial files are left behind; at most two checkpoints are kept.
    names = sorted(p.name for p in (tmp_path / "killed").iterdir())
    assert not [n for n in names if n.startswith(".")], names
    assert len([n for n in names if n.startswith("ckpt-")]) <= 2
    assert len([n for n in names if n.startswith("state-")]) <= 2


def test_finished_run_is_not_trained_again(tmp_path):
    assert _run(tmp_path / "run").returncode == 0
    before = np.load(tmp_path / "run" / "final.npy")
    again = _run(tmp_path / "run")
    assert again.returncode == 0 and "RESUMED_FROM 4" in again.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "final.npy"), before)
