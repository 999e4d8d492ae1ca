"""Parity of :mod:`zoo.features.paa_vectorised` with pyAudioAnalysis 0.3.14 itself.

Both are float64; they differ only by rounding (FFT, dot products and sums run in another
order). Tolerance, per feature, on every frame: ``|ours - pAA| <= atol + rtol * |pAA|``
with ``rtol = 1e-9`` and ``atol = 1e-12``, except the 13 MFCCs (``atol = 1e-10``: they are
DCTs of ``log10(band energy + eps)``, which magnifies rounding in bands near ``eps``). The
exact zeros must be the same frames and features (the HSF drops zeros, so a 1e-17 where
pAA has 0 would change it), and the 68-d HSF of both must agree within ``rtol = 1e-9``,
``atol = 1e-10``. Synthetic signals always run; real EmoDB / RAVDESS clips run when the
development corpora are present.
"""
import numpy as np
import pytest

from tests import shared_data
from zoo import features
from zoo.features.audio import load_audio
from zoo.features.cache import FeatureCache
from zoo.features.paa import high_level_statistics
from zoo.features.paa_vectorised import FEATURE_NAMES, PARITY_TOLERANCE, frame_count, short_term_features

RTOL, ATOL, ATOL_MFCC = 1e-9, 1e-12, 1e-10
HSF_RTOL, HSF_ATOL = 1e-9, 1e-10
TOLERANCE = {name: (RTOL, ATOL_MFCC if name.startswith("mfcc") else ATOL) for name in FEATURE_NAMES}


def test_the_stated_tolerance_is_the_modules():
    assert PARITY_TOLERANCE == TOLERANCE and len(TOLERANCE) == 34


def reference(signal, sr, window, step):
    from pyAudioAnalysis import ShortTermFeatures

    values, names = ShortTermFeatures.feature_extraction(
        np.asarray(signal, np.float64) * 2.0 ** 15, sr, window, step, deltas=False)
    assert tuple(names) == tuple(FEATURE_NAMES)
    return values.T


def assert_parity(signal, sr, window=None, step=None):
    window = window or round(0.025 * sr)
    step = step or round(0.010 * sr)
    expected = reference(signal, sr, window, step)
    got = short_term_features(signal, sr, window, step)
    assert got.shape == expected.shape == (frame_count(len(signal), window, step), 34)
    for j, name in enumerate(FEATURE_NAMES):
        rtol, atol = TOLERANCE[name]
        np.testing.assert_allclose(got[:, j], expected[:, j], rtol=rtol, atol=atol, err_msg=name)
    np.testing.assert_array_equal(got == 0, expected == 0)
    np.testing.assert_allclose(high_level_statistics(got), high_level_statistics(expected),
                               rtol=HSF_RTOL, atol=HSF_ATOL)
    return got, expected


def _tone(freqs, seconds, sr, amplitude=0.3):
    t = np.arange(int(round(seconds * sr))) / sr
    return sum(amplitude * np.sin(2 * np.pi * f * t) for f in freqs)


