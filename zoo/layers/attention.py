"""Attention pooling of the gru_bert audio branches (Kumar, Kaushik, Raman 2021, Sec. 2.1.1).

:class:`AttentionPooling` is the paper's Eq. 2-4 over the GRU outputs ``s'_t``::

    h_t = tanh(W_s s'_t + b_s)                  (2)
    a_t = exp(h_t . s_w) / sum_t exp(h_t . s_w)  (3)   padded steps (mask False) get a_t = 0
    a   = sum_t a_t s'_t                        (4)

:class:`UnitAxisAttention` reproduces the authors' code instead: the score of step t is
``Dense(1)(Dense(1, tanh)(s'_t))``, softmax over t, and Keras 2's ``Multiply`` of the
``(batch, T, units)`` GRU output with the ``(batch, T)`` weights expanded the weights at axis 1,
so that they scale the *unit* axis: ``out_j = a_j * sum_t s'_tj`` (only defined because the
code's GRUs have units == T). Both compute the softmax in float32 (mixed precision safe).
"""
from __future__ import annotations

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="zoo")

__all__ = ["AttentionPooling", "UnitAxisAttention", "masked_softmax"]

_NEG = -1e9  # added to padded scores; float32 softmax then gives them exactly 0 weight


def masked_softmax(scores, mask=None, axis=-1):
    """Softmax in float32 over ``axis``; entries where ``mask`` is False get zero weight.

    A row with no valid entry gets uniform weights (never NaN).
    """
    scores = ops.cast(scores, "float32")
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, _NEG))
    return ops.softmax(scores, axis=axis)


@_register
class AttentionPooling(keras.layers.Layer):
    """Masked attention pooling over time, Eq. 2-4 of Kumar et al. 2021.

    Input ``(batch, T, d)`` (the GRU outputs, with the Keras mask of the padded steps);
    output ``(batch, d)``, and the weights ``(batch, T)`` as a second output when
    ``return_attention=True``.

    Args:
        units: size of ``h_t`` (and of the context vector ``s_w``); ``None`` = ``d``.
    """

    def __init__(self, units=None, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        self.units = None if units is None else int(units)
        self.return_attention = bool(return_attention)
        self.supports_masking = True

    def build(self, input_shape):
        dim = int(input_shape[-1])
        units = self.units or dim
        self.kernel = self.add_weight(name="kernel", shape=(dim, units), initializer="glorot_uniform")  # W_s
        self.bias = self.add_weight(name="bias", shape=(units,), initializer="zeros")  # b_s
        self.context = self.add_weight(name="context", shape=(units,), initializer="glorot_uniform")  # s_w

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)  # Eq. 2
        weights = masked_softmax(ops.sum(hidden * self.context, axis=-1), mask, axis=-1)  # Eq. 3
        pooled = ops.sum(ops.cast(inputs, "float32") * weights[..., None], axis=1)  # Eq. 4
        pooled = ops.cast(pooled, self.compute_dtype)
        return [pooled, weights] if self.return_attention else pooled

    def compute_mask(self, inputs, mask=None):
        return [None, None] if self.return_attention else None

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        return [pooled, tuple(input_shape[:2])] if self.return_attention else pooled

    def compute_output_spec(self, inputs, mask=None):
        pooled = keras.KerasTensor((inputs.shape[0], inputs.shape[-1]), dtype=self.compute_dtype)
        if not self.return_attention:
            return pooled
        return [pooled, keras.KerasTensor(tuple(inputs.shape[:2]), dtype="float32")]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_attention": self.return_attention}


@_register
class UnitAxisAttention(keras.layers.Layer):
    """The authors' attention (``main_IEMOCAP.py``), broadcast over the unit axis.

    ``e_t = v * tanh(w . s'_t + c) + d`` (``Dense(1, tanh)`` then ``Dense(1)``: ``units + 3``
    weights), ``a = softmax_t(e)``, output ``out_j = a_j * sum_t s'_tj``. Requires T == units.
    """

    def __init__(self, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        self.return_attention = bool(return_attention)

    def build(self, input_shape):
        steps, dim = input_shape[-2], int(input_shape[-1])
        if steps is not None and int(steps) != dim:
            raise ValueError(
                f"UnitAxisAttention needs as many GRU units as time steps (the code's Multiply broadcast); got T={steps}, units={dim}"
            )
        self.score_kernel = self.add_weight(name="score_kernel", shape=(dim, 1), initializer="glorot_uniform")
        self.score_bias = self.add_weight(name="score_bias", shape=(1,), initializer="zeros")
        self.out_kernel = self.add_weight(name="out_kernel", shape=(1, 1), initializer="glorot_uniform")
        self.out_bias = self.add_weight(name="out_bias", shape=(1,), initializer="zeros")

    def call(self, inputs):
        hidden = ops.tanh(ops.matmul(inputs, self.score_kernel) + self.score_bias)  # (B, T, 1)
        scores = ops.matmul(hidden, self.out_kernel) + self.out_bias
        weights = masked_softmax(ops.squeeze(scores, -1), axis=-1)  # (B, T)
        # Keras 2 Multiply expanded the (B, T) weights at axis 1 -> (B, 1, T): they scale units.
        pooled = ops.sum(ops.cast(inputs, "float32") * weights[:, None, :], axis=-2)
        pooled = ops.cast(pooled, self.compute_dtype)
        return [pooled, weights] if self.return_attention else pooled

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[-1])
        return [pooled, tuple(input_shape[:2])] if self.return_attention else pooled

    def compute_output_spec(self, inputs):
        pooled = keras.KerasTensor((inputs.shape[0], inputs.shape[-1]), dtype=self.compute_dtype)
        if not self.return_attention:
            return pooled
        return [pooled, keras.KerasTensor(tuple(inputs.shape[:2]), dtype="float32")]

    def get_config(self):
        return {**super().get_config(), "return_attention": self.return_attention}
