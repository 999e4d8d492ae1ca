"""pyAudioAnalysis' 34 short-term features computed on whole frame matrices (numpy/scipy).

Hand-written on purpose: ``pyAudioAnalysis.ShortTermFeatures.feature_extraction``
(version 0.3.14, Giannakopoulos 2015; the reference, kept as ``backend="pyaudioanalysis"``
of :mod:`zoo.features.paa`) loops over frames in Python, one function call per feature
per frame, which makes DSER's 68-d HSF only about 12-21x real time on a CPU. This module
computes the same values, in the same order, for all frames at once:

    short_term_features(signal, sr, window, step)
        == feature_extraction(signal * 2**15, sr, window, step, deltas=False)[0].T

within :data:`PARITY_TOLERANCE`, float64 rounding only (FFT, sums and products run in
another order): per feature and frame ``|ours - pAA| <= atol + rtol |pAA|`` with
``rtol = 1e-9``, ``atol = 1e-12``, except the 13 MFCCs (``atol = 1e-10``: DCTs of
``log10(band energy + eps)``, which magnifies rounding in bands near ``eps``); and the
exact zeros fall on the same frames and features (the HSF's zero -> NaN rule depends on
them). Checked by ``tests/features/test_paa_vectorised.py`` and ``benchmarks/perf/hsf.py``.

pyAudioAnalysis' quirks are kept, being part of its output:

* the input is DC-removed and peak-normalised (``dc_normalize``: ``/ (max|x| + 1e-10)``);
  frames are ``x[i*step : i*step + window]``, rectangular (no window function), every
  frame fully inside the signal;
* ``|FFT|`` keeps bins ``0 .. n_fft - 1`` with ``n_fft = window // 2`` (no Nyquist bin),
  divided by ``n_fft``; ``eps`` is ``sys.float_info.epsilon``;
* zero-crossing rate ``sum |diff(sign(frame))| / 2 / (window - 1)`` (a 0 sample counts
  half a crossing); energy ``sum(frame^2) / window``;
* energy / spectral entropy: 10 contiguous sub-blocks of ``len // 10`` values (the rest
  is left out of the blocks but not of the total);
* centroid and spread: bin frequencies ``(k+1) sr / (2 n_fft)``, the spectrum divided by
  its maximum, both results divided by ``sr / 2``;
* flux: squared difference of the spectra divided by ``sum(|X| + eps)``; the first frame
  is compared with itself (exactly 0);
* roll-off: first bin whose cumulative power ``+ eps`` exceeds 0.9 of the total, over
  ``n_fft``;
* MFCC: the scikits.talkbox filterbank of ``mfcc_filter_banks`` (13 linear + 27 log
  filters from 133.33 Hz; bin ``k`` is placed at ``k sr / n_fft``, i.e. the half spectrum
  is laid over 0..sr; its ``nlogfil = 5`` below 8 kHz is never used there, nor here),
  applied to ``|X|`` (not the power), ``log10(. + eps)``, orthonormal DCT-II, first 13;
* chroma (``chroma_features``): bin ``k`` gets the index
  ``round(12 log2((k+1) sr / (2 n_fft) / 27.5))``; its power is written at that index of
  a length-``n_fft`` vector (several bins on one index: the last one wins, as numpy's
  fancy assignment; negative indices wrap), the vector is divided element-wise by the
  per-bin counts read at those indices, folded modulo 12 and divided by the total power;
  the 13th feature is the population std of the 12.
"""
from __future__ import annotations

import functools
import sys
from typing import Tuple

import numpy as np

EPS = sys.float_info.epsilon
N_FEATURES = 34
N_MFCC = 13
FEATURE_NAMES = (["zcr", "energy", "energy_entropy", "spectral_centroid", "spectral_spread",
                  "spectral_entropy", "spectral_flux", "spectral_rolloff"]
                 + [f"mfcc_{i}" for i in range(1, N_MFCC + 1)]
                 + [f"chroma_{i}" for i in range(1, 13)] + ["chroma_std"])
#: Frames computed together (about 5 s of audio at a 10 ms step): bounded memory on long
#: recordings, and arrays that stay in cache (512 was faster than 2048 or one block here).
FRAMES_PER_BLOCK = 512
#: ``{feature: (rtol, atol)}`` of the parity with pyAudioAnalysis (module docstring).
PARITY_TOLERANCE = {name: (1e-9, 1e-10 if name.startswith("mfcc") else 1e-12) for name in FEATURE_NAMES}


