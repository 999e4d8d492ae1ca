"""Spectral features from librosa: log-mel, MFCC, chroma, MFCC+deltas, fbank, log-mel image.

Every sequence feature is returned frames-first, ``(T, D)`` float32.

* ``logmel`` / ``mfcc`` / ``chroma`` — Kumar et al. 2021 §2.1.1: librosa defaults
  (n_fft 2048, hop 512, Hann, centred frames, 22,050 Hz = ``librosa.load``'s default
  rate, which the authors' code used). ``logmel`` is ``power_to_db`` of the 128-band
  power mel spectrogram (ref 1.0, amin 1e-10, top_db 80: librosa's defaults);
  ``log=False`` gives the power mel of the authors' code. ``chroma`` is
  ``chroma_stft`` of the magnitude ``|STFT|`` (as the authors' code). ``pooling="mean"``
  gives the utterance-mean vector ``(D,)`` of the reference variant.
* ``mfcc_deltas`` — Yoon et al. 2020 §4.2: 40 MFCC + Δ + ΔΔ = 120-d, 25 ms
  Hamming windows every 10 ms at 16 kHz (n_fft = window = 400 samples, 40 mel bands as
  Kaldi's 40-coefficient "hires" MFCC, frames inside the signal only, ``center=False``),
  deltas by ``librosa.feature.delta`` (Savitzky-Golay, width 9). The paper used Kaldi,
  whose MFCC differs in details we do not copy (pre-emphasis 0.97, dither, HTK mel scale
  from 20 Hz, cepstral lifter 22, c0 replaced by log energy); ``htk=True, fmin=20``
  brings the filterbank closer.
* ``fbank`` — Jalal et al. 2020 §4.2: 23 log-Mel filterbank energies, 25 ms
  Hamming / 10 ms at 16 kHz, ``center=False`` so T = 1 + (N - 400) // 160 (Kaldi's
  snip-edges framing). Log floor: ``log(max(S, 1.1920929e-07))`` (float32 epsilon, Kaldi's
  energy floor). Slaney mel scale (librosa's default; ``htk=True`` for HTK/Kaldi's).
* ``logmel_image`` — Kumar, Malik, Raman §3.2: the 128-band log-mel
  spectrogram as a 128 x 128 x 1 image (axis 0 = mel band, lowest first; axis 1 = time;
  axis 2 = channel). dB relative to the utterance maximum (``ref=np.max``, top_db 80).
  Time axis: ``time_axis="resize"`` (default) linearly interpolates the whole utterance to
  128 columns (``np.interp`` per band), ``"pad"`` keeps the first 128 frames and pads
  shorter ones with the image's floor (silence). Normalised per image by min-max to
  [0, 1] (a constant image becomes all zeros).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .audio import AudioExtractor, ms_to_samples

#: Kaldi's energy floor (float32 machine epsilon) used by ``fbank``'s log.
FBANK_LOG_FLOOR = float(np.finfo(np.float32).eps)

_POOLINGS = (None, "mean")


def chunk_frames(x: np.ndarray, length: int, overlap: int = 10, drop_short: bool = True,
                 pad_value: float = 0.0, keep_tail: bool = False) -> np.ndarray:
    """Cut a ``(T, ...)`` sequence into ``(n, length, ...)`` chunks that overlap by ``overlap`` frames.

    Jalal et al. 2020 §4.3.2 (CSA): fixed-length chunks, consecutive chunks share
    ``overlap`` frames (hop = length - overlap); a trailing partial chunk is dropped unless
    ``keep_tail`` adds one chunk aligned to the end. A sequence shorter than ``length`` gives
    ``(0, length, ...)`` when ``drop_short`` (the paper's rule) or one chunk padded at the end
    with ``pad_value`` otherwise. The one chunker of the project (the pipeline and
    ``zoo.csa`` call it).
    """
    x = np.asarray(x)
    if length < 1 or not 0 <= overlap < length:
        raise ValueError(f"need length >= 1 and 0 <= overlap < length, got {length}, {overlap}")
    if x.ndim < 1:
        raise ValueError(f"expected a (T, D) array, got shape {x.shape}")
    total = x.shape[0]
    if total < length:
        if drop_short:
            return np.zeros((0, length) + x.shape[1:], dtype=x.dtype)
        pad = np.full((length - total, *x.shape[1:]), pad_value, dtype=x.dtype)
        return np.concatenate([x, pad], axis=0)[None]
    starts = np.arange(0, total - length + 1, length - overlap)
    if keep_tail and starts[-1] + length < total:
        starts = np.append(starts, total - length)
    return x[starts[:, None] + np.arange(length)]


def average_chunk_posteriors(posteriors, utterance_index, n_utterances: Optional[int] = None) -> np.ndarray:
    """Mean of the chunk posteriors of each utterance: ``(n_utterances, C)`` (Jalal et al. 2020
    §4.3.2: the utterance posterior is the mean over its chunks).

    ``utterance_index[i]`` is the utterance of chunk ``i`` (what :func:`chunk_frames` cut from
    it, e.g. ``zoo.pipeline.FeatureTable.utterance_index``). Utterances without any chunk get a
    row of NaN. Here, beside the chunker, so that model modules need not import the pipeline.
    """
    posteriors = np.asarray(posteriors, dtype=np.float64)
    owners = np.asarray(utterance_index, dtype=np.int64).reshape(-1)
    if posteriors.ndim != 2 or posteriors.shape[0] != owners.size:
        raise ValueError(f"need (n_chunks, C) posteriors for {owners.size} chunks; got {posteriors.shape}")
    if n_utterances is None:
        n = int(owners.max()) + 1 if owners.size else 0
    else:
        n = int(n_utterances)
    sums = np.zeros((n, posteriors.shape[1]))
    np.add.at(sums, owners, posteriors)
    counts = np.bincount(owners, minlength=n)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


class _Stft(AudioExtractor):
    """Common STFT parameters (librosa's defaults) and the optional mean pooling."""

    n_features = 0

    def __init__(self, sr: Optional[int] = 22050, n_fft: int = 2048, hop_length: int = 512,
                 win_length: Optional[int] = None, window: str = "hann", center: bool = True,
                 pooling: Optional[str] = None, trim_db: Optional[float] = None,
                 peak_normalize: bool = False):
        if pooling not in _POOLINGS:
            raise ValueError(f"{self.name}: pooling must be one of {_POOLINGS}, got {pooling!r}")
        self._set_trim(trim_db, peak_normalize)
        self.sr, self.n_fft, self.hop_length = sr, int(n_fft), int(hop_length)
        self.win_length = None if win_length is None else int(win_length)
        self.window, self.center, self.pooling = window, bool(center), pooling

    @property
    def shape(self):
        return (self.n_features,) if self.pooling == "mean" else (None, self.n_features)

    def min_samples(self, sr: int) -> int:
        return self.win_length or self.n_fft

    def _stft_config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "sr": self.sr,
                "n_fft": self.n_fft, "hop_length": self.hop_length, "win_length": self.win_length,
                "window": self.window, "center": self.center, "pooling": self.pooling, **self._trim_config()}

    def _stft_kwargs(self) -> dict:
        return dict(n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                    window=self.window, center=self.center)

    def _finish(self, feature_by_frame: np.ndarray) -> np.ndarray:
        """librosa's ``(D, T)`` -> frames-first ``(T, D)``, or its mean over T."""
        frames = feature_by_frame.T
        return frames.mean(axis=0) if self.pooling == "mean" else frames


class LogMel(_Stft):
    """Mel spectrogram ``(T, n_mels)``: log (dB) by default, power with ``log=False``."""

    name = "logmel"

    def __init__(self, n_mels: int = 128, log: bool = True, top_db: Optional[float] = 80.0,
                 fmin: float = 0.0, fmax: Optional[float] = None, **stft):
        super().__init__(**stft)
        self.n_mels, self.log, self.top_db = int(n_mels), bool(log), top_db
        self.fmin, self.fmax = float(fmin), fmax
        self.n_features = self.n_mels

    def config(self) -> dict:
        return {**self._stft_config(), "n_mels": self.n_mels, "log": self.log,
                "top_db": self.top_db if self.log else None, "fmin": self.fmin, "fmax": self.fmax}

    def compute(self, signal, sr):
        import librosa

        power = librosa.feature.melspectrogram(y=signal, sr=sr, n_mels=self.n_mels, fmin=self.fmin,
                                               fmax=self.fmax, power=2.0, **self._stft_kwargs())
        if self.log:
            power = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=self.top_db)
        return self._finish(power)


