"""The classifier output every zoo model ends in: class posteriors that carry their label names.

``Predictions`` is the softmax over the logits, computed in float32 (exact posteriors under mixed
precision), with the ordered label names in its config, so that they survive ``.keras``
save/load; :func:`output_labels` reads them back from any zoo classifier.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import keras
from keras import ops

__all__ = ["Predictions", "output_labels", "resolve_classes"]


@keras.saving.register_keras_serializable(package="zoo")
class Predictions(keras.layers.Layer):
    """``softmax(logits)`` in float32; ``labels``: the class names in output order (or None)."""

    def __init__(self, labels: Optional[Sequence[str]] = None, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.labels = tuple(str(x) for x in labels) if labels is not None else None

    def call(self, logits):
        return ops.softmax(ops.cast(logits, "float32"), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "labels": list(self.labels) if self.labels is not None else None}


def output_labels(model) -> Optional[Tuple[str, ...]]:
    """The label names of a zoo classifier's ``predictions`` layer (None: none recorded / no head)."""
    try:
        layer = model.get_layer("predictions")
    except ValueError:
        return None
    return getattr(layer, "labels", None)


def resolve_classes(classes, default_labels: Sequence[str]) -> Tuple[int, Optional[Tuple[str, ...]]]:
    """A builder's ``classes``: an int, or the label names themselves -> ``(count, names or None)``.

    An int equal to ``len(default_labels)`` keeps the default names; another int has none.
    """
    if isinstance(classes, (list, tuple)):
        names = tuple(str(x) for x in classes)
        if len(set(names)) != len(names):
            raise ValueError(f"classes has repeated label names: {names}")
        count = len(names)
    else:
        try:
            count = int(classes)
        except (TypeError, ValueError):
            raise TypeError(f"classes must be an int or a sequence of label names; got {classes!r}") from None
        names = tuple(default_labels) if count == len(default_labels) else None
    if count < 2:
        raise ValueError(f"classes must be >= 2; got {classes!r}")
    return count, names