@functools.lru_cache(maxsize=16)
def mfcc_filterbank(sampling_rate: int, n_fft: int, lowfreq: float = 133.33, linc: float = 200 / 3,
                    logsc: float = 1.0711703, n_lin: int = 13, n_log: int = 27) -> np.ndarray:
    """pyAudioAnalysis' ``mfcc_filter_banks``: ``(n_lin + n_log, n_fft)`` triangular filters."""
    n_filters = n_lin + n_log
    freqs = np.zeros(n_filters + 2)
    freqs[:n_lin] = lowfreq + np.arange(n_lin) * linc
    freqs[n_lin:] = freqs[n_lin - 1] * logsc ** np.arange(1, n_log + 3)
    heights = 2.0 / (freqs[2:] - freqs[:-2])
    top = int(np.floor(freqs[-1] * n_fft / sampling_rate))
    if top >= n_fft:
        raise ValueError(f"pyAudioAnalysis' MFCC filterbank reaches {freqs[-1]:.0f} Hz, bin {top}, "
                         f"beyond the {n_fft} bins of a {2 * n_fft}-sample window at {sampling_rate} Hz "
                         f"(use a longer window)")
    fbank = np.zeros((n_filters, n_fft))
    nfreqs = np.arange(n_fft) / (1.0 * n_fft) * sampling_rate
    for i in range(n_filters):  # 40 filters, once per (rate, window): not worth vectorising
        low, centre, high = freqs[i], freqs[i + 1], freqs[i + 2]
        lid = np.arange(np.floor(low * n_fft / sampling_rate) + 1,
                        np.floor(centre * n_fft / sampling_rate) + 1, dtype=int)
        rid = np.arange(np.floor(centre * n_fft / sampling_rate) + 1,
                        np.floor(high * n_fft / sampling_rate) + 1, dtype=int)
        fbank[i, lid] = heights[i] / (centre - low) * (nfreqs[lid] - low)
        fbank[i, rid] = heights[i] / (high - centre) * (high - nfreqs[rid])
    fbank.setflags(write=False)
    return fbank


