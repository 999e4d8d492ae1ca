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


# ----------------------------------------------------------------------------- per speaker
def _speaker_data(seed=0):
    """Speaker a: two utterances at levels 0 and +3 (std 1); speaker b: one at level 50 (std 10)."""
    rng = np.random.default_rng(seed)
    a1, a2 = rng.normal(0.0, 1.0, (40, 3)), rng.normal(3.0, 1.0, (60, 3))
    b1 = rng.normal(50.0, 10.0, (30, 3))
    return [a1, a2, b1], ["a", "a", "b"]


def test_speaker_cmvn_uses_each_speakers_own_frames_and_keeps_its_utterances_apart():
    from zoo.features.normalize import speaker_cmvn

    arrays, speakers = _speaker_data()
    a1, a2, b1 = speaker_cmvn(arrays, speakers)
    both = np.concatenate([a1, a2])
    np.testing.assert_allclose(both.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(both.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(b1.mean(axis=0), 0, atol=1e-6)
    # The louder utterance stays above the other (per-utterance CMVN would centre both at 0).
    assert (a2.mean(axis=0) - a1.mean(axis=0) > 1.0).all()
    # A speaker's output does not depend on the other speakers (a global z-score would).
    alone = speaker_cmvn(arrays[:2], speakers[:2])
    np.testing.assert_allclose(alone[0], a1, atol=1e-6)
    assert speaker_cmvn([arrays[2] + 7.0], ["b"])[0] == pytest.approx(b1, abs=1e-5)  # level removed


def test_speaker_cmvn_on_vectors_and_bad_calls():
    from zoo.features.normalize import speaker_cmvn

    vectors = [np.array([1.0, 10.0]), np.array([3.0, 30.0]), np.array([5.0, 5.0])]
    out = speaker_cmvn(vectors, ["s", "s", "t"])
    np.testing.assert_allclose(out[0], [-1, -1], atol=1e-4)
    np.testing.assert_allclose(out[1], [1, 1], atol=1e-4)
    np.testing.assert_allclose(out[2], [0, 0], atol=1e-6)  # one vector: centred, std floored by eps
    with pytest.raises(ValueError, match="3 arrays but 2 speakers"):
        speaker_cmvn(vectors, ["s", "t"])


def test_feature_table_normalized_by_speaker_leaves_tokens_and_images_alone():
    from zoo.data.records import Record
    from zoo.pipeline import FeatureTable, InputSpec

    arrays, speakers = _speaker_data(1)
    records = [Record(corpus="c", utterance_id=f"u{i}", speaker=s, label="x") for i, s in enumerate(speakers)]
    table = FeatureTable(records, {"fbank": arrays, "ids": [np.arange(4, dtype=np.int32)] * 3,
                                   "image": [np.ones((2, 2, 3), np.float32)] * 3},
                         {"fbank": InputSpec((None, 3), "float32"), "ids": InputSpec((None,), "int32"),
                          "image": InputSpec((2, 2, 3), "float32")})
    normed = table.normalized_by_speaker()
    from zoo.features.normalize import speaker_cmvn

    for got, want in zip(normed.features["fbank"], speaker_cmvn(arrays, [("c", s) for s in speakers])):
        np.testing.assert_allclose(got, want)
    assert normed.features["ids"][0] is table.features["ids"][0]
    assert normed.features["image"][0] is table.features["image"][0]
    table.records[0] = Record(corpus="c", utterance_id="u0", speaker=None, label="x")
    with pytest.raises(ValueError, match="'u0'.*no speaker"):
        table.normalized_by_speaker()