class MFCC(_Stft):
    """``librosa.feature.mfcc`` (DCT-II ortho of the dB mel spectrogram): ``(T, n_mfcc)``."""

    name = "mfcc"

    def __init__(self, n_mfcc: int = 40, n_mels: int = 128, **stft):
        super().__init__(**stft)
        self.n_mfcc, self.n_mels = int(n_mfcc), int(n_mels)
        self.n_features = self.n_mfcc

    def config(self) -> dict:
        return {**self._stft_config(), "n_mfcc": self.n_mfcc, "n_mels": self.n_mels}

    def compute(self, signal, sr):
        import librosa

        return self._finish(librosa.feature.mfcc(y=signal, sr=sr, n_mfcc=self.n_mfcc,
                                                 n_mels=self.n_mels, **self._stft_kwargs()))


class Chroma(_Stft):
    """``librosa.feature.chroma_stft`` of the magnitude ``|STFT|``: ``(T, 12)``."""

    name = "chroma"

    def __init__(self, n_chroma: int = 12, **stft):
        super().__init__(**stft)
        self.n_chroma = int(n_chroma)
        self.n_features = self.n_chroma

    def config(self) -> dict:
        return {**self._stft_config(), "n_chroma": self.n_chroma, "spectrum": "magnitude"}

    def compute(self, signal, sr):
        import librosa

        magnitude = np.abs(librosa.stft(signal, **self._stft_kwargs()))
        return self._finish(librosa.feature.chroma_stft(S=magnitude, sr=sr, n_chroma=self.n_chroma,
                                                        n_fft=self.n_fft, hop_length=self.hop_length))


