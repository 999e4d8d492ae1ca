"""BLSTMATT's "globally contextualised" attention (Jalal, Milner, Hain 2020, Sec. 3.1; Milner et al. 2019).

For BLSTM outputs ``h_t`` (t = 1..T, padded steps masked):

    m   = mean_t h_t                                   (masked mean over the valid steps)
    u_t = tanh(W h_t + b) ⊙ tanh(W_m m + b_m)          (W, W_m: D -> units)
    e_t = w · u_t + c                                  (units -> 1)
    a_t = softmax_t(e_t)                               (masked: padded steps get a_t = 0)
    context = Σ_t a_t h_t                              (D)

The paper describes it in words ("by computing the global mean ... tanh is used to multiply the
global mean over the whole temporal vector ... softmax"); the equations are the same-lab code's
reading of it. Parameters for D = 1024, units = 128: 2·(1024·128 + 128) + 128 + 1 = 262,529.

Written by hand because no Keras layer combines a per-step projection with a gated global-mean
projection. Mixed precision: the projections run in the compute dtype (float16 under
``mixed_float16``), but the two sums over time, the masked mean ``m`` and the context, and the
softmax accumulate in float32, as :mod:`zoo.layers.attention` does; ``m`` and the context are
cast back to the compute dtype. (A float16 running sum has a spacing of 2 above 2,048, so 3,500
steps of 0.9 summed to 3,362 instead of 3,150 and the mean came out 4 % low.) The attention
weights are returned in float32, like :class:`zoo.layers.attention.AttentionPooling`'s.
"""
from __future__ import annotations

import keras
from keras import ops

__all__ = ["GlobalContextAttention"]


@keras.saving.register_keras_serializable(package="zoo")
class GlobalContextAttention(keras.layers.Layer):
    """Masked attention pooling gated by the utterance mean; returns ``(context, weights)``.

    Input ``(B, T, D)`` with an optional boolean mask ``(B, T)`` (propagated from
    :class:`zoo.layers.LengthMask` or ``Masking``, or given explicitly). Outputs: context ``(B, D)`` and attention weights ``(B, T)`` (zero
    at padded steps, summing to one over the valid steps). The context is in the compute
    dtype, the weights in float32.
    """

    def __init__(self, units: int = 128, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("GlobalContextAttention needs a known feature dimension (last axis)")
        init = self.kernel_initializer
        self.step_kernel = self.add_weight(name="step_kernel", shape=(dim, self.units), initializer=init)
        self.step_bias = self.add_weight(name="step_bias", shape=(self.units,), initializer="zeros")
        self.mean_kernel = self.add_weight(name="mean_kernel", shape=(dim, self.units), initializer=init)
        self.mean_bias = self.add_weight(name="mean_bias", shape=(self.units,), initializer="zeros")
        self.score_kernel = self.add_weight(name="score_kernel", shape=(self.units,), initializer=init)
        self.score_bias = self.add_weight(name="score_bias", shape=(), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, mask=None):
        h = inputs
        if mask is None:
            valid = ops.ones(ops.shape(h)[:2], dtype="bool")
        else:
            valid = ops.cast(mask, "bool")
        # Sums over time in float32 (a float16 sum of thousands of steps loses whole units).
        h32 = ops.cast(h, "float32")
        valid_f = ops.cast(valid, "float32")[..., None]                         # (B, T, 1)
        count = ops.maximum(ops.sum(valid_f, axis=1), 1.0)                      # (B, 1)
        m = ops.sum(h32 * valid_f, axis=1) / count                             # masked mean (B, D)
        m = ops.cast(m, self.compute_dtype)
        u = ops.tanh(ops.matmul(h, self.step_kernel) + self.step_bias)         # (B, T, units)
        g = ops.tanh(ops.matmul(m, self.mean_kernel) + self.mean_bias)         # (B, units)
        u = u * g[:, None, :]
        e = ops.matmul(u, self.score_kernel) + self.score_bias                 # (B, T)
        e = ops.cast(e, "float32")
        e = ops.where(valid, e, ops.full_like(e, -1e9))
        a = ops.softmax(e, axis=-1) * ops.cast(valid, "float32")               # exact zeros when padded
        context = ops.sum(h32 * a[..., None], axis=1)                          # (B, D), float32
        return ops.cast(context, self.compute_dtype), a

    def compute_mask(self, inputs, mask=None):
        return [None, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), (input_shape[0], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
