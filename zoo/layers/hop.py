"""One attentive modality hop (Yoon et al. 2020, Sec. 3.2, Eq. 2-5).

Hop k attends over the GRU outputs ``h_i`` of its target modality with a query built from the
current summaries of the other modalities::

    C   = [s_other_1; s_other_2]          f = concatenation (Eq. 2)
    q   = W C + b                         W: U(-0.25, 0.25), b = 0 (authors' code)
    a_i = softmax_i(<h_i, q>)             padded steps (mask False) get a_i = 0, no scaling
    H   = sum_i a_i h_i                   replaces the target's summary

The paper writes the score as ``C^T W h_i``; projecting C into the target's space first is the
same bilinear form (plus the code's bias), and matches the code's parameter shapes
(e.g. 400 -> 128 for video). Every hop is a new layer: weights are never shared between hops.
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers.attention import masked_softmax

_register = keras.saving.register_keras_serializable(package="zoo")

__all__ = ["ModalityHop"]


@_register
class ModalityHop(keras.layers.Layer):
    """Attend over a target sequence, conditioned on the other modalities' summaries.

    Call on ``[target_sequence (B, T, d), summary_1 (B, d1), summary_2 (B, d2), ...]``; the
    target's Keras mask (padding) is honoured. Returns ``[context (B, d), weights (B, T)]``.

    Args:
        init_range: the query kernel is initialised U(-init_range, init_range).
    """

    def __init__(self, init_range=0.25, **kwargs):
        super().__init__(**kwargs)
        self.init_range = float(init_range)
        self.supports_masking = True

    def build(self, input_shape):
        target_shape, *summary_shapes = input_shape
        if not summary_shapes:
            raise ValueError("ModalityHop needs the target sequence and at least one other summary")
        dim = int(target_shape[-1])
        context_dim = sum(int(shape[-1]) for shape in summary_shapes)
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range)
        self.kernel = self.add_weight(name="kernel", shape=(context_dim, dim), initializer=init)
        self.bias = self.add_weight(name="bias", shape=(dim,), initializer="zeros")

    def call(self, inputs, mask=None):
        sequence, *summaries = inputs
        sequence_mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        context = summaries[0] if len(summaries) == 1 else ops.concatenate(summaries, axis=-1)
        query = ops.matmul(context, self.kernel) + self.bias  # (B, d)
        scores = ops.sum(ops.cast(sequence, "float32") * ops.cast(query, "float32")[:, None, :], axis=-1)
        weights = masked_softmax(scores, sequence_mask, axis=-1)  # (B, T)
        hopped = ops.sum(ops.cast(sequence, "float32") * weights[..., None], axis=1)
        return [ops.cast(hopped, self.compute_dtype), weights]

    def compute_mask(self, inputs, mask=None):
        return [None, None]

    def compute_output_spec(self, inputs, mask=None):
        sequence = inputs[0]
        return [
            keras.KerasTensor((sequence.shape[0], sequence.shape[-1]), dtype=self.compute_dtype),
            keras.KerasTensor(tuple(sequence.shape[:2]), dtype="float32"),
        ]

    def get_config(self):
        return {**super().get_config(), "init_range": self.init_range}
