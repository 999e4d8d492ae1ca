"""CSA convolutional self-attention (Jalal, Milner, Hain 2020, Sec. 3.2, Eq. 1-5; SAGAN-style).

For a feature map ``y`` with N positions (any spatial rank, flattened) and C channels:

    j(y) = W_j y,  k(y) = W_k y          1x1 convolutions C -> C/reduction   (Eq. 2, "downsampling")
    E    = softmax(j(y)ᵀ k(y))           N x N, softmax over the key positions (Eq. 3)
    l(y) = W_l y                         1x1 convolution C -> C               (Eq. 4)
    A    = l(y) · E                      out_i = Σ_j E_ij l(y)_j              (Eq. 5)
    ŷ    = y + γ A                       γ a learned scalar, initialised to 0 (Eq. 1)

A 1x1 convolution is a per-position matrix product over channels, so the projections are
written as kernels applied to the last axis: the same layer then serves 1-D (time) and 2-D
(time x frequency) maps. Hand-written because Keras has no SAGAN attention layer; the softmax
runs in float32 so that mixed precision stays finite.
"""
from __future__ import annotations

import keras
from keras import ops

__all__ = ["ConvSelfAttention"]


@keras.saving.register_keras_serializable(package="zoo")
class ConvSelfAttention(keras.layers.Layer):
    """SAGAN self-attention over all positions of a channels-last feature map.

    ``reduction`` sets the query/key channels to ``max(1, C // reduction)`` (8 in SAGAN).
    ``call(y, return_attention_scores=True)`` also returns ``E`` with shape ``(B, N, N)``.
    At initialisation γ = 0, so the layer is the identity.
    """

    def __init__(self, reduction: int = 8, kernel_initializer="glorot_uniform",
                 gamma_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if int(reduction) < 1:
            raise ValueError(f"reduction must be >= 1, got {reduction}")
        self.reduction = int(reduction)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("ConvSelfAttention needs a known channel dimension (last axis)")
        if len(input_shape) < 3:
            raise ValueError(f"ConvSelfAttention needs (batch, positions..., channels); got {input_shape}")
        inner = max(1, channels // self.reduction)
        init = self.kernel_initializer
        self.query_kernel = self.add_weight(name="query_kernel", shape=(channels, inner), initializer=init)
        self.query_bias = self.add_weight(name="query_bias", shape=(inner,), initializer="zeros")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(channels, inner), initializer=init)
        self.key_bias = self.add_weight(name="key_bias", shape=(inner,), initializer="zeros")
        self.value_kernel = self.add_weight(name="value_kernel", shape=(channels, channels), initializer=init)
        self.value_bias = self.add_weight(name="value_bias", shape=(channels,), initializer="zeros")
        self.gamma = self.add_weight(name="gamma", shape=(), initializer=self.gamma_initializer)
        super().build(input_shape)

    def call(self, inputs, return_attention_scores: bool = False):
        shape = ops.shape(inputs)
        y = ops.reshape(inputs, (shape[0], -1, shape[-1]))                 # (B, N, C)
        query = ops.matmul(y, self.query_kernel) + self.query_bias          # j(y)  (B, N, C')
        key = ops.matmul(y, self.key_kernel) + self.key_bias                # k(y)  (B, N, C')
        value = ops.matmul(y, self.value_kernel) + self.value_bias          # l(y)  (B, N, C)
        energy = ops.matmul(query, ops.transpose(key, (0, 2, 1)))           # (B, N, N)
        scores = ops.softmax(ops.cast(energy, "float32"), axis=-1)          # E, rows sum to 1
        attended = ops.matmul(ops.cast(scores, y.dtype), value)             # A = l(y)·E  (B, N, C)
        out = ops.reshape(y + ops.cast(self.gamma, y.dtype) * attended, shape)
        if return_attention_scores:
            return out, scores
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer)}
