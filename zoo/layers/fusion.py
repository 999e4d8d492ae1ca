"""Softmax-weighted late fusion (ParallelNet, Kumar, Malik & Raman, Sec. 3.2.2, Eq. 2).

``O = Σ_k softmax(w)_k · O_k``: K learned scalars ``w`` are randomly initialised and passed
through a softmax "to normalize them to non-negative values" (Sec. 3.2.2), so the fused output
is a convex combination of the K branch outputs. No Keras layer does this (``keras.layers.Add``
has no weights), hence the small hand-written layer.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["SoftmaxWeightedFusion"]


@keras.saving.register_keras_serializable(package="zoo")
class SoftmaxWeightedFusion(keras.layers.Layer):
    """Convex combination of K same-shaped inputs with learned softmax-normalised weights.

    Call it on a list of K tensors of equal shape; returns their weighted sum. The raw weights
    are ``self.w`` (shape ``(K,)``); :attr:`fusion_weights` gives ``softmax(w)`` as numpy.
    """

    def __init__(self, weights_initializer="random_normal", **kwargs):
        super().__init__(**kwargs)
        self.weights_initializer = keras.initializers.get(weights_initializer)
        self.w = None

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
                input_shape[0], (list, tuple)):
            raise ValueError(f"{self.name}: expects a list of K >= 2 tensors, got shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < 2:
            raise ValueError(f"{self.name}: needs at least two inputs to fuse, got {len(shapes)}")
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(f"{self.name}: all inputs must have the same shape, got {shapes}")
        self.w = self.add_weight(name="w", shape=(len(shapes),), initializer=self.weights_initializer,
                                 trainable=True)

    def call(self, inputs):
        coefficients = ops.cast(ops.softmax(ops.cast(self.w, "float32")), inputs[0].dtype)
        fused = coefficients[0] * inputs[0]
        for k in range(1, len(inputs)):
            fused = fused + coefficients[k] * inputs[k]
        return fused

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    @property
    def fusion_weights(self) -> np.ndarray:
        """``softmax(w)`` as a float64 numpy array (non-negative, sums to one)."""
        if self.w is None:
            raise ValueError(f"{self.name}: layer is not built yet; call it on inputs first")
        w = np.asarray(ops.convert_to_numpy(self.w), dtype=np.float64)
        e = np.exp(w - w.max())
        return e / e.sum()

    def get_config(self):
        return {**super().get_config(),
                "weights_initializer": keras.initializers.serialize(self.weights_initializer)}
