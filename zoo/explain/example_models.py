"""Small pieces for the committed example outputs (``docs/explain``), trained on a 2-core CPU.

:func:`small_cnn` is a ParallelNet N2 backbone ("any network M", Sec. 3.2 / Fig. 1) without
batch normalisation. The benchmark runner's CPU smoke profile uses MobileNetV2, whose
BatchNormalization (momentum 0.999) keeps its moving statistics near their initial values
over the few dozen steps a smoke run takes, so in inference mode its predictions are close to
constant; a constant classifier has nothing to explain. Pass it on the command line as
``--build '{"speech_backbone": "python:zoo.explain.example_models.small_cnn", ...}'``.
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
