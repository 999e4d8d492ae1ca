"""LengthMask: the Keras mask t < length, whatever the frames hold (all-zero frames included)."""
import keras
import numpy as np

from zoo.layers import LENGTH_SUFFIX, LengthMask, length_input_name, sequence_input


def test_mask_is_t_below_length_and_ignores_content():
    x = np.zeros((3, 5, 2), "float32")  # all zero: Masking(0.0) would mask every step
    x[1, 4] = 7.0  # content beyond the length: still masked
    layer = LengthMask()
    lengths = np.array([2, 3, 9], "int32")
    mask = np.asarray(layer.compute_mask([x, lengths]))
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    np.testing.assert_array_equal(np.asarray(layer([x, lengths])), x)  # the values pass unchanged
    ids = np.ones((2, 4), "int32")  # rank 2 (token ids) works too
    np.testing.assert_array_equal(np.asarray(layer.compute_mask([ids, np.array([1, 4])])), [[1, 0, 0, 0], [1, 1, 1, 1]])


def test_a_gru_after_it_keeps_zero_frames_and_stops_at_the_length():
    keras.utils.set_random_seed(0)
    (x_in, n_in), masked = sequence_input((None, 3), "seq")
    assert [x_in.name, n_in.name] == ["seq", length_input_name("seq")] == ["seq", "seq" + LENGTH_SUFFIX]
    model = keras.Model([x_in, n_in], keras.layers.GRU(4)(masked))
    x = np.random.default_rng(0).normal(size=(1, 6, 3)).astype("float32")
    x[0, 1:3] = 0.0  # digital silence inside the utterance
    full = np.asarray(model([x, np.array([4], "int32")]))
    same = np.asarray(model([x[:, :4], np.array([4], "int32")]))  # steps 4, 5 never reached the state
    np.testing.assert_allclose(full, same, rtol=1e-6)
    cut = np.asarray(model([np.delete(x, [1, 2], axis=1)[:, :2], np.array([2], "int32")]))
    assert np.abs(full - cut).max() > 1e-4  # the zero frames were steps of the GRU
    (plain,), old = sequence_input((None, 3), "old", lengths=False)
    assert isinstance(old._keras_history.operation, keras.layers.Masking)


def test_round_trips_through_a_keras_file(tmp_path):
    (x_in, n_in), masked = sequence_input((None, 2), "seq")
    model = keras.Model([x_in, n_in], keras.layers.GlobalAveragePooling1D()(masked))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.arange(8, dtype="float32").reshape(1, 4, 2)
    np.testing.assert_allclose(np.asarray(loaded([x, np.array([2], "int32")])), [[1.0, 2.0]])  # mean of 2 steps