class _ShortTerm(AudioExtractor):
    """25 ms / 10 ms Hamming framing (n_fft = window), frames fully inside the signal."""

    def __init__(self, sr: Optional[int] = 16000, win_ms: float = 25.0, hop_ms: float = 10.0,
                 window: str = "hamming", center: bool = False, fmin: float = 0.0,
                 fmax: Optional[float] = None, htk: bool = False, trim_db: Optional[float] = None,
                 peak_normalize: bool = False):
        self._set_trim(trim_db, peak_normalize)
        self.sr, self.win_ms, self.hop_ms = sr, float(win_ms), float(hop_ms)
        self.window, self.center, self.htk = window, bool(center), bool(htk)
        self.fmin, self.fmax = float(fmin), fmax

    def _frames(self, sr: int) -> dict:
        win = ms_to_samples(self.win_ms, sr)
        return dict(n_fft=win, win_length=win, hop_length=ms_to_samples(self.hop_ms, sr),
                    window=self.window, center=self.center)

    def min_samples(self, sr: int) -> int:
        return ms_to_samples(self.win_ms, sr)

    def _short_term_config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "sr": self.sr,
                "win_ms": self.win_ms, "hop_ms": self.hop_ms, "window": self.window,
                "center": self.center, "fmin": self.fmin, "fmax": self.fmax, "htk": self.htk,
                **self._trim_config()}

    def _mel(self, signal, sr, n_mels):
        import librosa

        return librosa.feature.melspectrogram(y=signal, sr=sr, n_mels=n_mels, power=2.0,
                                              fmin=self.fmin, fmax=self.fmax, htk=self.htk,
                                              **self._frames(sr))