@functools.lru_cache(maxsize=16)
def chroma_mapping(sampling_rate: int, n_fft: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """pyAudioAnalysis' ``chroma_features_init`` and the scatter/fold of ``chroma_features``.

    pyAudioAnalysis writes ``C[num_chroma] = spec`` (last write wins), divides ``C`` by
    ``counts[num_chroma]`` and sums ``C[c], C[c+12], ...`` into class ``c``. Returns
    ``(sources, divisors, classes, starts)`` so that ``np.add.reduceat(power[:, sources] /
    divisors, starts, axis=1)`` gives the 12 sums of the classes ``classes`` (the others
    get nothing: 0), with the terms in the order of pyAudioAnalysis' fold.
    """
    freqs = (np.arange(n_fft) + 1) * sampling_rate / (2 * n_fft)
    num_chroma = np.round(12.0 * np.log2(freqs / 27.50)).astype(int)
    if num_chroma.max() >= n_fft:  # pyAudioAnalysis' other branch fails (shape mismatch)
        raise ValueError(f"pyAudioAnalysis' chroma needs a window of more than "
                         f"{2 * (num_chroma.max() + 1)} samples at {sampling_rate} Hz "
                         f"(got {2 * n_fft})")
    counts = np.zeros(n_fft)
    for u in np.unique(num_chroma):
        idx = np.nonzero(num_chroma == u)[0]
        counts[idx] = idx.shape[0]
    divisor = counts[num_chroma]  # indexed by position in C, as pyAudioAnalysis does
    last = {}
    for k, position in enumerate(num_chroma):  # sequential assignment: the last bin wins
        last[int(position) % n_fft] = k  # negative indices wrap, as in numpy
    targets = sorted(last, key=lambda t: (t % 12, t))  # grouped by class, in fold order
    sources = np.array([last[t] for t in targets], dtype=int)
    classes, starts = np.unique(np.array(targets) % 12, return_index=True)
    return sources, divisor[targets], classes, starts


@functools.lru_cache(maxsize=16)
def _filterbank_entries(sampling_rate: int, n_fft: int):
    """The nonzero entries of :func:`mfcc_filterbank`, grouped by filter, for ``np.add.reduceat``.

    Each filter covers a handful of bins: a few gathers and sums do ``mag @ fbank.T``
    without a BLAS product (whose thread pool, woken for a tiny product, slows a shared CPU).
    """
    fbank = mfcc_filterbank(sampling_rate, n_fft)
    filters, bins = np.nonzero(fbank)  # row-major: grouped by filter
    used, starts = np.unique(filters, return_index=True)
    return fbank.shape[0], bins, fbank[filters, bins], used, starts


def frame_count(n_samples: int, window: int, step: int) -> int:
    """Frames fully inside the signal: ``1 + (n - window) // step`` (0 when shorter)."""
    return 0 if n_samples < window else 1 + (n_samples - window) // step


def _block_entropy(squares: np.ndarray, total: np.ndarray, n_blocks: int = 10) -> np.ndarray:
    """``energy_entropy`` / ``spectral_entropy`` per row, from the squared values and their row sums."""
    width = squares.shape[1] // n_blocks
    blocks = squares[:, :width * n_blocks].reshape(squares.shape[0], n_blocks, width)
    s = np.sum(blocks, axis=2) / (total[:, None] + EPS)
    return -np.sum(s * np.log2(s + EPS), axis=1)


def _zero_crossings(x: np.ndarray, window: int, step: int, n_frames: int) -> np.ndarray:
    """``sum |diff(sign(frame))| / 2`` per frame, from one cumulative sum over the signal.

    The summands are 0, 1 or 2, so the cumulative sums are exact integers in float64 and
    their differences equal pyAudioAnalysis' per-frame sums exactly.
    """
    steps = np.abs(np.diff(np.sign(x)))
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    starts = np.arange(n_frames) * step
    return (cumulative[starts + window - 1] - cumulative[starts]) / 2


def _grouped_sums(values: np.ndarray, starts: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``(T, n_groups)``: row sums of ``values[:, starts[i]:starts[i + 1]]`` in column
    ``groups[i]``; 0 in the other columns."""
    out = np.zeros((values.shape[0], n_groups))
    if starts.size:
        out[:, groups] = np.add.reduceat(values, starts, axis=1)
    return out


def short_term_features(signal: np.ndarray, sampling_rate: int, window: int, step: int) -> np.ndarray:
    """``(T, 34)`` pyAudioAnalysis short-term features of a float signal in [-1, 1].

    ``window`` and ``step`` are in samples; ``T = 1 + (N - window) // step``. Raises
    ``ValueError`` when the signal is shorter than one window (pyAudioAnalysis fails then).
    Frames are processed in blocks of :data:`FRAMES_PER_BLOCK` (memory stays bounded on
    long recordings); each block after the first carries its previous frame for the flux.
    """
    window, step, sampling_rate = int(window), int(step), int(sampling_rate)
    if window < 2 or step < 1:
        raise ValueError(f"window must be >= 2 and step >= 1 samples, got {window} and {step}")
    x = np.array(signal, dtype=np.float64).reshape(-1)
    n_frames = frame_count(x.shape[0], window, step)
    if n_frames == 0:
        raise ValueError(f"signal of {x.shape[0]} samples is shorter than one {window}-sample window")
    n_fft = window // 2
    _filterbank_entries(sampling_rate, n_fft), chroma_mapping(sampling_rate, n_fft)  # fail early
    x -= x.mean()
    x /= np.abs(x).max() + 1e-10
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::step]  # (T, window) view
    out = np.empty((n_frames, N_FEATURES))
    out[:, 0] = _zero_crossings(x, window, step, n_frames) / (window - 1.0)
    for first in range(0, n_frames, FRAMES_PER_BLOCK):
        last = min(first + FRAMES_PER_BLOCK, n_frames)
        lead = 1 if first else 0
        out[first:last, 1:] = _frame_features(frames[first - lead:last], sampling_rate)[lead:]
    return out


def _frame_features(frames: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Features 1..33 (all but the zero-crossing rate) of consecutive frames ``(T, window)``.

    The first row's flux is 0 (the frame against itself), as for pyAudioAnalysis' first frame.
    """
    from scipy.fft import dct, rfft

    n_frames, window = frames.shape
    n_fft = window // 2
    n_filters, fbank_bins, fbank_weights, filters, filter_starts = _filterbank_entries(sampling_rate, n_fft)
    chroma_sources, chroma_divisors, classes, class_starts = chroma_mapping(sampling_rate, n_fft)
    out = np.empty((n_frames, N_FEATURES - 1))  # column j holds feature j + 1

    # time domain: energy, entropy of energy
    squares = frames ** 2
    frame_energy = np.sum(squares, axis=1)
    out[:, 0] = frame_energy / window
    out[:, 1] = _block_entropy(squares, frame_energy)

    # spectrum: |FFT| bins 0 .. n_fft-1, divided by n_fft
    mag = np.abs(rfft(frames, axis=1)[:, :n_fft])
    mag /= n_fft
    power = mag ** 2
    total = np.sum(power, axis=1)
    peak = mag.max(axis=1, keepdims=True)
    normed = mag / np.where(peak == 0, EPS, peak)
    ind = (np.arange(1, n_fft + 1)) * (sampling_rate / (2.0 * n_fft))
    den = np.sum(normed, axis=1) + EPS
    centroid = np.sum(ind * normed, axis=1) / den
    spread = np.sqrt(np.sum((ind - centroid[:, None]) ** 2 * normed, axis=1) / den)
    out[:, 2] = centroid / (sampling_rate / 2.0)
    out[:, 3] = spread / (sampling_rate / 2.0)
    out[:, 4] = _block_entropy(power, total)
    share = mag / np.sum(mag + EPS, axis=1, keepdims=True)
    out[0, 5] = 0.0
    out[1:, 5] = np.sum((share[1:] - share[:-1]) ** 2, axis=1)
    above = np.cumsum(power, axis=1) + EPS > 0.90 * total[:, None]
    out[:, 6] = np.argmax(above, axis=1) / float(n_fft)  # no bin above: argmax 0, pAA's 0.0

    # MFCC
    bands = _grouped_sums(mag[:, fbank_bins] * fbank_weights, filter_starts, filters, n_filters)
    mel = np.log10(bands + EPS)
    out[:, 7:7 + N_MFCC] = dct(mel, type=2, norm="ortho", axis=-1)[:, :N_MFCC]

    # chroma
    chroma = _grouped_sums(power[:, chroma_sources] / chroma_divisors, class_starts, classes, 12)
    chroma /= np.where(total == 0, EPS, total)[:, None]
    out[:, 20:32] = chroma
    out[:, 32] = chroma.std(axis=1)
    return out
