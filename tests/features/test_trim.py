"""Silence trimming (the audio extractors' ``trim_db``, the ``real_sn_trim`` profile)."""
import numpy as np
import pytest

from zoo import features

RATE = 16000


def padded_tone(silence_s=1.0, tone_s=0.8, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(tone_s * RATE)) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.normal(size=t.size)
    quiet = 1e-5 * rng.normal(size=int(silence_s * RATE))  # 90 dB below the tone: not digital zero
    return np.concatenate([quiet, tone, quiet]).astype(np.float32)


@pytest.mark.parametrize("name", ["fbank", "logmel", "mfcc", "mfcc_deltas", "chroma", "paa_frames"])
def test_trim_db_cuts_leading_and_trailing_silence_only(name):
    signal = padded_tone()
    plain = features.get(name, sr=RATE)
    trimmed = features.get(name, sr=RATE, trim_db=30)
    full, cut = plain.extract(signal, sample_rate=RATE), trimmed.extract(signal, sample_rate=RATE)
    # The trimmed signal is the tone (0.8 s of 2.8 s), give or take librosa.effects.trim's frames.
    assert 0.2 < cut.shape[0] / full.shape[0] < 0.4
    import librosa

    core = librosa.effects.trim(signal, top_db=30)[0]
    np.testing.assert_allclose(cut, plain.extract(core, sample_rate=RATE), rtol=1e-5, atol=1e-5)
    assert trimmed.config()["trim_db"] == 30.0 and "trim_db" not in plain.config()  # old cache keys unchanged


def test_trim_db_is_checked_and_kept_out_of_the_in_graph_front_ends():
    with pytest.raises(ValueError, match="trim_db"):
        features.get("fbank", trim_db=0)
    with pytest.raises(ValueError, match="trim_db"):
        features.get("paa_hsf", trim_db=-3)
    from zoo.layers.frontends import NotInGraphError, frontend_for

    assert frontend_for(features.get("fbank")) is not None
    with pytest.raises(NotInGraphError, match="trim_db"):
        frontend_for(features.get("fbank", trim_db=30))


def test_the_trim_profile_trims_every_audio_input_of_models_and_baselines(tmp_path):
    from zoo import experiment
    from zoo.profiles import PROFILES

    import dataclasses

    assert PROFILES["real_sn_trim"].trim_db == 30.0 and PROFILES["real_sn_trim"].normalize == "speaker"
    profile = dataclasses.replace(PROFILES["real_sn_trim"], utterances=40)
    exp = experiment.prepare("gru_bert:audio_only", "synthetic", str(tmp_path / "corpus"), profile=profile,
                             cache_dir=tmp_path / "cache")
    extractors = exp.extractors(exp.folds[0].train_records)
    assert {n: ex.trim_db for n, ex in extractors.items()} == {"mel": 30.0, "mfcc": 30.0, "chroma": 30.0}
    svm = experiment.prepare_baseline("svm_hsf", "synthetic", str(tmp_path / "corpus"), profile=profile,
                                      cache_dir=tmp_path / "cache")
    assert svm.feature_overrides == {"hsf": {"trim_db": 30.0}}
    records = svm.folds[0].test_records[:2]
    from zoo import baselines

    got = baselines.get("svm_hsf").inputs(records, None, svm.feature_overrides)
    want = np.stack([features.get("paa_hsf", trim_db=30.0).extract(r) for r in records])
    np.testing.assert_allclose(got, want)
    text = experiment.prepare_baseline("tfidf_lr", "synthetic", str(tmp_path / "corpus"), profile=profile,
                                       cache_dir=tmp_path / "cache")
    assert text.feature_overrides == {}  # transcripts: nothing to trim, nothing said in the caption
