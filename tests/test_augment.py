"""SpecAugment masks on training batches: where they fall, and that an epoch's masks repeat."""
import numpy as np
import pytest

from zoo import augment

tf = pytest.importorskip("tensorflow")


def batches(x):
    return tf.data.Dataset.from_tensors(({"fbank": x}, np.zeros(len(x), np.int32)))


def masked(x, config, seed=0, epoch=0):
    (features, _), = list(augment.apply(batches(x), ["fbank"], config, seed=seed, epoch=epoch))
    return features["fbank"].numpy()


def test_masks_stay_inside_each_utterance_and_within_their_widths():
    x = np.ones((4, 40, 10), np.float32)
    x[1, 20:] = 0.0  # a 20-frame utterance padded to 40
    config = augment.SpecAugment(time_masks=1, time_width=0.25, freq_masks=1, freq_width=3)
    y = masked(x, config, seed=3)
    for b, length in enumerate([40, 20, 40, 40]):
        dead_frames = np.flatnonzero((y[b, :length] == 0).all(axis=1))
        assert len(dead_frames) <= int(0.25 * length)  # at most time_width of the TRUE length
        dead_bands = np.flatnonzero((y[b, :length] == 0).all(axis=0))
        assert len(dead_bands) <= 3
    assert (y[1, 20:] == 0).all()  # padding stays padding
    assert (y == 0).sum() > (x == 0).sum()  # something was masked


def test_same_seed_and_epoch_same_masks_other_epoch_other_masks():
    x = np.random.default_rng(0).normal(size=(8, 30, 12)).astype(np.float32)
    config = augment.SpecAugment()
    np.testing.assert_array_equal(masked(x, config, 1, 2), masked(x, config, 1, 2))
    assert not np.array_equal(masked(x, config, 1, 2), masked(x, config, 1, 3))


def test_labels_and_other_inputs_pass_through():
    x = np.ones((2, 10, 4), np.float32)
    ds = tf.data.Dataset.from_tensors(({"fbank": x, "text": np.ones((2, 5), np.int32)}, np.array([1, 0])))
    (features, labels), = list(augment.apply(ds, ["fbank"], augment.SpecAugment(), seed=0, epoch=0))
    assert labels.numpy().tolist() == [1, 0] and (features["text"].numpy() == 1).all()
