"""pyAudioAnalysis short-term features and the HSF zero -> NaN rule (Atmaja & Akagi 2020 §III-B)."""
import numpy as np
import pytest

from zoo import features
from zoo.features.paa import high_level_statistics

from .conftest import make_signal


def test_hsf_rule_on_a_hand_made_case():
    frames = np.array([[1.0, 0.0],
                       [0.0, 0.0],
                       [3.0, 0.0]])
    # column 0: zeros dropped -> {1, 3}: mean 2, population std 1; column 1 all zero -> 0, 0
    np.testing.assert_allclose(high_level_statistics(frames), [2.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(high_level_statistics(frames, all_nan_value=-1.0), [2.0, -1.0, 1.0, -1.0])
    # without the rule the zeros count: mean 4/3, std sqrt(14/9)
    np.testing.assert_allclose(high_level_statistics(frames, zero_to_nan=False),
                               [4 / 3, 0.0, np.sqrt(14 / 9), 0.0])
    assert frames[1, 0] == 0.0  # the input is not modified


@pytest.mark.parametrize("backend", ["vectorised", "pyaudioanalysis"])
def test_paa_frames_equal_pyaudioanalysis(write_wav, backend):
    from pyAudioAnalysis import ShortTermFeatures

    record = write_wav(seconds=0.5, subtype="PCM_16")
    import soundfile

    int16, sr = soundfile.read(record.audio_path, dtype="int16")  # what audioBasicIO gives
    expected, names = ShortTermFeatures.feature_extraction(int16, sr, 0.025 * sr, 0.010 * sr, deltas=False)
    assert len(names) == 34
    extractor = features.get("paa_frames", backend=backend)
    out = extractor(record)
    assert extractor.shape == (None, 34)
    assert out.shape == (1 + (8000 - 400) // 160, 34) == expected.T.shape
    np.testing.assert_allclose(out, expected.T, rtol=1e-4, atol=1e-5)


def test_paa_hsf_is_mean_and_std_of_paa_frames(write_wav):
    signal = np.concatenate([make_signal(seconds=0.5), np.zeros(1600, np.float32)])
    record = write_wav(signal=signal)
    frames = features.get("paa_frames")(record)
    hsf = features.get("paa_hsf")(record)
    assert hsf.shape == features.get("paa_hsf").shape == (68,)
    masked = np.where(frames == 0, np.nan, frames.astype(np.float64))
    assert np.isnan(masked).any()  # the silent tail gives exact zeros (e.g. spectral flux)
    np.testing.assert_allclose(hsf[:34], np.nanmean(masked, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hsf[34:], np.nanstd(masked, axis=0), rtol=1e-5, atol=1e-6)
