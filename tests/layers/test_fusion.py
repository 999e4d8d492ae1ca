"""SoftmaxWeightedFusion (ParallelNet Eq. 2): O = Σ_k softmax(w)_k O_k with learned w."""
import numpy as np
import pytest
import keras

from zoo.layers import SoftmaxWeightedFusion


def _softmax(w):
    e = np.exp(w - np.max(w))
    return e / e.sum()


def _layer_on(k=3, shape=(5,), seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    layer = SoftmaxWeightedFusion(**kwargs)
    xs = [rng.normal(size=(2, *shape)).astype("float32") for _ in range(k)]
    return layer, xs, np.asarray(layer(xs))


def test_output_is_softmax_weighted_sum():
    layer, xs, out = _layer_on()
    layer.w.assign(np.array([0.3, -1.2, 2.0], dtype="float32"))
    a = _softmax(np.array([0.3, -1.2, 2.0]))
    expected = a[0] * xs[0] + a[1] * xs[1] + a[2] * xs[2]
    np.testing.assert_allclose(np.asarray(layer(xs)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.fusion_weights, a, rtol=1e-6)
    assert out.shape == (2, 5)


def test_weights_random_init_nonnegative_sum_to_one():
    layer, _, _ = _layer_on(k=4, seed=1)
    w = np.asarray(layer.w)
    assert w.shape == (4,) and np.ptp(w) > 0  # randomly initialised, not all equal
    fw = layer.fusion_weights
    assert np.all(fw > 0) and fw.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(fw, _softmax(w.astype(np.float64)))


def test_weights_are_learned():
    layer = SoftmaxWeightedFusion(weights_initializer="zeros")
    a, b = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([a, b], layer([a, b]))
    x = np.ones((32, 3), "float32")
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    # target equals the first input: w must move towards input 0
    model.fit([x, 0 * x], x, epochs=3, verbose=0)
    fw = layer.fusion_weights
    assert fw[0] > 0.6 > fw[1]


def test_serialisation_round_trip(tmp_path):
    a, b = keras.Input((4,)), keras.Input((4,))
    model = keras.Model([a, b], SoftmaxWeightedFusion(weights_initializer="random_uniform", name="fuse")([a, b]))
    model.get_layer("fuse").w.assign([1.5, -0.5])
    path = tmp_path / "fusion.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("fuse")
    assert isinstance(layer, SoftmaxWeightedFusion)
    np.testing.assert_allclose(layer.fusion_weights, _softmax(np.array([1.5, -0.5])), rtol=1e-6)
    cfg = layer.get_config()
    assert cfg["weights_initializer"]["class_name"] == "RandomUniform"
    x = [np.ones((2, 4), "float32"), np.zeros((2, 4), "float32")]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match="at least two"):
        SoftmaxWeightedFusion()([np.ones((1, 2), "float32")])
    with pytest.raises(ValueError, match="same shape"):
        SoftmaxWeightedFusion()([np.ones((1, 2), "float32"), np.ones((1, 3), "float32")])
    with pytest.raises(ValueError, match="not built"):
        _ = SoftmaxWeightedFusion().fusion_weights


def test_mixed_precision_output_dtype():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = SoftmaxWeightedFusion()
        a = keras.Input((3,))
        out = layer([a, a])
        assert out.dtype == "float16" and layer.w.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --- ModalityDropout (ModDrop-style, ours for ParallelNet) -----------------------------------

from zoo.layers import ModalityDropout  # noqa: E402


def _groups_input(batch=4000):
    ones = [np.ones((batch, 3), "float32"), 2 * np.ones((batch, 2), "float32"), 3 * np.ones((batch, 3), "float32")]
    return ones


def test_modality_dropout_is_identity_at_inference():
    layer = ModalityDropout(0.9, groups=(0, 0, 1), seed=1)
    xs = _groups_input(8)
    for out, x in zip(layer(xs), xs):
        np.testing.assert_array_equal(np.asarray(out), x)
    for out, x in zip(layer(xs, training=False), xs):
        np.testing.assert_array_equal(np.asarray(out), x)


def test_modality_dropout_drops_one_whole_modality_per_example():
    rate = 0.6
    layer = ModalityDropout(rate, groups=(0, 0, 1), seed=3)
    xs = _groups_input()
    outs = [np.asarray(o) for o in layer(xs, training=True)]
    kept = [np.all(o != 0, axis=1) for o in outs]  # per example, per input: kept whole or zeroed whole
    for o, k in zip(outs, kept):
        assert np.all(k | np.all(o == 0, axis=1))
    np.testing.assert_array_equal(kept[0], kept[1])  # the tensors of one modality go together
    assert not np.any(~kept[0] & ~kept[2])  # never both modalities of one example
    dropped = ~(kept[0] & kept[2])
    assert dropped.mean() == pytest.approx(rate, abs=0.03)  # one modality with probability rate ...
    assert (~kept[0]).mean() == pytest.approx(rate / 2, abs=0.03)  # ... each modality alike
    np.testing.assert_array_equal(outs[1][kept[1]], 2.0)  # kept values are not rescaled


def test_modality_dropout_checks_its_arguments():
    with pytest.raises(ValueError, match="rate"):
        ModalityDropout(1.0, groups=(0, 1))
    with pytest.raises(ValueError, match="groups"):
        ModalityDropout(0.5, groups=(0, 0))
    with pytest.raises(ValueError, match="inputs"):
        ModalityDropout(0.5, groups=(0, 1))(_groups_input(2), training=True)


def test_modality_dropout_serialisation_round_trip(tmp_path):
    a, b = keras.Input((3,)), keras.Input((3,))
    out = ModalityDropout(0.25, groups=(0, 1), seed=5, name="moddrop")([a, b])
    model = keras.Model([a, b], keras.layers.Add()(out))
    path = tmp_path / "moddrop.keras"
    model.save(path)
    layer = keras.saving.load_model(path).get_layer("moddrop")
    assert isinstance(layer, ModalityDropout)
    assert (layer.rate, layer.groups, layer.seed) == (0.25, (0, 1), 5)
