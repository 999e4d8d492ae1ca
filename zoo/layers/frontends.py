"""In-graph audio front-ends: the zoo's spectral features computed from a waveform inside a Keras model.

Each layer equals one extractor of :mod:`zoo.features.spectral` (librosa) on the same signal at
the same rate, within the tolerances that ``tests/test_frontends.py`` asserts (float32 in the
graph against librosa's float32 STFT; see :data:`TOLERANCES`):

========================  ==========================================  =========================
layer                     extractor (``zoo.features.get``)            output
========================  ==========================================  =========================
:class:`FBank`            ``fbank`` (Jalal et al. 2020 Sec. 4.2)      ``(B, T, 23)``
:class:`LogMel`           ``logmel`` (Kumar et al. 2021 Sec. 2.1.1)    ``(B, T, 128)`` or ``(B, 128)``
:class:`MFCC`             ``mfcc``                                    ``(B, T, n_mfcc)`` or pooled
:class:`MFCCDeltas`       ``mfcc_deltas`` (Yoon et al. 2020 Sec. 4.2)  ``(B, T, 120)``
:class:`LogMelImage`      ``logmel_image`` (ParallelNet Sec. 3.2)      ``(B, 128, 128, 1)``
:class:`UtteranceCMVN`    ``normalize="utterance"``                   same as its input
========================  ==========================================  =========================

Input: a float32 waveform ``(B, N)`` at the layer's ``sample_rate``, or ``[waveform, lengths]``
with ``lengths`` ``(B,)`` the number of real samples of each zero-padded row. A row's frames are
those the extractor computes for its first ``lengths[b]`` samples (``1 + n // hop`` centred,
``1 + (n - n_fft) // hop`` otherwise); the frames after them, up to the batch's ``T``, are set to
zero (padding; the sequence models mask them from the frame counts, ``<name>_length``). Per-utterance
statistics (the dB clamp ``top_db`` below the utterance maximum, CMVN's mean and variance, the
image's min-max, the deltas' edge fits, mean pooling) use the row's own frames only, so a padded
batch gives each row what it gets alone. ``return_frames=True`` also returns the frame counts
``(B,)`` int32, which :class:`UtteranceCMVN` and :class:`ChunkFrames` take. Signals shorter than
the extractor's minimum (:meth:`Frontend.min_samples`) give no frame (or too few for the deltas);
the extractors refuse them (``TooShortError``), the layers cannot raise in a graph.

How (and why not ``keras.layers.MelSpectrogram``): that layer uses the HTK mel scale without
Slaney's area normalisation, reflect padding and a top-dB clamp relative to the maximum of the
whole batch, so it cannot equal librosa's defaults (Slaney mel, zero padding, per-utterance
clamp). Here the STFT is one strided ``keras.ops.conv`` whose kernel is the windowed real DFT
basis (window from ``librosa.filters.get_window``, centred in ``n_fft`` as librosa does): it frames
and transforms in one op that every export format holds, for any ``n_fft`` (LiteRT's FFT needs
powers of two, the fbank's is 400). The mel matrix is ``librosa.filters.mel`` itself, the DCT
``scipy.fft.dct`` (type II, ortho) of the identity and the delta filter is
``scipy.signal.savgol_filter`` (librosa's ``delta``, mode ``interp``) applied to the identity:
each a constant computed from the library when the layer is built, so an exported graph needs
neither at run time. The layers have no weights; their config rebuilds them (``.keras`` round
trip).

Not in-graph (the export says so): ``chroma`` (librosa estimates the tuning of each utterance by
pitch tracking, a median threshold and a histogram argmax before building its filterbank),
pyAudioAnalysis' ``paa_frames`` / ``paa_hsf`` (numpy code with data-dependent branches and
its own pitch tracking), the tokenisers ``word_ids`` / ``bert_tokens`` (string processing),
``image`` / ``video_resnet`` (not audio), and resampling (the waveform must be at the
extractor's rate).
"""
from __future__ import annotations

from typing import Optional

import keras
import numpy as np
from keras import ops

