"""GlobalContextAttention (BLSTMATT) and ConvSelfAttention (CSA) against numpy on tiny inputs, and
GlobalContextAttention under mixed_float16 on long sequences against float32."""
import contextlib

import numpy as np
import pytest
import keras

from zoo.layers import ConvSelfAttention, GlobalContextAttention


def _np_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _np_global_context(h, mask, Wh, bh, Wm, bm, w, c):
    """Jalal 2020 Sec. 3.1 written out per utterance with explicit loops over valid steps."""
    contexts, weights = [], []
    for hb, mb in zip(h, mask):
        valid = hb[mb]
        m = valid.mean(axis=0)
        u = np.tanh(valid @ Wh + bh) * np.tanh(m @ Wm + bm)
        e = u @ w + c
        a = _np_softmax(e)
        full = np.zeros(len(hb))
        full[mb] = a
        contexts.append(a @ valid)
        weights.append(full)
    return np.stack(contexts), np.stack(weights)


def test_global_context_attention_matches_numpy_with_mask():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = GlobalContextAttention(units=4)
    layer.build((None, 5, 3))
    params = [rng.normal(size=v.shape).astype("float32") for v in layer.weights]
    layer.set_weights(params)
    context, weights = layer(h, mask=mask)
    ref_context, ref_weights = _np_global_context(h, mask, *params)
    np.testing.assert_allclose(np.asarray(weights), ref_weights, atol=1e-5)
    np.testing.assert_allclose(np.asarray(context), ref_context, atol=1e-5)
    # padded steps get exactly zero weight; valid weights sum to one
    assert np.all(np.asarray(weights)[0, 3:] == 0.0)
    np.testing.assert_allclose(np.asarray(weights).sum(axis=1), 1.0, atol=1e-6)


def test_global_context_mean_uses_only_valid_steps():
    """Changing the values under the mask must not change anything (the mean m is masked too)."""
    rng = np.random.default_rng(1)
    h = rng.normal(size=(1, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0]], bool)
    layer = GlobalContextAttention(units=2)
    c1, a1 = layer(h, mask=mask)
    h2 = h.copy()
    h2[0, 2:] = 100.0
    c2, a2 = layer(h2, mask=mask)
    np.testing.assert_allclose(np.asarray(c1), np.asarray(c2), atol=1e-6)
    np.testing.assert_allclose(np.asarray(a1), np.asarray(a2), atol=1e-6)


def test_global_context_parameter_count_and_config():
    layer = GlobalContextAttention(units=128)
    layer.build((None, None, 1024))
    assert layer.count_params() == 262_529  # 2 * (1024*128 + 128) + 128 + 1
    clone = GlobalContextAttention.from_config(layer.get_config())
    assert clone.units == 128


@contextlib.contextmanager
def _mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _layer(params, shape, units):
    layer = GlobalContextAttention(units=units)
    layer.build(shape)
    layer.set_weights(params)
    return layer


def test_global_context_long_sequence_mixed_float16_matches_float32():
    """T = 3,500 steps of values near 0.9: the float16 context must agree with float32.

    Tolerance 1e-3 absolute (two float16 ulps at 0.9; the float16 output alone rounds by up to
    2.4e-4). Summing the context in float16, as the layer once did, was off by 0.028.
    """
    rng = np.random.default_rng(0)
    T, D = 3500, 8
    h = (0.9 + 0.05 * rng.standard_normal((2, T, D))).astype("float32")
    mask = np.ones((2, T), bool)
    mask[1, 3000:] = False
    shapes = ((D, 4), (4,), (D, 4), (4,), (4,), ())  # step W, b; mean W, b; score w, c
    params = [rng.normal(size=s).astype("float32") for s in shapes]
    c32, a32 = _layer(params, (None, T, D), 4)(h, mask=mask)
    with _mixed_float16():
        c16, a16 = _layer(params, (None, T, D), 4)(h, mask=mask)
    assert c16.dtype == "float16" and a16.dtype == "float32"
    np.testing.assert_allclose(np.asarray(c16, "float32"), np.asarray(c32), atol=1e-3, rtol=0)
    np.testing.assert_allclose(np.asarray(a16), np.asarray(a32), rtol=5e-3, atol=0)
    np.testing.assert_allclose(np.asarray(a16).sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.asarray(a16)[1, 3000:] == 0.0)


