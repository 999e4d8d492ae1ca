"""Per-utterance mean and variance normalisation (CMVN) of frame features.

Small acted corpora carry large differences of level and channel between speakers and sessions;
normalising each utterance's frames to zero mean and unit variance per dimension removes them
without any statistics from other data, so the same transform serves training, evaluation on
unseen speakers and prediction on a single file. ``features.get(name, normalize="utterance")``
wraps any frame extractor in :class:`Normalized`; the option is part of the extractor's
configuration (cache key, release manifests, feature checks).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .base import Extractor

MODES = ("utterance",)


def utterance_cmvn(frames: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``(x - mean_t x) / sqrt(var_t x + eps)`` per dimension over the frames of one utterance."""
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"utterance normalisation needs (T, D) frames, got shape {x.shape}")
    out = (x - x.mean(axis=0, keepdims=True)) / np.sqrt(x.var(axis=0, keepdims=True) + eps)
    return out.astype(np.float32)


class Normalized(Extractor):
    """An extractor whose ``(T, D)`` output is normalised per utterance (:func:`utterance_cmvn`)."""

    def __init__(self, inner: Extractor, mode: str = "utterance", eps: float = 1e-5):
        if mode not in MODES:
            raise ValueError(f"normalize must be one of {MODES} or None, got {mode!r}")
        shape = tuple(inner.shape)
        if len(shape) != 2 or shape[0] is not None:
            raise ValueError(f"{inner.name}: normalize={mode!r} needs frame features (T, D), not shape {shape}")
        self.inner, self.mode, self.eps = inner, mode, float(eps)
        self.name, self.dtype, self.pad_value = inner.name, inner.dtype, inner.pad_value

    @property
    def shape(self):
        return self.inner.shape

    def config(self) -> dict:
        return {**self.inner.config(), "normalize": self.mode, "normalize_eps": self.eps}

    def source_path(self, record) -> Optional[str]:
        return self.inner.source_path(record)

    def extract(self, source, **options) -> np.ndarray:
        return utterance_cmvn(self.inner.extract(source, **options), self.eps)

    def __getattr__(self, item):  # sample rate, hop, minimum duration ... of the wrapped extractor
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)