__all__ = ["Frontend", "FBank", "LogMel", "MFCC", "MFCCDeltas", "LogMelImage", "UtteranceCMVN",
           "ChunkFrames", "MaskedMean", "NotInGraphError", "frontend_for", "TOLERANCES", "NOT_IN_GRAPH"]

#: Largest differences to the librosa extractors that the tests accept, per feature (absolute,
#: in the feature's own unit), about ten times the largest seen on synthetic signals and EmoDB
#: clips (float32 DFT and log in the graph against librosa's float32 STFT): fbank 2.2e-5,
#: logmel 6e-4 dB, mfcc 1.4e-3, mfcc_deltas 1.8e-4, logmel_image 6e-6, CMVN of fbank 3e-4. For
#: scale: a symmetric instead of periodic Hamming window moves fbank by 0.07, HTK instead of
#: Slaney mel by 12.
TOLERANCES = {
    "fbank": 2e-4,          # natural log of mel power
    "logmel": 5e-3,         # dB
    "mfcc": 1e-2,           # DCT of dB
    "mfcc_deltas": 5e-3,    # MFCC, delta and delta-delta of dB
    "logmel_image": 1e-4,   # [0, 1] image
    "cmvn": 3e-3,           # of fbank, normalised (unit variance)
}

#: Extractors without an in-graph front-end, and why.
NOT_IN_GRAPH = {
    "chroma": "librosa's chroma_stft estimates each utterance's tuning (piptrack, a median threshold and a "
              "histogram argmax) before building its filterbank; no in-graph equivalent is provided",
    "paa_frames": "pyAudioAnalysis short-term features are numpy code with data-dependent branches "
                  "(pitch/harmonic ratio, spectral entropy); not in-graph",
    "paa_hsf": "pyAudioAnalysis high-level statistics of short-term features are numpy code; not in-graph",
    "word_ids": "text tokenisation (regex split + vocabulary lookup of strings) is not in-graph",
    "bert_tokens": "BERT word-piece tokenisation of strings is not in-graph",
    "image": "a face image, not audio",
    "video_resnet": "video frames through a ResNet, not audio",
}


class NotInGraphError(ValueError):
    """A feature that has no in-graph front-end (names it and says why)."""


