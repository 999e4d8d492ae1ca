import numpy as np
import pytest
import keras

from zoo import losses


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


@pytest.mark.parametrize("loss", [losses.CCCLoss(epsilon=1e-5), losses.FocalCrossEntropy(alpha=1.0, ce_weight=0.3)])
def test_losses_serialise(loss):
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()


def test_get_by_name():
    assert isinstance(losses.get("ccc"), losses.CCCLoss)
    assert isinstance(losses.get("focal_ce"), losses.FocalCrossEntropy)
    assert isinstance(losses.get("sparse_categorical_crossentropy"), keras.losses.Loss) or callable(
        losses.get("sparse_categorical_crossentropy"))
