"""zoo.train.fit keeps each epoch's training seconds in the run's state, across resumes."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import train

EPOCHS = 4


class _Stop(Exception):
    pass


class _InterruptAt(keras.callbacks.Callback):
    """Raises at the start of ``epoch``: epochs before it are committed, it is not."""

    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise _Stop(epoch)


def _fit(run_dir, callbacks=()):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(1)
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(inp))
    model.compile(keras.optimizers.SGD(1e-2), "sparse_categorical_crossentropy")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    return train.fit(model, data, epochs=EPOCHS, run_dir=run_dir, callbacks=list(callbacks), verbose=0)


def _state(run_dir):
    return json.loads((run_dir / train.STATE_FILE).read_text())


def test_seconds_per_epoch_is_the_mean_over_every_process_of_a_resumed_run(tmp_path):
    with pytest.raises(_Stop):
        _fit(tmp_path, [_InterruptAt(2)])
    first = _state(tmp_path)
    assert first["epoch"] == 1 and len(first["epoch_seconds"]) == 2

    resumed = _fit(tmp_path)
    assert resumed["resumed_from"] == 1 and resumed["epochs_run"] == 2
    recorded = _state(tmp_path)["epoch_seconds"]
    assert len(recorded) == EPOCHS and all(s > 0 for s in recorded)
    assert recorded[:2] == first["epoch_seconds"]  # the first process's epochs are kept, not re-timed
    assert resumed["epoch_seconds"] == recorded
    assert resumed["seconds_per_epoch"] == pytest.approx(np.mean(recorded))  # not the mean of the last 2 only

    done = _fit(tmp_path)  # everything already done: nothing trains, the number stays
    assert done["epochs_run"] == 0
    assert done["seconds_per_epoch"] == pytest.approx(resumed["seconds_per_epoch"])


def test_states_without_epoch_seconds_still_resume(tmp_path):
    with pytest.raises(_Stop):
        _fit(tmp_path, [_InterruptAt(2)])
    # Rewrite every state as a zoo before the field wrote it (sealed again, so it verifies).
    for path in tmp_path.glob("state*.json"):
        state = json.loads(path.read_text())
        del state["epoch_seconds"]
        train._write_state(tmp_path, state, path.name)
    assert train.epoch_seconds(train.read_state(tmp_path)) == [None, None]

    resumed = _fit(tmp_path)
    assert resumed["epochs_run"] == 2
    seconds = resumed["epoch_seconds"]
    assert seconds[:2] == [None, None] and all(s > 0 for s in seconds[2:])
    assert resumed["seconds_per_epoch"] == pytest.approx(np.mean(seconds[2:]))


def test_mean_epoch_seconds_without_any_known():
    assert train.mean_epoch_seconds([None, None]) is None
    assert train.mean_epoch_seconds([]) is None
    assert train.epoch_seconds({"history": [{"epoch": 0}]}) == [None]