def _frames_of(samples, n_fft: int, hop: int, center: bool):
    """Frame count of ``samples`` (int or int tensor) as librosa frames them: ``1 + n // hop``
    centred, ``1 + (n - n_fft) // hop`` (at least 0) otherwise."""
    if center:
        return 1 + samples // hop
    if isinstance(samples, int):
        return max(1 + (samples - n_fft) // hop, 0)
    return ops.maximum(1 + (samples - n_fft) // hop, 0)


def _valid(frames, length):
    """``(B, T)`` float mask of the first ``frames[b]`` of ``length`` frames."""
    return ops.cast(ops.arange(length)[None, :] < ops.expand_dims(frames, 1), "float32")


class Frontend(keras.layers.Layer):
    """Waveform ``(B, N)`` (or ``[waveform, lengths]``) -> mel power frames: the base of every front-end.

    ``sample_rate``, ``n_fft``, ``hop_length``, ``win_length`` (None: ``n_fft``), ``window`` (a
    scipy/librosa window name), ``center`` (zero-pad ``n_fft // 2`` both sides, librosa's
    ``pad_mode="constant"``), ``n_mels``, ``fmin``, ``fmax``, ``htk``: as the librosa calls of
    the extractor. Subclasses turn the power frames into their feature (:meth:`features`).
    """

    def __init__(self, sample_rate: int = 16000, n_fft: int = 400, hop_length: int = 160,
                 win_length: Optional[int] = None, window: str = "hann", center: bool = True, n_mels: int = 128,
                 fmin: float = 0.0, fmax: Optional[float] = None, htk: bool = False, return_frames: bool = False,
                 **kwargs):
        kwargs["dtype"] = "float32"  # spectra in float32 whatever the policy
        super().__init__(**kwargs)
        self.sample_rate, self.n_fft, self.hop_length = int(sample_rate), int(n_fft), int(hop_length)
        self.win_length = None if win_length is None else int(win_length)
        if self.n_fft < 2 or self.hop_length < 1 or (self.win_length or self.n_fft) > self.n_fft:
            raise ValueError(f"{self.name}: need n_fft >= 2, hop_length >= 1, win_length <= n_fft; got "
                             f"{self.n_fft}, {self.hop_length}, {self.win_length}")
        self.window, self.center, self.n_mels = str(window), bool(center), int(n_mels)
        self.fmin, self.fmax, self.htk = float(fmin), (None if fmax is None else float(fmax)), bool(htk)
        self.return_frames = bool(return_frames)
        self._constants()

    def _constants(self):
        import librosa

        window = librosa.filters.get_window(self.window, self.win_length or self.n_fft, fftbins=True)
        window = librosa.util.pad_center(window, size=self.n_fft)
        bins = self.n_fft // 2 + 1
        phase = 2.0 * np.pi * np.outer(np.arange(self.n_fft), np.arange(bins)) / self.n_fft
        # Real DFT basis, windowed: frame @ [cos | -sin] = [Re X | Im X] (numpy.fft.rfft's sign).
        basis = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]
        self._dft = basis[:, None, :].astype(np.float32)  # conv kernel (n_fft, 1 channel, 2 * bins)
        mel = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin,
                                  fmax=self.fmax, htk=self.htk)
        self._mel = mel.T.astype(np.float32)  # (bins, n_mels)

    # ----------------------------------------------------------------- shared steps
    def min_samples(self) -> int:
        """Fewest samples giving one frame (the extractors' own floor is 0.25 s, see zoo.features.audio)."""
        return 1 if self.center else self.n_fft

    def frames(self, samples):
        """Frame count of ``samples`` samples (int or int tensor)."""
        return _frames_of(samples, self.n_fft, self.hop_length, self.center)

    def _split(self, inputs):
        if isinstance(inputs, (list, tuple)):
            waveform, lengths = inputs
            waveform = ops.cast(waveform, "float32")
            lengths = ops.cast(ops.reshape(lengths, (-1,)), "int32")
        else:
            waveform = ops.cast(inputs, "float32")
            lengths = ops.full((ops.shape(waveform)[0],), ops.shape(waveform)[1], dtype="int32")
        return waveform, lengths

    def power(self, waveform):
        """``|STFT|²`` frames ``(B, T, n_fft // 2 + 1)``."""
        x = ops.expand_dims(waveform, -1)
        if self.center:
            half = self.n_fft // 2
            x = ops.pad(x, [(0, 0), (half, half), (0, 0)])
        spectrum = ops.conv(x, ops.convert_to_tensor(self._dft), strides=self.hop_length, padding="valid")
        bins = self.n_fft // 2 + 1
        return ops.square(spectrum[..., :bins]) + ops.square(spectrum[..., bins:])

    def mel_power(self, waveform):
        """Mel power frames ``(B, T, n_mels)`` (librosa's ``melspectrogram(power=2.0)``)."""
        return ops.matmul(self.power(waveform), ops.convert_to_tensor(self._mel))

    def features(self, mel, valid):
        """The feature from mel power ``(B, T, n_mels)`` and the ``(B, T)`` valid-frame mask."""
        return mel

    def call(self, inputs):
        waveform, lengths = self._split(inputs)
        mel = self.mel_power(waveform)
        frames = ops.cast(self.frames(lengths), "int32")
        valid = _valid(frames, ops.shape(mel)[1])
        out = self.features(mel, valid)
        return [out, frames] if self.return_frames else out

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "sample_rate": self.sample_rate, "n_fft": self.n_fft, "hop_length": self.hop_length,
                "win_length": self.win_length, "window": self.window, "center": self.center,
                "n_mels": self.n_mels, "fmin": self.fmin, "fmax": self.fmax, "htk": self.htk,
                "return_frames": self.return_frames}


