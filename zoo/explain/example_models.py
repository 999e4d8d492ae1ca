"""A small ParallelNet backbone for quick CPU experiments with the explanations.

:func:`small_cnn` is an N2 backbone ("any network M", Sec. 3.2 / Fig. 1) without batch
normalisation, so that a model trained for a few dozen steps behaves the same in inference
mode (a randomly initialised, trainable MobileNetV2 keeps its BatchNorm moving statistics,
momentum 0.999, near their initial values over so few steps and then predicts one class).
On the command line: ``--build '{"speech_backbone": "python:zoo.explain.example_models.small_cnn",
"image_backbone": "python:zoo.explain.example_models.small_cnn"}'``.
"""
from __future__ import annotations


__all__ = ["small_cnn"]


from zoo.backbones import small_cnn  # noqa: E402,F401  (its home is zoo.backbones)