def synthetic(kind, sr=16000):
    rng = np.random.default_rng(7)
    if kind == "noise":
        return 0.1 * rng.standard_normal(sr)
    if kind == "tones":
        return _tone([220.0, 1000.0, 3500.0], 0.7, sr) + 0.001 * rng.standard_normal(int(0.7 * sr))
    if kind == "chirp":  # sweeps every MFCC band and chroma bin
        from scipy.signal import chirp

        t = np.arange(sr) / sr
        return 0.5 * chirp(t, 50.0, 1.0, 0.45 * sr)
    if kind == "silence_segments":  # digital zeros inside and at the end (EmoDB is zero-padded)
        return np.concatenate([_tone([440.0], 0.3, sr), np.zeros(sr // 5), 0.2 * rng.standard_normal(sr // 4),
                               np.zeros(sr // 4)])
    if kind == "quiet_with_offset":  # DC removal and peak normalisation do the scaling
        return 0.5 + 1e-4 * rng.standard_normal(sr // 2)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["noise", "tones", "chirp", "silence_segments", "quiet_with_offset"])
def test_synthetic_signals_equal_pyaudioanalysis(kind):
    got, _ = assert_parity(synthetic(kind).astype(np.float32), 16000)
    assert got[0, 6] == 0.0  # first frame's flux: the frame against itself


def test_silent_segments_give_the_same_exact_zeros():
    got, expected = assert_parity(synthetic("silence_segments").astype(np.float32), 16000)
    # silent frames: zcr, flux, ... are exactly 0 in pyAudioAnalysis, and so here
    assert (expected == 0).sum() > 100 and ((got == 0) == (expected == 0)).all()


@pytest.mark.parametrize("n_samples", [400, 559, 560, 561])
def test_very_short_clips(n_samples):
    got, _ = assert_parity(synthetic("tones")[:n_samples].astype(np.float32), 16000)
    assert got.shape[0] == 1 + (n_samples - 400) // 160


def test_frames_in_blocks_carry_the_flux_across_block_edges(monkeypatch):
    from zoo.features import paa_vectorised

    signal = synthetic("silence_segments")
    whole = short_term_features(signal, 16000, 400, 160)
    monkeypatch.setattr(paa_vectorised, "FRAMES_PER_BLOCK", 7)
    got, _ = assert_parity(signal, 16000)
    np.testing.assert_array_equal(got, whole)
    assert (got[7::7, 6] != 0).sum() > 5  # a block's first frame: flux against the previous block's last


@pytest.mark.parametrize("sr, window, step", [
    (8000, 200, 80), (22050, 551, 220), (44100, 1102, 441),
    (16000, 401, 157),  # odd window, step not dividing it
    (16000, 800, 320),  # 50 ms: the lowest bins get negative chroma indices (numpy wraps them)
])
def test_other_rates_and_windows(sr, window, step):
    assert_parity(synthetic("chirp", sr).astype(np.float32), sr, window, step)


def test_signal_shorter_than_a_window_is_an_error():
    from pyAudioAnalysis import ShortTermFeatures

    with pytest.raises(ValueError, match="shorter than one 400-sample window"):
        short_term_features(np.ones(399), 16000, 400, 160)
    with pytest.raises(ValueError):  # pyAudioAnalysis fails too (no frames to concatenate)
        ShortTermFeatures.feature_extraction(np.ones(399), 16000, 400, 160, deltas=False)


def test_window_too_short_for_the_chroma_mapping_is_an_error():
    from pyAudioAnalysis import ShortTermFeatures

    x = synthetic("noise")[:2000]
    with pytest.raises(ValueError, match="chroma needs a window of more than"):
        short_term_features(x, 16000, 100, 50)
    with pytest.raises(Exception):  # pyAudioAnalysis' other chroma branch cannot run
        ShortTermFeatures.feature_extraction(x * 2 ** 15, 16000, 100, 50, deltas=False)


# -- real speech ---------------------------------------------------------------------

EMODB = ["wav/03a01Fa.wav", "wav/12b02Wa.wav", "wav/16b10Wb.wav"]  # 2.0 s each, zero-padded
RAVDESS = ["Actor_13/03-01-02-01-02-02-13.wav",  # shortest (2.9 s)
           "Actor_16/03-01-06-01-02-01-16.wav",  # median (3.6 s)
           "Actor_01/03-01-06-02-01-01-01.wav"]  # longest (5.0 s)


def _clip(corpus, relative):
    path = shared_data.corpus(corpus) / relative
    if not path.exists():
        pytest.skip(f"{path} absent from the development copy")
    return str(path)


@shared_data.needs("emodb")
@pytest.mark.parametrize("relative", EMODB)
@pytest.mark.parametrize("sr", [16000, None])  # the extractors' rate, and the file's own 22,050 Hz
def test_emodb_clips_equal_pyaudioanalysis(relative, sr):
    signal, rate = load_audio(_clip("emodb", relative), sr)
    assert_parity(signal, rate)


@shared_data.needs("ravdess")
@pytest.mark.parametrize("relative", RAVDESS)
def test_ravdess_clips_equal_pyaudioanalysis(relative):
    signal, rate = load_audio(_clip("ravdess", relative), 16000)
    assert_parity(signal, rate)
    assert_parity(signal[8000:8000 + 480], rate)  # a 30 ms cut from the middle: one frame


# -- the extractors' backend option ----------------------------------------------------

def test_backend_option_is_in_the_config_and_the_cache_key(write_wav, tmp_path):
    record = write_wav()
    cache = FeatureCache(tmp_path / "cache")
    for name in ("paa_frames", "paa_hsf"):
        default, ref = features.get(name), features.get(name, backend="pyaudioanalysis")
        assert default.backend == "vectorised" and default.config()["backend"] == "vectorised"
        assert ref.config()["backend"] == "pyaudioanalysis"
        assert cache.key(default, record) != cache.key(ref, record)
        assert "pyAudioAnalysis" in ref.libraries and "pyAudioAnalysis" not in default.libraries
    with pytest.raises(ValueError, match="unknown backend 'librosa'"):
        features.get("paa_hsf", backend="librosa")


@pytest.mark.parametrize("name", ["paa_frames", "paa_hsf"])
def test_both_backends_give_the_same_extractor_output(write_wav, name):
    # a 16-bit file with a silent stretch: the HSF's zero -> NaN rule is exercised
    signal = np.concatenate([synthetic("tones"), np.zeros(3200), synthetic("noise")[:4000]])
    record = write_wav(signal=(0.8 * signal / np.abs(signal).max()).astype(np.float32), subtype="PCM_16")
    fast = features.get(name)(record)
    ref = features.get(name, backend="pyaudioanalysis")(record)
    assert fast.dtype == ref.dtype == np.float32 and fast.shape == ref.shape
    np.testing.assert_allclose(fast, ref, rtol=1e-6, atol=1e-9)  # float64 parity, then float32
    if name == "paa_frames":
        np.testing.assert_array_equal(fast == 0, ref == 0)
        assert (ref == 0).any()