def _power_to_db(mel, valid, top_db, amin: float = 1e-10, ref=None):
    """librosa's ``power_to_db(S, ref=1.0 | ref=np.max, amin, top_db)`` over each row's valid frames."""
    db = 10.0 * ops.log(ops.maximum(mel, amin)) / np.log(10.0)
    mask = ops.expand_dims(valid, -1) > 0
    low = ops.convert_to_tensor(-1e30, "float32")
    peak = ops.max(ops.where(mask, db, low), axis=(1, 2), keepdims=True)
    if ref == "max":
        # 10 log10(max(ref, amin)) with ref = the row's largest power: its peak in dB (amin floors both).
        db = db - peak
        peak = ops.zeros_like(peak)
    if top_db is not None:
        db = ops.maximum(db, peak - float(top_db))
    return db


def _masked(x, valid):
    return x * ops.expand_dims(valid, -1)


def _mean_over(x, valid):
    """Mean over each row's valid frames: ``(B, D)`` (0/0 = NaN for a row without frames)."""
    total = ops.sum(_masked(x, valid), axis=1)
    return total / ops.expand_dims(ops.sum(valid, axis=1), -1)


@keras.saving.register_keras_serializable(package="zoo")
class FBank(Frontend):
    """``fbank``: ``log(max(mel power, log_floor))``, 25 ms Hamming every 10 ms, frames inside the signal.

    Jalal et al. 2020 Sec. 4.2 (Kaldi's snip-edges framing, ``center=False``; float32 epsilon floor).
    """

    def __init__(self, sample_rate: int = 16000, n_mels: int = 23, log_floor: float = float(np.finfo(np.float32).eps),
                 n_fft: int = 400, hop_length: int = 160, window: str = "hamming", center: bool = False, **kwargs):
        kwargs.pop("win_length", None)
        super().__init__(sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, window=window, center=center,
                         n_mels=n_mels, **kwargs)
        self.log_floor = float(log_floor)

    def features(self, mel, valid):
        return _masked(ops.log(ops.maximum(mel, self.log_floor)), valid)

    def get_config(self):
        config = super().get_config()
        config.pop("win_length", None)
        return {**config, "log_floor": self.log_floor}


class _Pooled(Frontend):
    """Frame features, or their mean over the utterance (``pooling="mean"``)."""

    def __init__(self, pooling: Optional[str] = None, **kwargs):
        if pooling not in (None, "mean"):
            raise ValueError(f"pooling must be None or 'mean', got {pooling!r}")
        self.pooling = pooling
        super().__init__(**kwargs)

    def _finish(self, x, valid):
        return _mean_over(x, valid) if self.pooling == "mean" else _masked(x, valid)

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling}


@keras.saving.register_keras_serializable(package="zoo")
class LogMel(_Pooled):
    """``logmel``: ``power_to_db`` of the mel power (ref 1, amin 1e-10, ``top_db`` below the
    utterance maximum), or the power itself with ``log=False``. librosa defaults: n_fft 2048,
    hop 512, Hann, centred."""

    def __init__(self, sample_rate: int = 22050, n_mels: int = 128, log: bool = True,
                 top_db: Optional[float] = 80.0, n_fft: int = 2048, hop_length: int = 512, window: str = "hann",
                 center: bool = True, **kwargs):
        self.log, self.top_db = bool(log), (None if top_db is None else float(top_db))
        super().__init__(sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length,
                         window=window, center=center, **kwargs)

    def features(self, mel, valid):
        x = _power_to_db(mel, valid, self.top_db) if self.log else mel
        return self._finish(x, valid)

    def get_config(self):
        return {**super().get_config(), "log": self.log, "top_db": self.top_db}


def _dct_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """``(n_mels, n_mfcc)``: x @ M = scipy.fft.dct(x, type=2, norm="ortho")[:n_mfcc] (librosa's mfcc)."""
    import scipy.fft

    return scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=-1)[:, :n_mfcc].astype(np.float32)


