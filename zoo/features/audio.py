"""Audio loading shared by every acoustic extractor: decode, downmix, resample, check.

Decoding uses ``soundfile`` (libsndfile: wav, flac, ogg, aiff ...) and falls back to
``librosa.load`` (audioread / ffmpeg) for containers libsndfile cannot read. Stereo is
downmixed to the mean of the channels (``librosa.to_mono``; RAVDESS has stereo files)
and the signal is resampled to the extractor's rate with ``librosa.resample``
(``soxr_hq``, librosa's default).

Every problem raises :class:`zoo.features.base.FeatureError` naming the file: a missing
or empty file, a file that cannot be decoded, no samples, non-finite samples, an
all-zero (silent) signal, a signal shorter than the extractor's analysis window, and a
feature that comes out with NaN/inf values.
"""
from __future__ import annotations

import warnings
from typing import Optional, Tuple

import numpy as np

from .base import Extractor, FeatureError, require_source_file

#: Libraries whose versions change decoded/resampled audio (part of every audio cache key).
AUDIO_LIBRARIES = ("numpy", "soundfile", "soxr", "librosa")


def decode(path: str) -> Tuple[np.ndarray, int]:
    """Decode ``path`` to float32 samples ``(n_samples, n_channels)`` and its rate."""
    path = require_source_file(path, "audio")
    import soundfile

    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as sf_error:  # libsndfile cannot read it: try audioread via librosa
        try:
            import librosa

            with warnings.catch_warnings():  # librosa warns that it falls back to audioread
                warnings.simplefilter("ignore")
                samples, rate = librosa.load(path, sr=None, mono=False)
        except Exception:
            raise FeatureError(path, f"cannot decode audio ({sf_error})") from sf_error
        samples = np.atleast_2d(samples).T  # librosa gives (channels, n)
    return np.asarray(samples, dtype=np.float32), int(rate)


def downmix(samples: np.ndarray) -> np.ndarray:
    """Mean over channels: ``(n, channels) -> (n,)``; a 1-d signal is returned as is."""
    if samples.ndim == 1:
        return samples
    import librosa

    return librosa.to_mono(np.ascontiguousarray(samples.T))


def resample(signal: np.ndarray, orig_sr: int, target_sr: Optional[int]) -> np.ndarray:
    """Resample with ``librosa.resample`` (soxr_hq); no-op when the rates agree or target is None."""
    if target_sr is None or int(orig_sr) == int(target_sr):
        return signal
    import librosa

    return librosa.resample(signal, orig_sr=int(orig_sr), target_sr=int(target_sr), res_type="soxr_hq")


def load_audio(path: str, sr: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Load a mono float32 signal at ``sr`` (native rate when None) and check it.

    Raises :class:`FeatureError` for missing/empty/undecodable files, no samples,
    non-finite samples and all-zero (silent) signals.
    """
    samples, rate = decode(path)
    if samples.size == 0:
        raise FeatureError(path, "audio file holds no samples")
    if not np.all(np.isfinite(samples)):
        raise FeatureError(path, "audio holds NaN/inf samples")
    signal = downmix(samples)
    if not np.any(signal):
        raise FeatureError(path, "audio is silent (every sample is zero)")
    signal = resample(signal, rate, sr)
    return np.asarray(signal, dtype=np.float32), int(sr or rate)


def ms_to_samples(ms: float, sr: int) -> int:
    """Window/hop length in samples (rounded): 25 ms at 16 kHz -> 400."""
    return int(round(ms * sr / 1000.0))


class AudioExtractor(Extractor):
    """An extractor computed from the record's audio file.

    Subclasses set ``sr`` (target rate, or None for the file's own rate), implement
    ``min_samples(sr)`` (the shortest signal their window allows) and
    ``compute(signal, sr) -> np.ndarray``.
    """

    sr: Optional[int] = None
    #: version of our own code path: bump when an implementation change alters outputs.
    implementation = 1
    libraries: Tuple[str, ...] = AUDIO_LIBRARIES

    def min_samples(self, sr: int) -> int:
        return 1

    def compute(self, signal: np.ndarray, sr: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def extract(self, record) -> np.ndarray:
        path = self.source_path(record)
        if path is None:
            raise FeatureError(record.utterance_id, f"{self.name}: record has no audio_path")
        signal, sr = load_audio(path, self.sr)
        need = self.min_samples(sr)
        if signal.shape[0] < need:
            raise FeatureError(
                path,
                f"audio too short for {self.name}: {signal.shape[0]} samples "
                f"({signal.shape[0] / sr:.3f} s) at {sr} Hz, needs at least {need} "
                f"({need / sr:.3f} s)",
            )
        return check_features(self.compute(signal, sr), path, self.name)


def check_features(features: np.ndarray, path, name: str) -> np.ndarray:
    """Cast to float32 and reject empty or non-finite outputs with a :class:`FeatureError`."""
    features = np.asarray(features, dtype=np.float32)
    if features.size == 0:
        raise FeatureError(path, f"{name} produced an empty array of shape {features.shape}")
    bad = ~np.isfinite(features)
    if bad.any():
        raise FeatureError(
            path, f"{name} produced {int(bad.sum())} NaN/inf values out of {features.size}"
        )
    return features
