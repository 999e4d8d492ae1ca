"""GlobalContextAttention (BLSTMATT) and ConvSelfAttention (CSA) against numpy on tiny inputs."""
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