@keras.saving.register_keras_serializable(package="zoo")
class MFCC(_Pooled):
    """``mfcc``: ``librosa.feature.mfcc`` = DCT-II (ortho) of the dB mel spectrogram (top_db 80), first
    ``n_mfcc`` coefficients, no lifter."""

    def __init__(self, sample_rate: int = 22050, n_mfcc: int = 40, n_mels: int = 128, top_db: Optional[float] = 80.0,
                 n_fft: int = 2048, hop_length: int = 512, window: str = "hann", center: bool = True, **kwargs):
        self.n_mfcc, self.top_db = int(n_mfcc), (None if top_db is None else float(top_db))
        super().__init__(sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length,
                         window=window, center=center, **kwargs)
        self._dct = _dct_matrix(self.n_mels, self.n_mfcc)


    def cepstra(self, mel, valid):
        return ops.matmul(_power_to_db(mel, valid, self.top_db), ops.convert_to_tensor(self._dct))

    def features(self, mel, valid):
        return self._finish(self.cepstra(mel, valid), valid)

    def get_config(self):
        return {**super().get_config(), "n_mfcc": self.n_mfcc, "top_db": self.top_db}


def _savgol_operator(width: int, order: int) -> np.ndarray:
    """``(width, width)`` matrix of ``scipy.signal.savgol_filter(x, width, order, deriv=order,
    mode="interp")`` on a ``width``-frame signal: row ``width // 2`` is the interior filter, the
    rows before (after) it the fits of the first (last) ``width`` frames (librosa's ``delta``)."""
    import scipy.signal

    return scipy.signal.savgol_filter(np.eye(width), width, order, deriv=order, axis=0, mode="interp")


@keras.saving.register_keras_serializable(package="zoo")
class MFCCDeltas(MFCC):
    """``mfcc_deltas``: 40 MFCC + Δ + ΔΔ (``librosa.feature.delta``, width 9, Savitzky-Golay with
    polynomial fits at both ends), 25 ms Hamming every 10 ms, frames inside the signal (Yoon et al.
    2020 Sec. 4.2)."""

    def __init__(self, sample_rate: int = 16000, n_mfcc: int = 40, n_mels: int = 40, delta_width: int = 9,
                 n_fft: int = 400, hop_length: int = 160, window: str = "hamming", center: bool = False, **kwargs):
        kwargs.pop("pooling", None)
        kwargs.pop("win_length", None)
        self.delta_width = int(delta_width)
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ValueError(f"delta_width must be odd and >= 3, got {delta_width}")
        super().__init__(sample_rate=sample_rate, n_mfcc=n_mfcc, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length,
                         window=window, center=center, **kwargs)
        self._savgol = {order: _savgol_operator(self.delta_width, order).astype(np.float32) for order in (1, 2)}

    def min_samples(self) -> int:
        return self.n_fft + (self.delta_width - 1) * self.hop_length


    def _delta(self, x, frames, valid, order: int):
        """Savitzky-Golay derivative of each row over its own ``frames[b]`` frames (mode ``interp``)."""
        op = self._savgol[order]
        width, half = self.delta_width, self.delta_width // 2
        length = ops.shape(x)[1]
        # Interior: correlation with the middle row (zero padding only reaches the edge frames,
        # which the edge fits below replace).
        padded = ops.pad(x, [(0, 0), (half, half), (0, 0)])
        interior = 0.0
        for k in range(width):
            interior = interior + float(op[half, k]) * padded[:, k:k + length, :]
        t = ops.arange(length)
        # One-hot selections of each row's first and last ``width`` frames (matmuls export everywhere).
        last = ops.expand_dims(frames, 1) - width + ops.arange(width)[None, :]  # (B, width)
        pick_head = ops.cast(ops.arange(width)[None, :, None] == t[None, None, :], "float32")  # (1, width, T)
        pick_tail = ops.cast(ops.expand_dims(last, -1) == t[None, None, :], "float32")  # (B, width, T)
        head = ops.matmul(ops.convert_to_tensor(op[:half]), ops.matmul(pick_head, x))  # (B, half, D)
        tail = ops.matmul(ops.convert_to_tensor(op[half + 1:]), ops.matmul(pick_tail, x))  # (B, half, D)
        # Place them at frames 0..half-1 and frames[b]-half .. frames[b]-1.
        put_head = ops.cast(t[None, :, None] == ops.arange(half)[None, None, :], "float32")  # (1, T, half)
        tail_at = ops.expand_dims(frames, 1) - half + ops.arange(half)[None, :]  # (B, half)
        put_tail = ops.cast(t[None, :, None] == ops.expand_dims(tail_at, 1), "float32")  # (B, T, half)
        edge = ops.sum(put_head, axis=-1, keepdims=True) + ops.sum(put_tail, axis=-1, keepdims=True)
        placed = ops.matmul(put_head, head) + ops.matmul(put_tail, tail)
        out = interior * (1.0 - ops.minimum(edge, 1.0)) + placed
        return _masked(out, valid)

    def call(self, inputs):
        waveform, lengths = self._split(inputs)
        mel = self.mel_power(waveform)
        frames = ops.cast(self.frames(lengths), "int32")
        valid = _valid(frames, ops.shape(mel)[1])
        mfcc = _masked(self.cepstra(mel, valid), valid)
        out = ops.concatenate([mfcc, self._delta(mfcc, frames, valid, 1), self._delta(mfcc, frames, valid, 2)],
                              axis=-1)
        return [out, frames] if self.return_frames else out


    def get_config(self):
        config = super().get_config()
        for key in ("pooling", "win_length"):
            config.pop(key, None)
        return {**config, "delta_width": self.delta_width}


