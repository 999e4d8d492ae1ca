"""gru_bert attention (Kumar 2021 Eq. 2-4), the authors' unit-axis variant, and one AMH hop
(Yoon 2020 Eq. 2-5), each checked against numpy on small hand-made inputs."""
import numpy as np
import pytest

from zoo.layers import AttentionPooling, ModalityHop, UnitAxisAttention, masked_softmax


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


# One utterance of 4 steps x 3 dims; the last step is padding (mask False).
SEQ = np.array([[[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-0.2, 0.3, 0.7], [9.0, 9.0, 9.0]]], "float32")
MASK = np.array([[True, True, True, False]])
W = np.array([[0.2, -0.1], [0.4, 0.3], [-0.5, 0.1]], "float32")
B = np.array([0.05, -0.02], "float32")
S_W = np.array([1.0, -2.0], "float32")


def test_attention_pooling_matches_eq_2_to_4_with_mask():
    layer = AttentionPooling(units=2, return_attention=True)
    layer.build(SEQ.shape)
    layer.set_weights([W, B, S_W])
    pooled, weights = (np.asarray(t) for t in layer(SEQ, mask=MASK))

    h = np.tanh(SEQ[0, :3] @ W + B)  # Eq. 2 on the three valid steps
    a = _softmax(h @ S_W)  # Eq. 3
    expected = (a[:, None] * SEQ[0, :3]).sum(0)  # Eq. 4: the padded step never contributes
    np.testing.assert_allclose(weights[0], np.r_[a, 0.0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pooled[0], expected, rtol=1e-5)
    # Without the mask the padded [9, 9, 9] step takes weight and moves the result.
    unmasked = np.asarray(layer(SEQ)[0])
    assert np.abs(unmasked - expected).max() > 1e-2


def test_attention_pooling_default_units_and_config_round_trip():
    layer = AttentionPooling()
    out = layer(SEQ)
    assert tuple(out.shape) == (1, 3)
    assert [tuple(w.shape) for w in layer.weights] == [(3, 3), (3,), (3,)]
    clone = AttentionPooling.from_config(layer.get_config())
    clone.build(SEQ.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(SEQ, mask=MASK)), np.asarray(layer(SEQ, mask=MASK)))


def test_masked_softmax_zero_weight_on_padding_and_no_nan_when_all_masked():
    scores = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "float32")
    mask = np.array([[True, False, True], [False, False, False]])
    out = np.asarray(masked_softmax(scores, mask))
    np.testing.assert_allclose(out[0], [np.exp(1) / (np.exp(1) + np.exp(3)), 0.0, np.exp(3) / (np.exp(1) + np.exp(3))], rtol=1e-6)
    np.testing.assert_allclose(out[1], [1 / 3] * 3, rtol=1e-6)


def test_unit_axis_attention_reproduces_the_codes_broadcast():
    rng = np.random.default_rng(0)
    seq = rng.normal(size=(2, 3, 3)).astype("float32")  # T == units == 3, as in the code
    layer = UnitAxisAttention(return_attention=True)
    layer.build(seq.shape)
    w1, c1, w2, c2 = np.array([[0.3], [-0.6], [0.9]], "float32"), np.array([0.1], "float32"), np.array([[1.7]], "float32"), np.array([-0.2], "float32")
    layer.set_weights([w1, c1, w2, c2])
    assert layer.count_params() == 3 + 3  # Dense(1, tanh) on 3 units + Dense(1) on 1
    pooled, weights = (np.asarray(t) for t in layer(seq))
    for n in range(2):
        e = (np.tanh(seq[n] @ w1 + c1) @ w2 + c2)[:, 0]
        a = _softmax(e)
        np.testing.assert_allclose(weights[n], a, rtol=1e-5)
        np.testing.assert_allclose(pooled[n], a * seq[n].sum(0), rtol=1e-5)  # a_j * sum_t s_tj
        assert np.abs(pooled[n] - (a[:, None] * seq[n]).sum(0)).max() > 1e-3  # not attention over time


def test_unit_axis_attention_needs_units_equal_to_steps():
    with pytest.raises(ValueError, match="as many GRU units as time steps"):
        UnitAxisAttention().build((None, 5, 4))


def test_modality_hop_matches_numpy():
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(2, 4, 3)).astype("float32")  # target GRU outputs h_i, d = 3
    s1 = rng.normal(size=(2, 2)).astype("float32")  # other summaries (context C = [s1; s2])
    s2 = rng.normal(size=(2, 1)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    layer = ModalityHop()
    hopped, weights = (np.asarray(t) for t in layer([seq, s1, s2], mask=[mask, None, None]))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    assert kernel.shape == (3, 3) and bias.shape == (3,)
    assert np.all(np.abs(kernel) <= 0.25) and np.all(bias == 0)  # U(-0.25, 0.25), bias 0
    for n in range(2):
        q = np.concatenate([s1[n], s2[n]]) @ kernel + bias
        valid = mask[n].sum()
        a = _softmax(seq[n, :valid] @ q)  # score <h_i, q>, no scaling; padded steps excluded
        np.testing.assert_allclose(weights[n], np.r_[a, np.zeros(4 - valid)], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(hopped[n], (a[:, None] * seq[n, :valid]).sum(0), rtol=1e-5)


def test_modality_hop_config_round_trip_and_needs_context():
    layer = ModalityHop(init_range=0.1, name="hop1_video")
    config = layer.get_config()
    assert config["init_range"] == 0.1
    assert ModalityHop.from_config(config).init_range == 0.1
    with pytest.raises(ValueError, match="at least one other summary"):
        ModalityHop().build([(None, 4, 3)])
