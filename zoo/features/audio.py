"""Audio loading shared by every acoustic extractor: decode, downmix, resample, check.

Decoding uses ``soundfile`` (libsndfile: wav, flac, ogg, aiff ...) and falls back to
``librosa.load`` (audioread / ffmpeg) for containers libsndfile cannot read. Stereo is
downmixed to the mean of the channels (``librosa.to_mono``; RAVDESS has stereo files)
and the signal is resampled to the extractor's rate with ``librosa.resample``
(``soxr_hq``, librosa's default).

Input: ``extractor.extract(source)`` takes a :class:`zoo.data.records.Record` (its
``audio_path``), a file path (``str`` / ``pathlib.Path``), or a sample array with its rate,
``extract(samples, sample_rate=16000)``: 1-d mono or ``(n_samples, n_channels)`` as
``soundfile.read`` gives, float in [-1, 1] or integer PCM (scaled by full scale). An array
without ``sample_rate`` is a ``ValueError``; so is ``sample_rate`` with a Record or a path
(the file carries its own rate).

Minimum duration: every audio extractor refuses a signal shorter than
``max(min_duration * rate, min_samples(rate))``: ``min_duration`` is 0.25 s by default (a
class attribute, settable per instance; at 25 ms / 10 ms framing that is 23 frames, at
librosa's 2048 / 512 STFT 7 whole windows, so no feature is built from a couple of
frames), and ``min_samples`` is what the extractor's analysis needs (one window, or the
delta width). Shorter input raises :class:`zoo.features.base.TooShortError`, which
``zoo.pipeline.compute_features(on_error="skip")`` counts as ``"too short"``.

Every other problem raises :class:`zoo.features.base.FeatureError` naming the file (or
``<array>``): a missing or empty file, a file that cannot be decoded, no samples,
non-finite samples, an all-zero (silent) signal, and a feature that comes out with NaN/inf
values.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Optional, Tuple

import numpy as np

from .base import Extractor, FeatureError, TooShortError, as_record, require_source_file

#: Name used in errors about a sample array given to ``extract``.
ARRAY_SOURCE = "<array>"

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
    return prepare_signal(samples, rate, sr, path)


def prepare_signal(samples: np.ndarray, rate: int, sr: Optional[int], where: str = ARRAY_SOURCE):
    """Check, downmix and resample ``(n,)`` / ``(n, channels)`` samples: ``(signal, rate)``.

    ``where`` names the source in the :class:`FeatureError` of an empty, non-finite or
    silent signal.
    """
    if samples.size == 0:
        raise FeatureError(where, "audio holds no samples" if where == ARRAY_SOURCE else "audio file holds no samples")
    if not np.all(np.isfinite(samples)):
        raise FeatureError(where, "audio holds NaN/inf samples")
    signal = downmix(samples)
    if not np.any(signal):
        raise FeatureError(where, "audio is silent (every sample is zero)")
    signal = resample(signal, rate, sr)
    return np.asarray(signal, dtype=np.float32), int(sr or rate)


def array_samples(samples, sample_rate) -> Tuple[np.ndarray, int]:
    """A user's sample array as float32 ``(n,)`` / ``(n, channels)`` and its rate.

    Integer PCM is scaled by its full scale (int16 / 32768, as ``soundfile`` reads it).
    ``ValueError`` for a missing or non-positive ``sample_rate``, more than two dimensions,
    a ``(channels, n)`` layout, or a non-numeric / unsigned dtype.
    """
    if sample_rate is None:
        raise ValueError("a sample array needs its rate: extract(samples, sample_rate=16000)")
    if isinstance(sample_rate, bool) or not float(sample_rate).is_integer() or int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be a positive integer number of Hz, got {sample_rate!r}")
    array = np.asarray(samples)
    if array.ndim not in (1, 2):
        raise ValueError(f"expected samples of shape (n,) or (n, channels), got {array.shape}")
    if array.ndim == 2 and array.shape[1] > array.shape[0]:
        raise ValueError(f"samples of shape {array.shape} look like (channels, n); pass (n, channels), "
                         "e.g. samples.T")
    if array.dtype.kind == "i":
        array = array.astype(np.float64) / float(np.iinfo(array.dtype).max + 1)
    elif array.dtype.kind != "f":
        raise ValueError(f"samples must be float or signed integer PCM, got dtype {array.dtype}")
    return array.astype(np.float32), int(sample_rate)


def ms_to_samples(ms: float, sr: int) -> int:
    """Window/hop length in samples (rounded): 25 ms at 16 kHz -> 400."""
    return int(round(ms * sr / 1000.0))


class AudioExtractor(Extractor):
    """An extractor computed from audio: a Record's file, a path, or a sample array.

    Subclasses set ``sr`` (target rate, or None for the file's own rate), implement
    ``min_samples(sr)`` (the shortest signal their analysis allows) and
    ``compute(signal, sr) -> np.ndarray``. ``min_duration`` (seconds) is the documented
    floor on top of that (see the module docstring).
    """

    sr: Optional[int] = None
    #: version of our own code path: bump when an implementation change alters outputs.
    #: (``min_duration`` only refuses input, it changes no output: not bumped for it, so a
    #: FeatureCache entry written earlier for a clip now too short is still served.)
    implementation = 1
    libraries: Tuple[str, ...] = AUDIO_LIBRARIES
    #: Shortest accepted signal in seconds (on top of ``min_samples``): 0.25 s.
    min_duration: float = 0.25
    #: ``trim_db``: cut leading and trailing silence first, ``librosa.effects.trim(top_db=trim_db)``
    #: (frames more than ``trim_db`` dB below the signal's peak); None (default) keeps the signal.
    trim_db: Optional[float] = None
    #: ``peak_normalize``: scale the signal so that its largest absolute sample is 1
    #: (``librosa.util.normalize``) before any feature: the recording's gain no longer reaches
    #: the features. Some corpora ship peak-normalised files (EmoDB), others keep the recording
    #: level (RAVDESS, whose shouted takes are ~16 dB louder than its neutral ones); a model that
    #: learnt the level on one reads the other's as the wrong arousal. False (default) keeps it.
    peak_normalize: bool = False

    def _set_trim(self, trim_db: Optional[float], peak_normalize: bool = False) -> None:
        if trim_db is not None and (isinstance(trim_db, bool) or not float(trim_db) > 0):
            raise ValueError(f"{self.name}: trim_db must be a positive number of dB or None, got {trim_db!r}")
        if not isinstance(peak_normalize, (bool, np.bool_)):
            raise ValueError(f"{self.name}: peak_normalize must be True or False, got {peak_normalize!r}")
        self.trim_db = None if trim_db is None else float(trim_db)
        self.peak_normalize = bool(peak_normalize)

    def _trim_config(self) -> dict:
        """``{"trim_db": x}`` when trimming and ``{"peak_normalize": True}`` when normalising, else
        nothing (configs, cache keys and releases of other features stay as they were)."""
        return {**({} if self.trim_db is None else {"trim_db": self.trim_db}),
                **({"peak_normalize": True} if self.peak_normalize else {})}

    def trimmed(self, signal: np.ndarray) -> np.ndarray:
        """``signal`` without its leading and trailing silence when ``trim_db`` is set."""
        if self.trim_db is None:
            return signal
        import librosa

        return librosa.effects.trim(signal, top_db=self.trim_db)[0]

    def leveled(self, signal: np.ndarray) -> np.ndarray:
        """``signal`` scaled to a peak of 1 when ``peak_normalize`` is set (an all-zero signal
        stays zero)."""
        if not self.peak_normalize:
            return signal
        import librosa

        return librosa.util.normalize(signal).astype(signal.dtype, copy=False)

    def min_samples(self, sr: int) -> int:
        return 1

    def required_samples(self, sr: int) -> int:
        """The fewest samples accepted at rate ``sr``: ``max(min_duration * sr, min_samples(sr))``."""
        return max(int(math.ceil(float(self.min_duration) * sr - 1e-9)), int(self.min_samples(sr)), 1)

    def compute(self, signal: np.ndarray, sr: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def source_path(self, record) -> Optional[str]:
        if isinstance(record, (str, os.PathLike)):
            return os.fspath(record)
        return record.audio_path

    def read(self, source, sample_rate: Optional[int] = None) -> Tuple[np.ndarray, int, str]:
        """``(signal at self.sr, rate, where)`` of a Record, a path or a sample array."""
        if isinstance(source, np.ndarray):
            samples, rate = array_samples(source, sample_rate)
            signal, sr = prepare_signal(samples, rate, self.sr, ARRAY_SOURCE)
            return signal, sr, ARRAY_SOURCE
        if sample_rate is not None:
            raise ValueError(f"{self.name}: sample_rate= is for sample arrays; a file carries its own rate")
        try:
            record = as_record(source)
        except TypeError:
            raise TypeError(f"{self.name}: expected a Record, an audio file path or a numpy sample array, "
                            f"got {type(source).__name__}") from None
        path = self.source_path(record)
        if path is None:
            raise FeatureError(record.utterance_id, f"{self.name}: record has no audio_path")
        signal, sr = load_audio(path, self.sr)
        return signal, sr, path

    def extract(self, source, sample_rate: Optional[int] = None) -> np.ndarray:
        """The feature of ``source``: a Record, an audio file path, or samples with ``sample_rate``."""
        signal, sr, where = self.read(source, sample_rate)
        signal = self.leveled(self.trimmed(signal))
        need = self.required_samples(sr)
        if signal.shape[0] < need:
            duration = signal.shape[0] / sr
            raise TooShortError(
                where,
                f"audio too short for {self.name}: {duration:.3f} s ({signal.shape[0]} samples at "
                f"{sr} Hz), needs at least {need / sr:.3f} s ({need} samples; min_duration "
                f"{self.min_duration:g} s, analysis {self.min_samples(sr)} samples)",
                duration, need / sr,
            )
        return check_features(self.compute(signal, sr), where, self.name)


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