@keras.saving.register_keras_serializable(package="zoo")
class LogMelImage(Frontend):
    """``logmel_image``: the dB mel spectrogram (ref = the utterance's maximum, ``top_db`` 80) as a
    ``(n_mels, size, 1)`` image in [0, 1] (min-max per image; a constant image is all zeros), band 0
    first. ``time_axis="resize"`` interpolates each band linearly onto ``size`` evenly spaced times
    (``np.interp``: here a hat-kernel matrix per row), ``"pad"`` keeps the first ``size`` frames and
    fills the rest with the image's minimum. ParallelNet Sec. 3.2."""

    def __init__(self, sample_rate: int = 22050, n_mels: int = 128, size: int = 128, time_axis: str = "resize",
                 top_db: float = 80.0, n_fft: int = 2048, hop_length: int = 512, window: str = "hann",
                 center: bool = True, **kwargs):
        if time_axis not in ("resize", "pad"):
            raise ValueError(f"time_axis must be 'resize' or 'pad', got {time_axis!r}")
        self.size, self.time_axis, self.top_db = int(size), time_axis, float(top_db)
        super().__init__(sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length, window=window,
                         center=center, **kwargs)

    def features(self, mel, valid):
        db = _power_to_db(mel, valid, self.top_db, ref="max")  # (B, T, n_mels) in [-top_db, 0]
        frames = ops.sum(valid, axis=1)  # (B,) float
        length = ops.shape(db)[1]
        t = ops.cast(ops.arange(length), "float32")
        if self.time_axis == "resize":
            # np.interp(linspace(0, 1, size), linspace(0, 1, frames), band): weights max(0, 1 - |p - t|).
            step = ops.expand_dims(frames - 1.0, 1) / float(max(self.size - 1, 1))
            positions = ops.cast(ops.arange(self.size), "float32")[None, :] * step  # (B, size)
            weights = ops.relu(1.0 - ops.abs(ops.expand_dims(positions, -1) - t[None, None, :]))  # (B, size, T)
            weights = weights * ops.expand_dims(valid, 1)
            image = ops.matmul(weights, db)  # (B, size, n_mels)
            kept = ops.ones_like(image[..., :1])
        else:
            keep = ops.cast(ops.arange(self.size), "float32")
            pick = ops.cast(keep[:, None] == t[None, :], "float32")  # (size, T)
            image = ops.einsum("st,btm->bsm", pick, db * ops.expand_dims(valid, -1))
            kept = ops.cast(keep[None, :] < ops.expand_dims(frames, 1), "float32")[..., None]  # (B, size, 1)
            floor = ops.min(ops.where(kept > 0, image, 1e30), axis=(1, 2), keepdims=True)
            image = image * kept + floor * (1.0 - kept)
        low = ops.min(image, axis=(1, 2), keepdims=True)
        high = ops.max(image, axis=(1, 2), keepdims=True)
        spread = high - low
        image = ops.where(spread > 0, (image - low) / ops.where(spread > 0, spread, 1.0), 0.0)
        return ops.expand_dims(ops.transpose(image, (0, 2, 1)), -1)  # (B, n_mels, size, 1)


    def get_config(self):
        return {**super().get_config(), "size": self.size, "time_axis": self.time_axis, "top_db": self.top_db}


