"""Mean and variance normalisation of features: per utterance (CMVN), per speaker, or by the
statistics of the training data (global CMVN).

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
#: What :func:`speaker_cmvn` normalises by; stored as a profile's / release's ``normalize``.
SPEAKER = "speaker"
#: Global CMVN: every utterance standardised by the mean and std, per dimension, of every frame of
#: the training part (:func:`training_statistics`); a release stores them, so one recording is
#: predicted on its own, as in training. Stored as a profile's / release's ``normalize``.
TRAINING = "training"
#: Every ``normalize`` a profile or a release may have (None: the features as extracted).
PROFILE_MODES = (SPEAKER, TRAINING)


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


def is_speaker_normalised(shape, dtype) -> bool:
    """Whether speaker normalisation standardises an input of this shape and dtype: float frames
    ``(T, D)`` or vectors ``(D,)`` (not images, not token ids)."""
    return np.dtype(dtype).kind == "f" and len(tuple(shape)) <= 2


def speaker_cmvn(arrays, speakers, eps: float = 1e-5):
    """Per-speaker standardisation: every array of speaker ``s`` minus the mean, over the frames
    (rows) of all of ``s``'s arrays, divided by their std, per dimension; ``(T, D)`` frames and
    ``(D,)`` vectors alike. Returns float32 arrays in the input order.

    Speaker normalisation (Busso et al. 2011; the "SN" of Schuller et al.'s cross-corpus
    benchmarks) removes a speaker's level, pitch range and channel from every utterance while it
    keeps the differences between that speaker's utterances (unlike per-utterance CMVN, which
    removes each utterance's level, the arousal cue). Only feature values are used, never labels:
    on unseen speakers the statistics come from their own (unlabelled) recordings.
    """
    arrays = [np.asarray(a) for a in arrays]
    speakers = list(speakers)
    if len(arrays) != len(speakers):
        raise ValueError(f"{len(arrays)} arrays but {len(speakers)} speakers")
    out = [None] * len(arrays)
    groups: dict = {}
    for i, speaker in enumerate(speakers):
        groups.setdefault(speaker, []).append(i)
    for speaker, rows in groups.items():
        try:
            mean, std = speaker_statistics([arrays[i] for i in rows], eps)
        except ValueError as error:
            raise ValueError(f"speaker {speaker!r}: {error}") from None
        for i in rows:
            out[i] = ((arrays[i] - mean) / std).astype(np.float32)
    return out


def speaker_statistics(arrays, eps: float = 1e-5):
    """``(mean, sqrt(var + eps))`` per dimension over every frame (row) of one speaker's
    ``(T, D)`` / ``(D,)`` arrays: what :func:`speaker_cmvn` divides by."""
    frames = [np.asarray(a).reshape(-1, np.shape(a)[-1]) if np.ndim(a) else np.asarray(a).reshape(1, 1)
              for a in arrays]
    stacked = np.concatenate(frames).astype(np.float64) if frames else np.zeros((0, 1))
    if not len(stacked):
        raise ValueError("no frames to normalise by")
    return stacked.mean(axis=0), np.sqrt(stacked.var(axis=0) + eps)


def training_statistics(arrays, eps: float = 1e-5):
    """``(mean, std)`` per dimension over every frame of the training part's arrays: what global
    CMVN (:data:`TRAINING`) divides by (:func:`speaker_statistics` over the whole part)."""
    return speaker_statistics(arrays, eps)


def standardised(arrays, mean, std):
    """Each array minus ``mean``, divided by ``std`` (per dimension), as float32."""
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    return [((np.asarray(a) - mean) / std).astype(np.float32) for a in arrays]


def statistics_to_json(statistics) -> dict:
    """``{input: (mean, std)}`` -> ``{input: {"mean": [...], "std": [...]}}`` (float32 values, as a
    release entry stores them)."""
    return {name: {"mean": [float(np.float32(v)) for v in np.ravel(mean)],
                   "std": [float(np.float32(v)) for v in np.ravel(std)]}
            for name, (mean, std) in statistics.items()}


def statistics_from_json(stored, where: str = "release") -> dict:
    """The inverse of :func:`statistics_to_json`, checked (equal lengths, finite, std > 0)."""
    out = {}
    for name, item in dict(stored).items():
        try:
            mean, std = np.asarray(item["mean"], np.float64), np.asarray(item["std"], np.float64)
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: normalization of {name!r} needs 'mean' and 'std' lists of numbers") from None
        if mean.ndim != 1 or mean.shape != std.shape or not mean.size or not (
                np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError(f"{where}: normalization of {name!r} is not a finite mean and a positive std "
                             f"of one length (mean {mean.shape}, std {std.shape})")
        out[name] = (mean, std)
    return out
