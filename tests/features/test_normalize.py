"""Per-utterance CMVN as an extractor option."""
import numpy as np
import pytest

from zoo import features
from zoo.features.normalize import Normalized, utterance_cmvn


def test_cmvn_is_zero_mean_unit_variance_per_dimension_of_one_utterance():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 5.0, size=(50, 4)) * np.array([1, 2, 3, 4])
    y = utterance_cmvn(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-4)
    # Per dimension over time, not over the whole matrix (a global z-score would keep the ratios).
    assert not np.allclose(y, (x - x.mean()) / x.std(), atol=1e-2)


def test_option_wraps_a_frame_extractor_and_enters_its_configuration():
    plain, normed = features.get("fbank"), features.get("fbank", normalize="utterance")
    assert isinstance(normed, Normalized) and normed.name == "fbank" and normed.shape == plain.shape
    assert normed.config() == {**plain.config(), "normalize": "utterance", "normalize_eps": 1e-5}
    signal = np.random.default_rng(1).normal(size=16000).astype("float32")
    a, b = plain.extract(signal, sample_rate=16000), normed.extract(signal, sample_rate=16000)
    np.testing.assert_allclose(b, utterance_cmvn(a), rtol=1e-5, atol=1e-5)
    assert normed.sr == plain.sr  # the wrapped extractor's settings show through


def test_vector_features_and_unknown_modes_are_refused():
    with pytest.raises(ValueError, match=r"needs frame features \(T, D\)"):
        features.get("paa_hsf", normalize="utterance")
    with pytest.raises(ValueError, match="normalize must be one of"):
        features.get("fbank", normalize="speaker")


def test_normalized_extractor_pickles():
    import pickle

    e = pickle.loads(pickle.dumps(features.get("mfcc", normalize="utterance")))
    assert e.config()["normalize"] == "utterance"
