"""Softmax-weighted late fusion (ParallelNet, Kumar, Malik & Raman, Sec. 3.2.2, Eq. 2).

``O = Σ_k softmax(w)_k · O_k``: K learned scalars ``w`` are randomly initialised and passed
through a softmax "to normalize them to non-negative values" (Sec. 3.2.2), so the fused output
is a convex combination of the K branch outputs. No Keras layer does this (``keras.layers.Add``
has no weights), hence the small hand-written layer.

:class:`ModalityDropout` (ours, not in the paper): a training-time regulariser for a fusion
model that drops one whole modality per example (ParallelNet's ``modality_dropout``).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["SoftmaxWeightedFusion", "ModalityDropout"]


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


@keras.saving.register_keras_serializable(package="zoo")
class ModalityDropout(keras.layers.Layer):
    """Modality dropout after ModDrop (Neverova, Wolf, Taylor & Nebout, "ModDrop: adaptive
    multi-modal gesture recognition", IEEE TPAMI 2016): in training, each
    example loses one whole modality with probability ``rate``, the modality drawn uniformly;
    at inference every input passes unchanged.

    Call it on a list of tensors; ``groups[j]`` names the modality of input ``j`` (e.g.
    ``(0, 0, 1, 1)`` for ``[N1_s, N2_s, N1_i, N2_i]``): a dropped modality's tensors are all
    zeroed for that example. Nothing is rescaled (our choice: a missing modality reads as zeros,
    and the layers after it learn to do without it). Keras' ``Dropout`` /
    ``SpatialDropout`` drop units or channels of one tensor, never one modality across tensors,
    hence this small layer.
    """

    def __init__(self, rate: float, groups, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{self.name}: rate must be in [0, 1), got {rate}")
        self.rate, self.groups, self.seed = float(rate), tuple(int(g) for g in groups), seed
        self.modalities = len(set(self.groups))
        if self.modalities < 2 or set(self.groups) != set(range(self.modalities)):
            raise ValueError(f"{self.name}: groups must number two or more modalities 0, 1, ...; got {self.groups}")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        inputs = list(inputs)
        if len(inputs) != len(self.groups):
            raise ValueError(f"{self.name}: {len(inputs)} inputs for {len(self.groups)} groups")
        if not training or self.rate == 0.0:
            return inputs
        batch = ops.shape(inputs[0])[0]
        drop = keras.random.uniform((batch,), seed=self.seed_generator) < self.rate
        which = keras.random.randint((batch,), 0, self.modalities, seed=self.seed_generator)
        outputs = []
        for x, group in zip(inputs, self.groups):
            keep = ops.logical_not(ops.logical_and(drop, ops.equal(which, group)))
            keep = ops.reshape(ops.cast(keep, x.dtype), (-1,) + (1,) * (len(x.shape) - 1))
            outputs.append(x * keep)
        return outputs

    def compute_output_shape(self, input_shape):
        return [tuple(s) for s in input_shape]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "groups": list(self.groups), "seed": self.seed}
