"""Losses against numpy / zoo.metrics: CCC loss (incl. constant targets), multitask weights, focal CE."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from zoo import losses, metrics


def _np_ccc(t, p):
    mt, mp = t.mean(), p.mean()
    cov = ((t - mt) * (p - mp)).mean()
    return 2 * cov / (t.var() + p.var() + (mt - mp) ** 2)


def test_ccc_loss_is_one_minus_population_ccc():
    t = np.array([0.1, -0.5, 0.3, 0.9], "float32")
    p = np.array([0.0, -0.2, 0.5, 0.4], "float32")
    loss = float(losses.CCCLoss(epsilon=0.0)(t[:, None], p[:, None]))
    assert loss == pytest.approx(1.0 - _np_ccc(t, p), abs=1e-6)
    # Perfect agreement gives zero loss; a constant offset is penalised (CCC, not Pearson).
    assert float(losses.CCCLoss(epsilon=0.0)(t, t)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.CCCLoss(epsilon=0.0)(t, t + 0.5)) > 0.1


def _loss_and_grad(loss_fn, t, p):
    p = tf.Variable(np.asarray(p, "float32"))
    with tf.GradientTape() as tape:
        loss = loss_fn(np.asarray(t, "float32"), p)
    return float(loss), tape.gradient(loss, p).numpy()


@pytest.mark.parametrize("seed", range(4))
def test_ccc_loss_unchanged_on_ordinary_batches(seed):
    """Targets with variance above the floor: the loss is 1 - Lin's CCC (numpy, float64)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, size=(32, 1)).astype("float32")
    p = (0.6 * t + 0.3 * rng.standard_normal((32, 1)) + 0.1).astype("float32")
    assert t.var() > 1e-2
    default = float(losses.CCCLoss()(t, p))
    assert default == float(1.0 - losses.ccc(t, p, 1e-7))  # same operations as before the floor
    assert default == pytest.approx(1.0 - metrics.ccc(t, p), abs=1e-6)
    assert float(losses.CCCLoss(epsilon=0.0)(t, p)) == pytest.approx(1.0 - metrics.ccc(t, p), abs=1e-6)


def test_ccc_loss_just_above_floor_is_plain_ccc():
    t = np.array([-0.1, 0.1, -0.1, 0.1], "float32")  # var 0.01 (+ float32 rounding)
    p = np.array([0.3, 0.2, 0.0, 0.5], "float32")
    loss = losses.CCCLoss(epsilon=0.0, target_variance_floor=0.0099)
    assert float(loss(t, p)) == pytest.approx(1.0 - metrics.ccc(t, p), abs=1e-6)


@pytest.mark.parametrize("t,p", [
    (np.full(6, 0.4), [0.9, -0.3, 0.4, 0.1, 0.6, 1.0]),   # one speaker, one rating
    (np.full(1, -0.5), [0.2]),                             # a batch of one utterance
])
def test_ccc_loss_constant_targets_keeps_a_gradient_toward_the_target(t, p):
    t, p = np.asarray(t, "float32"), np.asarray(p, "float32")
    # Plain 1 - CCC (no floor) is the reported stall: loss 1 and zero gradient.
    stalled, zero = _loss_and_grad(losses.CCCLoss(target_variance_floor=0.0), t, p)
    assert stalled == pytest.approx(1.0) and np.all(np.abs(zero) < 1e-6)

    loss_fn = losses.CCCLoss()
    loss, grad = _loss_and_grad(loss_fn, t, p)
    mse = np.mean((p - t) ** 2)
    assert loss == pytest.approx((mse + 1e-7) / (mse + 1e-2 + 1e-7), rel=1e-5)
    assert 0.0 < loss < 1.0
    off = p != t
    assert np.all(np.sign(grad[off]) == np.sign(p - t)[off])  # descent moves p toward t
    assert np.all(np.abs(grad[~off]) < 1e-6) and np.all(np.abs(grad[off]) > 1e-4)
    # a few gradient-descent steps bring every prediction closer to the constant target
    q = p.copy()
    for _ in range(20):
        q = q - 0.02 * _loss_and_grad(loss_fn, t, q)[1]
    assert np.all(np.abs(q - t)[off] < np.abs(p - t)[off])
    assert float(loss_fn(t, t)) == pytest.approx(0.0, abs=1e-4)  # perfect = 0 (eps / (floor + eps))


def test_ccc_loss_is_continuous_across_the_floor():
    """Just below the floor the loss differs from plain 1 - CCC by O(floor - var_t): no jump."""
    p = np.array([0.3, -0.2, 0.5, 0.1], "float32")
    step = np.array([-1.0, 1.0, -1.0, 1.0], "float32")
    floored, plain = losses.CCCLoss(epsilon=0.0), losses.CCCLoss(epsilon=0.0, target_variance_floor=0.0)
    gaps = [abs(float(floored(0.2 + d * step, p)) - float(plain(0.2 + d * step, p)))
            for d in (0.099, 0.0999, 0.09999)]  # var_t = d^2 approaches the floor 0.01
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-4 and gaps[0] > 1e-3


def test_ccc_loss_rejects_negative_options():
    with pytest.raises(ValueError, match="target_variance_floor"):
        losses.CCCLoss(target_variance_floor=-1.0)


def test_multitask_weights():
    assert losses.multitask_weights(0.7, 0.2) == pytest.approx([0.7, 0.2, 0.1])
    with pytest.raises(ValueError, match="alpha"):
        losses.multitask_weights(0.8, 0.4)


def test_focal_ce_sparse_equals_dense_and_formula():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32")
    y = np.array([0, 2])
    onehot = np.eye(3, dtype="float32")[y]
    sparse = float(losses.FocalCrossEntropy()(y, p))
    dense = float(losses.FocalCrossEntropy(sparse=False)(onehot, p))
    pt = p[np.arange(2), y]
    expected = np.mean(0.25 * (1 - pt) ** 2 * -np.log(pt) + 0.5 * -np.log(pt))
    assert sparse == pytest.approx(dense, rel=1e-6)
    assert sparse == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", [losses.CCCLoss(epsilon=1e-5, target_variance_floor=0.05), losses.FocalCrossEntropy(alpha=1.0, ce_weight=0.3)])
def test_losses_serialise(loss):
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()


def test_get_by_name():
    assert isinstance(losses.get("ccc"), losses.CCCLoss)
    assert isinstance(losses.get("focal_ce"), losses.FocalCrossEntropy)
    assert isinstance(losses.get("sparse_categorical_crossentropy"), keras.losses.Loss) or callable(
        losses.get("sparse_categorical_crossentropy"))
