"""pyAudioAnalysis short-term features and their high-level statistics (Atmaja & Akagi 2020 §III-B, Table I).

``paa_frames``: the 34 short-term features of ``pyAudioAnalysis.ShortTermFeatures.
feature_extraction`` (version 0.3.14) with 25 ms windows and 10 ms steps -> ``(T, 34)``
(zcr, energy, energy entropy, spectral centroid, spread, entropy, flux, rolloff, 13 MFCC,
12 chroma, chroma std). T = 1 + (N - window) // step (frames fully inside the signal).
Two backends compute them (option ``backend``, part of ``config()`` and so of the cache key):

* ``"vectorised"`` (default): :func:`zoo.features.paa_vectorised.short_term_features`,
  the same features on whole frame matrices with numpy/scipy, equal to pyAudioAnalysis
  within float64 rounding (``paa_vectorised.PARITY_TOLERANCE``, checked against
  pyAudioAnalysis by ``tests/features/test_paa_vectorised.py``) and about 20x faster
  (``benchmarks/results/hsf.md``);
* ``"pyaudioanalysis"``: the reference, pyAudioAnalysis' own per-frame Python loop.
  pyAudioAnalysis 0.3.14 appends 34 first-difference "delta" rows by default (68 rows);
  the paper uses the 34, so it is called with ``deltas=False``. It divides its input by
  2**15 (it expects the int16 samples of ``audioBasicIO.read_audio_file``), so our float
  signal in [-1, 1] is scaled by 2**15 first (exact: a power of two); it then removes DC
  and peak-normalises. The vectorised backend does the same normalisation.

``paa_hsf``: the 68-d HSF of the paper, mean and std over time of the 34 features
(means first, then stds, in the feature order above). Rule of the authors' code: exact
zeros are set to NaN before ``np.nanmean`` / ``np.nanstd`` (population std, ddof 0). A
column that is all zeros (hence all NaN) gets 0.0 for both its mean and std (option
``all_nan_value``) instead of NaN, so the vector stays finite.
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from .audio import AUDIO_LIBRARIES, AudioExtractor, ms_to_samples

N_SHORT_TERM = 34
#: ``backend`` values of :class:`PaaFrames` / :class:`PaaHSF`: ours (default), the reference.
BACKENDS = ("vectorised", "pyaudioanalysis")


def high_level_statistics(frames: np.ndarray, zero_to_nan: bool = True,
                          all_nan_value: float = 0.0) -> np.ndarray:
    """``(T, D)`` -> ``(2D,)``: [nan-mean over T, nan-std over T] after zeros -> NaN."""
    values = np.array(frames, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected (T, D) frames, got shape {values.shape}")
    if zero_to_nan:
        values[values == 0] = np.nan
    empty = np.all(np.isnan(values), axis=0)
    with warnings.catch_warnings():  # all-NaN columns warn "Mean of empty slice": handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
    mean[empty] = all_nan_value
    std[empty] = all_nan_value
    return np.concatenate([mean, std])


class PaaFrames(AudioExtractor):
    """pyAudioAnalysis' 34 short-term features per 25 ms / 10 ms frame: ``(T, 34)``.

    ``backend``: ``"vectorised"`` (default, :mod:`zoo.features.paa_vectorised`) or
    ``"pyaudioanalysis"`` (the reference implementation).
    """

    name = "paa_frames"

    def __init__(self, sr: Optional[int] = 16000, win_ms: float = 25.0, hop_ms: float = 10.0,
                 backend: str = "vectorised", trim_db: Optional[float] = None,
                 peak_normalize: bool = False):
        if backend not in BACKENDS:
            raise ValueError(f"{self.name}: unknown backend {backend!r}; known: {list(BACKENDS)}")
        self._set_trim(trim_db, peak_normalize)
        self.sr, self.win_ms, self.hop_ms, self.backend = sr, float(win_ms), float(hop_ms), backend

    @property
    def libraries(self):
        """Distributions whose versions change the output (part of the cache key)."""
        extra = ("pyAudioAnalysis",) if self.backend == "pyaudioanalysis" else ()
        return AUDIO_LIBRARIES + extra + ("scipy",)

    @property
    def shape(self):
        return (None, N_SHORT_TERM)

    def config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "backend": self.backend,
                "sr": self.sr, "win_ms": self.win_ms, "hop_ms": self.hop_ms, "deltas": False,
                **self._trim_config()}

    def min_samples(self, sr: int) -> int:
        return ms_to_samples(self.win_ms, sr)

    def compute(self, signal, sr):
        window, step = ms_to_samples(self.win_ms, sr), ms_to_samples(self.hop_ms, sr)
        if self.backend == "vectorised":
            from .paa_vectorised import short_term_features

            return short_term_features(signal, sr, window, step)
        from pyAudioAnalysis import ShortTermFeatures

        features, _names = ShortTermFeatures.feature_extraction(
            signal.astype(np.float64) * 2.0 ** 15, sr, window, step, deltas=False)
        return features.T


class PaaHSF(PaaFrames):
    """68-d HSF: nan-mean and nan-std of :class:`PaaFrames` after zeros -> NaN: ``(68,)``."""

    name = "paa_hsf"

    def __init__(self, zero_to_nan: bool = True, all_nan_value: float = 0.0, **frames):
        super().__init__(**frames)
        self.zero_to_nan, self.all_nan_value = bool(zero_to_nan), float(all_nan_value)

    @property
    def shape(self):
        return (2 * N_SHORT_TERM,)

    def config(self) -> dict:
        return {**super().config(), "zero_to_nan": self.zero_to_nan,
                "all_nan_value": self.all_nan_value}

    def compute(self, signal, sr):
        return high_level_statistics(super().compute(signal, sr), self.zero_to_nan, self.all_nan_value)