@keras.saving.register_keras_serializable(package="zoo")
class UtteranceCMVN(keras.layers.Layer):
    """Per-utterance CMVN (``normalize="utterance"``): ``(x - mean_t x) / sqrt(var_t x + eps)`` per
    dimension over each row's own frames. Input ``features`` ``(B, T, D)`` (every frame valid) or
    ``[features, frames]``; frames after ``frames[b]`` come out zero."""

    def __init__(self, eps: float = 1e-5, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            x, frames = inputs
            valid = _valid(ops.cast(ops.reshape(frames, (-1,)), "int32"), ops.shape(x)[1])
        else:
            x = inputs
            valid = ops.ones(ops.shape(x)[:2], "float32")
        x = ops.cast(x, "float32")
        mean = ops.expand_dims(_mean_over(x, valid), 1)
        centred = _masked(x - mean, valid)
        var = ops.expand_dims(_mean_over(ops.square(centred), valid), 1)  # two passes, as numpy's var
        return _masked(centred / ops.sqrt(var + self.eps), valid)


    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        return {**config, "eps": self.eps}


@keras.saving.register_keras_serializable(package="zoo")
class ChunkFrames(keras.layers.Layer):
    """``[features (B, T, D), frames (B,)]`` -> ``[chunks (B * C, length, D), counts (B,)]``.

    The chunks of :func:`zoo.features.spectral.chunk_frames` (Jalal et al. 2020 Sec. 4.3.2, CSA):
    ``length`` frames every ``length - overlap``, whole chunks only, a row shorter than one chunk
    gives none (``drop_short``). ``C`` is the batch's largest count (row ``b``'s chunks are rows
    ``b * C ... b * C + C - 1``); a row's chunks after its own ``counts[b]`` are filler that
    :class:`MaskedMean` leaves out.
    """

    def __init__(self, length: int, overlap: int = 10, **kwargs):
        super().__init__(**kwargs)
        self.length, self.overlap = int(length), int(overlap)
        if self.length < 1 or not 0 <= self.overlap < self.length:
            raise ValueError(f"need length >= 1 and 0 <= overlap < length, got {length}, {overlap}")

    def call(self, inputs):
        x, frames = inputs
        hop = self.length - self.overlap
        total = ops.shape(x)[1]
        chunks = ops.maximum(1 + (total - self.length) // hop, 0)
        index = ops.arange(chunks)[:, None] * hop + ops.arange(self.length)[None, :]  # (C, length)
        out = ops.take(x, index, axis=1)  # (B, C, length, D)
        out = ops.reshape(out, (-1, self.length, *x.shape[2:]))
        frames = ops.cast(ops.reshape(frames, (-1,)), "int32")
        counts = ops.where(frames >= self.length, 1 + (frames - self.length) // hop, 0)
        return [out, counts]

    def get_config(self):
        return {**super().get_config(), "length": self.length, "overlap": self.overlap}


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMean(keras.layers.Layer):
    """``[values (B * C, K), counts (B,)]`` -> the mean of each row's first ``counts[b]`` values
    ``(B, K)``: the utterance posterior of CSA's chunks (as
    :func:`zoo.features.spectral.average_chunk_posteriors`); a row with no chunk gives NaN, as there."""

    def call(self, inputs):
        values, counts = inputs
        counts = ops.cast(ops.reshape(counts, (-1,)), "int32")
        batch = ops.shape(counts)[0]
        values = ops.cast(values, "float32")
        values = ops.reshape(values, (batch, ops.shape(values)[0] // batch, values.shape[-1]))
        return _mean_over(values, _valid(counts, ops.shape(values)[1]))


_LAYERS = {"fbank": FBank, "logmel": LogMel, "mfcc": MFCC, "mfcc_deltas": MFCCDeltas, "logmel_image": LogMelImage}


def _short_term(config: dict, sr: int) -> dict:
    from zoo.features.audio import ms_to_samples

    win = ms_to_samples(config["win_ms"], sr)
    return {"n_fft": win, "hop_length": ms_to_samples(config["hop_ms"], sr), "window": config["window"],
            "center": config["center"], "fmin": config["fmin"], "fmax": config["fmax"], "htk": config["htk"]}


def _stft(config: dict) -> dict:
    return {"n_fft": config["n_fft"], "hop_length": config["hop_length"], "win_length": config["win_length"],
            "window": config["window"], "center": config["center"]}


def frontend_for(extractor, sample_rate: Optional[int] = None, name: Optional[str] = None,
                 return_frames: bool = False):
    """The in-graph layer equal to a zoo extractor (an :class:`~zoo.features.base.Extractor`, or the
    ``config()`` dict a release manifest records), for waveforms at its rate (``sample_rate`` when
    the extractor keeps the file's own rate). A :class:`NotInGraphError` names an extractor that has
    none (and why); a :class:`~zoo.features.normalize.Normalized` one gives ``[front-end, CMVN]``."""
    config = dict(extractor if isinstance(extractor, dict) else extractor.config())
    kind = config.get("name")
    normalize = config.pop("normalize", None)
    if kind in NOT_IN_GRAPH:
        raise NotInGraphError(f"feature {kind!r} has no in-graph front-end: {NOT_IN_GRAPH[kind]}")
    if kind not in _LAYERS:
        raise NotInGraphError(f"feature {kind!r} has no in-graph front-end (known: {', '.join(_LAYERS)})")
    if normalize not in (None, "utterance"):
        raise NotInGraphError(f"feature {kind!r}: normalize={normalize!r} has no in-graph front-end")
    if config.get("trim_db") is not None:
        raise NotInGraphError(f"feature {kind!r}: trim_db={config['trim_db']!r} (silence trimming, "
                              "librosa.effects.trim) has no in-graph front-end")
    if config.get("peak_normalize"):
        raise NotInGraphError(f"feature {kind!r}: peak_normalize=True (librosa.util.normalize of the whole "
                              "recording) has no in-graph front-end")
    sr = config.get("sr") or sample_rate
    if sr is None:
        raise ValueError(f"feature {kind!r} keeps each file's own rate: pass sample_rate=")
    sr = int(sr)
    common = {"sample_rate": sr, "name": name, "return_frames": return_frames or normalize is not None}
    if kind == "fbank":
        opts = _short_term(config, sr)
        layer = FBank(n_mels=config["n_mels"], log_floor=config["log_floor"], **opts, **common)
    elif kind == "mfcc_deltas":
        opts = _short_term(config, sr)
        layer = MFCCDeltas(n_mfcc=config["n_mfcc"], n_mels=config["n_mels"], delta_width=config["delta_width"],
                           **opts, **common)
    elif kind == "logmel":
        layer = LogMel(n_mels=config["n_mels"], log=config["log"], top_db=config.get("top_db"),
                       fmin=config["fmin"], fmax=config["fmax"], pooling=config["pooling"], **_stft(config), **common)
    elif kind == "mfcc":
        layer = MFCC(n_mfcc=config["n_mfcc"], n_mels=config["n_mels"], pooling=config["pooling"], **_stft(config),
                     **common)
    else:  # logmel_image
        if config.get("normalise", "minmax") != "minmax":
            raise NotInGraphError(f"logmel_image normalise={config['normalise']!r} has no in-graph front-end")
        layer = LogMelImage(n_mels=config["n_mels"], size=config["size"], time_axis=config["time_axis"],
                            top_db=config["top_db"], **_stft(config), **common)
    if normalize is None:
        return layer
    if kind == "logmel_image" or config.get("pooling"):
        raise NotInGraphError(f"feature {kind!r}: normalize='utterance' needs frame features")
    return [layer, UtteranceCMVN(eps=config.get("normalize_eps", 1e-5), name=f"{name}_cmvn" if name else None)]
