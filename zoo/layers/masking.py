"""Sequence masks from true lengths (not from the content of the frames).

``Masking(0.0)`` masks every all-zero frame, also one INSIDE an utterance: a digitally silent
stretch of a zero-padded clip gives all-zero chroma (and often MFCC / filterbank) frames, which
``Masking`` then drops from one stream and not from the others. :class:`LengthMask` instead
takes the sequence and its true length ``(B,)`` int32 (companion input ``<name>_length``, emitted
by ``zoo.pipeline.make_dataset(lengths=...)``) and returns the sequence unchanged with the Keras
mask ``arange(T) < length``, which RNNs, ``Dropout`` and the zoo's attention layers consume as
they consumed ``Masking``'s.
"""
from __future__ import annotations

import keras
from keras import ops

__all__ = ["LengthMask", "LENGTH_SUFFIX", "length_input_name", "sequence_input"]

#: Companion input of sequence input ``x``: ``x + LENGTH_SUFFIX`` (same string as ``zoo.pipeline``'s).
LENGTH_SUFFIX = "_length"


def length_input_name(name: str) -> str:
    """The name of the true-length input that goes with sequence input ``name``."""
    return f"{name}{LENGTH_SUFFIX}"


@keras.saving.register_keras_serializable(package="zoo")
class LengthMask(keras.layers.Layer):
    """``[x (B, T, ...), length (B,)] -> x`` carrying the mask ``t < length[b]`` (no weights).

    Steps at or beyond ``length`` are masked whatever they hold; steps before it are kept even
    when all-zero. A length above ``T`` keeps every step.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        x, _ = inputs
        return ops.copy(x)  # a new tensor: the mask rides on it, not on the model's input

    def compute_mask(self, inputs, mask=None):
        x, length = inputs
        # Step indices 0..T-1 from the tensor itself (T may be unknown when the graph is built).
        first = x
        while len(first.shape) > 2:
            first = first[..., 0]
        steps = ops.cumsum(ops.ones_like(first, dtype="int32"), axis=1) - 1
        return ops.less(steps, ops.reshape(ops.cast(length, "int32"), (-1, 1)))

    def compute_output_spec(self, inputs, mask=None):
        x = inputs[0]
        return keras.KerasTensor(x.shape, dtype=x.dtype)


def sequence_input(shape, name: str, lengths: bool = True, layer_name=None):
    """A sequence input and its masked tensor: ``(inputs, masked)``.

    ``lengths=True``: inputs ``[x, x_length]`` and ``LengthMask`` (masks from the true lengths);
    ``lengths=False``: input ``[x]`` and ``Masking(0.0)`` (the zoo's previous graph: every
    all-zero frame masked, also inside the utterance). The mask layer is ``layer_name``
    (default ``{name}_masking``).
    """
    layer_name = layer_name or f"{name}_masking"
    x = keras.Input(shape, name=name)
    if not lengths:
        return [x], keras.layers.Masking(0.0, name=layer_name)(x)
    length = keras.Input((), dtype="int32", name=length_input_name(name))
    return [x, length], LengthMask(name=layer_name)([x, length])