def test_global_context_mean_of_long_sequence_is_exact_under_mixed_float16():
    """The gate reads the mean m: with tanh(10 (m - 0.9)) it is ~0 at the true mean 0.9 and the
    weights are uniform. A float16 sum over time (TensorFlow CPU, 3,500 steps, 2 features)
    stalls at 2,048 (m = 0.585), which shut the gate and gave the 0.8-valued steps ~7x the
    weight of the 1.0-valued ones."""
    T = 3500
    h = np.where(np.arange(T) % 2 == 0, 0.8, 1.0).astype("float32")
    h = np.repeat(h.reshape(1, T, 1), 2, axis=2)                                 # (1, T, 2)
    params = [np.full((2, 1), 0.5, "float32"), np.zeros(1, "float32"),         # u_t = tanh(h_t)
              np.full((2, 1), 5.0, "float32"), np.full(1, -9.0, "float32"),    # g = tanh(10 m - 9)
              np.full(1, 20.0, "float32"), np.zeros((), "float32")]            # e_t = 20 u_t g
    ref_context, ref_weights = _np_global_context(h.astype("float64"), np.ones((1, T), bool), *params)
    with _mixed_float16():
        context, weights = _layer(params, (None, T, 2), 1)(h)
    np.testing.assert_allclose(np.asarray(weights), ref_weights, rtol=5e-2)
    np.testing.assert_allclose(np.asarray(context, "float32"), ref_context, atol=1e-3)


def test_conv_self_attention_is_identity_at_init():
    x = np.random.default_rng(2).normal(size=(2, 6, 5, 16)).astype("float32")
    layer = ConvSelfAttention(reduction=8)
    out = layer(x)
    assert float(layer.gamma.numpy()) == 0.0
    np.testing.assert_allclose(np.asarray(out), x, atol=0)


@pytest.mark.parametrize("shape", [(2, 3, 2, 4), (2, 5, 4)])  # 2-D map and 1-D (time) map
def test_conv_self_attention_matches_numpy(shape):
    rng = np.random.default_rng(3)
    y = rng.normal(size=shape).astype("float32")
    layer = ConvSelfAttention(reduction=2)
    layer.build(shape)
    params = {v.name: rng.normal(size=v.shape).astype("float32") * 0.5 for v in layer.weights}
    params["gamma"] = np.array(0.7, "float32")
    layer.set_weights([params[v.name] for v in layer.weights])
    out, scores = layer(y, return_attention_scores=True)

    flat = y.reshape(shape[0], -1, shape[-1])                                  # (B, N, C)
    q = flat @ params["query_kernel"] + params["query_bias"]                   # j(y), C -> C/2
    k = flat @ params["key_kernel"] + params["key_bias"]                       # k(y)
    v = flat @ params["value_kernel"] + params["value_bias"]                   # l(y)
    E = _np_softmax(np.einsum("bic,bjc->bij", q, k), axis=-1)                  # Eq. 3
    A = np.einsum("bij,bjc->bic", E, v)                                        # Eq. 5: l(y)·E
    expected = (flat + 0.7 * A).reshape(shape)                                 # Eq. 1
    assert params["query_kernel"].shape == (shape[-1], shape[-1] // 2)
    np.testing.assert_allclose(np.asarray(scores), E, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-4)


def test_layers_serialise():
    for layer in (GlobalContextAttention(units=7), ConvSelfAttention(reduction=4)):
        restored = keras.layers.deserialize(keras.layers.serialize(layer))
        assert type(restored) is type(layer)
        assert restored.get_config() == layer.get_config()
