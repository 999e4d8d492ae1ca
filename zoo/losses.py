"""Losses shared by the models, all registered so ``.keras`` files round-trip.

- :class:`CCCLoss`: ``1 - CCC`` (Atmaja & Akagi 2020, Sec. III), population moments over
  the batch, with the target variance floored in the denominator so that a batch of constant
  targets (one speaker, one rating; or a batch of one) still has a gradient. Evaluation CCC
  over a whole set is ``zoo.metrics.ccc``.
- :func:`multitask_weights`: ``(α, β, 1-α-β)`` for the V/A/D outputs.
- :class:`FocalCrossEntropy`: ``focal_weight · focal + ce_weight · CE`` (ParallelNet,
  Sec. 4.2: 1.0 × categorical focal + 0.5 × categorical cross-entropy), built on Keras'
  ``CategoricalFocalCrossentropy`` and ``CategoricalCrossentropy``. Keras has no sparse
  focal loss, so integer labels are one-hot encoded here (``sparse=True``).
"""
from __future__ import annotations

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="zoo")


def _moments(y_true, y_pred):
    """Population means, variances and covariance of the flattened batch (float32)."""
    y_true = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
    mean_t, mean_p = ops.mean(y_true), ops.mean(y_pred)
    var_t = ops.mean(ops.square(y_true - mean_t))
    var_p = ops.mean(ops.square(y_pred - mean_p))
    cov = ops.mean((y_true - mean_t) * (y_pred - mean_p))
    return mean_t, mean_p, var_t, var_p, cov


def ccc(y_true, y_pred, epsilon: float = 0.0):
    """Concordance correlation coefficient over the batch, population moments (tensor op).

    ``CCC = 2 cov / (var_t + var_p + (mean_t - mean_p)^2 + epsilon)`` (Lin 1989; Atmaja & Akagi 2020, Eq. 3).
    """
    mean_t, mean_p, var_t, var_p, cov = _moments(y_true, y_pred)
    return 2.0 * cov / (var_t + var_p + ops.square(mean_t - mean_p) + epsilon)


@_register
class CCCLoss(keras.losses.Loss):
    """``1 - CCC`` over the whole batch (one scalar; not a per-sample loss).

    ``epsilon`` guards a zero denominator; the authors' code used 1e-7.

    Constant targets. Lin's CCC is ``1 - E[(y - x)^2] / (var_t + var_p + (mean_t - mean_p)^2)``;
    with ``var_t = 0`` (a batch of one speaker with one rating, or of one utterance) the
    numerator equals the denominator, so ``1 - CCC`` is 1 whatever the predictions and its
    gradient is zero: training stalls. This loss therefore floors the target variance in the
    denominator at ``target_variance_floor`` (``v = max(var_t, floor)``)::

        loss = (E[(y_true - y_pred)^2] + epsilon) / (v + var_p + (mean_t - mean_p)^2 + epsilon)
             = 1 - (2 cov + v - var_t) / (v + var_p + (mean_t - mean_p)^2 + epsilon)

    When ``var_t >= floor`` this is exactly ``1 - ccc(y_true, y_pred, epsilon)`` (same
    operations, same value). For constant targets it is ``(MSE + eps) / (MSE + floor + eps)``:
    in [0, 1), zero only when every prediction equals the target, and its gradient is the MSE
    gradient scaled by ``floor / (MSE + floor + eps)^2`` (> 0), so the predictions move toward
    the constant target. It is continuous in ``var_t``. The default floor 1e-2 (a target
    standard deviation of 0.1 on the [-1, 1] rating scale, a fifth of a point on IEMOCAP's 1-5
    scale) leaves ordinary batches untouched; ``target_variance_floor=0`` gives plain
    ``1 - CCC``.
    """

    def __init__(self, epsilon: float = 1e-7, target_variance_floor: float = 1e-2, name: str = "ccc_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if epsilon < 0 or target_variance_floor < 0:
            raise ValueError(f"CCCLoss: epsilon and target_variance_floor must be >= 0; "
                             f"got {epsilon}, {target_variance_floor}")
        self.epsilon = float(epsilon)
        self.target_variance_floor = float(target_variance_floor)

    def call(self, y_true, y_pred):
        mean_t, mean_p, var_t, var_p, cov = _moments(y_true, y_pred)
        floored = ops.maximum(var_t, self.target_variance_floor)
        gap = floored - var_t  # exactly 0 unless the targets are (nearly) constant
        value = 1.0 - (2.0 * cov + gap) / (floored + var_p + ops.square(mean_t - mean_p) + self.epsilon)
        # Keras reduces per-sample losses; broadcasting the batch scalar keeps the mean equal.
        return ops.ones_like(ops.reshape(ops.cast(y_pred, "float32"), (-1,))) * value

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "target_variance_floor": self.target_variance_floor}


def multitask_weights(alpha: float, beta: float) -> list:
    """Loss weights ``[α, β, 1 − α − β]`` for the valence, arousal, dominance outputs."""
    if not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0 and alpha + beta <= 1.0 + 1e-9):
        raise ValueError(f"need 0 <= alpha, beta and alpha + beta <= 1; got alpha={alpha}, beta={beta}")
    return [float(alpha), float(beta), float(max(0.0, 1.0 - alpha - beta))]


@_register
class FocalCrossEntropy(keras.losses.Loss):
    """``focal_weight · CategoricalFocalCrossentropy + ce_weight · CategoricalCrossentropy``.

    Defaults follow ParallelNet (Sec. 4.2): weights 1.0 and 0.5, γ = 2. ``alpha`` is Keras'
    default 0.25 (the paper does not state it; ``alpha=1.0`` equals the ``focal-loss``
    package). With ``sparse=True`` integer labels are one-hot encoded first.
    """

    def __init__(self, focal_weight: float = 1.0, ce_weight: float = 0.5, gamma: float = 2.0,
                 alpha: float = 0.25, from_logits: bool = False, sparse: bool = True,
                 name: str = "focal_cross_entropy", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.focal_weight, self.ce_weight = float(focal_weight), float(ce_weight)
        self.gamma, self.alpha = float(gamma), float(alpha)
        self.from_logits, self.sparse = bool(from_logits), bool(sparse)
        self._focal = keras.losses.CategoricalFocalCrossentropy(
            alpha=self.alpha, gamma=self.gamma, from_logits=self.from_logits, reduction=None)
        self._ce = keras.losses.CategoricalCrossentropy(from_logits=self.from_logits, reduction=None)

    def call(self, y_true, y_pred):
        if self.sparse:
            y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(y_pred)[-1])
        y_true = ops.cast(y_true, y_pred.dtype)
        return self.focal_weight * self._focal(y_true, y_pred) + self.ce_weight * self._ce(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "focal_weight": self.focal_weight, "ce_weight": self.ce_weight,
                "gamma": self.gamma, "alpha": self.alpha, "from_logits": self.from_logits,
                "sparse": self.sparse}


def get(identifier):
    """A loss by name (``"ccc"``, ``"focal_ce"``) or anything ``keras.losses.get`` accepts."""
    if identifier in ("ccc", "ccc_loss"):
        return CCCLoss()
    if identifier in ("focal_ce", "focal_cross_entropy"):
        return FocalCrossEntropy()
    return keras.losses.get(identifier)