class MFCCDeltas(_ShortTerm):
    """40 MFCC + Δ + ΔΔ (Yoon et al. 2020 §4.2): ``(T, 3 * n_mfcc)`` = ``(T, 120)``."""

    name = "mfcc_deltas"

    def __init__(self, n_mfcc: int = 40, n_mels: int = 40, delta_width: int = 9, **frames):
        super().__init__(**frames)
        self.n_mfcc, self.n_mels, self.delta_width = int(n_mfcc), int(n_mels), int(delta_width)

    @property
    def shape(self):
        return (None, 3 * self.n_mfcc)

    def min_samples(self, sr: int) -> int:
        # librosa.feature.delta (mode "interp") needs at least ``delta_width`` frames.
        return ms_to_samples(self.win_ms, sr) + (self.delta_width - 1) * ms_to_samples(self.hop_ms, sr)

    def config(self) -> dict:
        return {**self._short_term_config(), "n_mfcc": self.n_mfcc, "n_mels": self.n_mels,
                "delta_width": self.delta_width}

    def compute(self, signal, sr):
        import librosa

        mel_db = librosa.power_to_db(self._mel(signal, sr, self.n_mels))
        mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=self.n_mfcc)
        d1 = librosa.feature.delta(mfcc, width=self.delta_width, order=1)
        d2 = librosa.feature.delta(mfcc, width=self.delta_width, order=2)
        return np.concatenate([mfcc, d1, d2], axis=0).T


class FBank(_ShortTerm):
    """23-d log-Mel filterbank (Jalal et al. 2020 §4.2): ``log(max(mel power, log_floor))``."""

    name = "fbank"

    def __init__(self, n_mels: int = 23, log_floor: float = FBANK_LOG_FLOOR, **frames):
        super().__init__(**frames)
        self.n_mels, self.log_floor = int(n_mels), float(log_floor)

    @property
    def shape(self):
        return (None, self.n_mels)

    def config(self) -> dict:
        return {**self._short_term_config(), "n_mels": self.n_mels, "log_floor": self.log_floor}

    def compute(self, signal, sr):
        return np.log(np.maximum(self._mel(signal, sr, self.n_mels), self.log_floor)).T


class LogMelImage(_Stft):
    """128-band log-mel spectrogram as a ``(n_mels, size, 1)`` image in [0, 1] (ParallelNet §3.2)."""

    name = "logmel_image"
    _TIME_AXIS = ("resize", "pad")

    def __init__(self, n_mels: int = 128, size: int = 128, time_axis: str = "resize",
                 top_db: float = 80.0, **stft):
        if stft.get("pooling") is not None:
            raise ValueError("logmel_image does not pool")
        if time_axis not in self._TIME_AXIS:
            raise ValueError(f"time_axis must be one of {self._TIME_AXIS}, got {time_axis!r}")
        super().__init__(**stft)
        self.n_mels, self.size, self.time_axis, self.top_db = int(n_mels), int(size), time_axis, float(top_db)

    @property
    def shape(self):
        return (self.n_mels, self.size, 1)

    def config(self) -> dict:
        return {**self._stft_config(), "n_mels": self.n_mels, "size": self.size,
                "time_axis": self.time_axis, "top_db": self.top_db, "normalise": "minmax"}

    def compute(self, signal, sr):
        import librosa

        power = librosa.feature.melspectrogram(y=signal, sr=sr, n_mels=self.n_mels, **self._stft_kwargs())
        db = librosa.power_to_db(power, ref=np.max, top_db=self.top_db)  # (n_mels, T) in [-top_db, 0]
        image = self._fit_time(db)
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        return image[..., None]

    def _fit_time(self, db: np.ndarray) -> np.ndarray:
        frames = db.shape[1]
        if self.time_axis == "pad":
            db = db[:, :self.size]
            return np.pad(db, [(0, 0), (0, self.size - db.shape[1])], constant_values=db.min())
        if frames == 1:
            return np.repeat(db, self.size, axis=1)
        # Linear interpolation of each band onto ``size`` evenly spaced time points.
        old = np.linspace(0.0, 1.0, frames)
        new = np.linspace(0.0, 1.0, self.size)
        return np.stack([np.interp(new, old, band) for band in db])
