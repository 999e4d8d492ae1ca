"""A small ParallelNet backbone for quick CPU experiments with the explanations.

:func:`small_cnn` is an N2 backbone ("any network M", Sec. 3.2 / Fig. 1) without batch
normalisation, so that a model trained for a few dozen steps behaves the same in inference
mode (a randomly initialised, trainable MobileNetV2 keeps its BatchNorm moving statistics,
momentum 0.999, near their initial values over so few steps and then predicts one class).
On the command line: ``--build '{"speech_backbone": "python:zoo.explain.example_models.small_cnn",
"image_backbone": "python:zoo.explain.example_models.small_cnn"}'``.
"""
from __future__ import annotations

import keras

__all__ = ["small_cnn"]


def small_cnn(input_shape, weights=None, name: str = "small_cnn", filters=(16, 32, 64)) -> keras.Model:
    """Three 3x3 Conv2D (ReLU, "same") + 2x2 max-pool blocks; a feature map like keras.applications'
    ``include_top=False`` models. ``weights`` must be None (there are no pre-trained ones)."""
    if weights is not None:
        raise ValueError(f"small_cnn has no pre-trained weights; got weights={weights!r}")
    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = inputs
    for i, f in enumerate(filters, 1):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool{i}")(x)
    return keras.Model(inputs, x, name=name)
