"""Peak normalisation (the audio extractors' ``peak_normalize``, the ``real_sn_trim_peak`` profile)."""
import dataclasses

import numpy as np
import pytest

from zoo import features

RATE = 16000


def speech_like(seconds=1.2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-rate level changes inside the clip
    return (0.3 * envelope * np.sin(2 * np.pi * 180 * t) + 0.02 * rng.normal(size=t.size)).astype(np.float32)


@pytest.mark.parametrize("name", ["fbank", "logmel", "mfcc", "mfcc_deltas", "chroma", "paa_frames"])
def test_peak_normalize_removes_the_recording_gain_and_only_that(name):
    signal = speech_like()
    plain = features.get(name, sr=RATE)
    leveled = features.get(name, sr=RATE, peak_normalize=True)
    loud = leveled.extract(signal, sample_rate=RATE)
    # The gain of the recording (here 20 dB quieter) does not reach the features ...
    np.testing.assert_allclose(leveled.extract(0.1 * signal, sample_rate=RATE), loud, rtol=1e-4, atol=1e-4)
    # ... which are those of the signal scaled to a peak of 1, not of the signal as it is.
    np.testing.assert_allclose(loud, plain.extract(signal / np.abs(signal).max(), sample_rate=RATE), rtol=1e-4, atol=1e-4)
    if name in ("fbank", "logmel", "mfcc"):  # level-bearing features: the plain one does see the gain
        assert not np.allclose(plain.extract(0.1 * signal, sample_rate=RATE), plain.extract(signal, sample_rate=RATE),
                               rtol=1e-3, atol=1e-3)
    assert leveled.config()["peak_normalize"] is True and "peak_normalize" not in plain.config()  # old cache keys


def test_peak_normalize_comes_after_trimming_and_is_checked():
    rng = np.random.default_rng(1)
    quiet = 1e-5 * rng.normal(size=RATE).astype(np.float32)
    signal = np.concatenate([quiet, speech_like(), quiet])
    both = features.get("fbank", sr=RATE, trim_db=30, peak_normalize=True)
    import librosa

    core = librosa.effects.trim(signal, top_db=30)[0]
    np.testing.assert_allclose(both.extract(signal, sample_rate=RATE),
                               features.get("fbank", sr=RATE).extract(core / np.abs(core).max(), sample_rate=RATE),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="peak_normalize"):
        features.get("fbank", peak_normalize="yes")
    from zoo.layers.frontends import NotInGraphError, frontend_for

    with pytest.raises(NotInGraphError, match="peak_normalize"):
        frontend_for(features.get("fbank", peak_normalize=True))


def test_the_peak_profile_normalises_every_audio_input_of_models_and_baselines(tmp_path):
    from zoo import baselines, experiment
    from zoo.profiles import PROFILES

    peak = PROFILES["real_sn_trim_peak"]
    assert peak.peak_normalize and peak.trim_db == 30.0 and peak.normalize == "speaker"
    assert PROFILES["real_sn_trim"].audio_options() == {"trim_db": 30.0}
    profile = dataclasses.replace(peak, utterances=40)
    exp = experiment.prepare("blstmatt", "synthetic", str(tmp_path / "corpus"), profile=profile,
                             cache_dir=tmp_path / "cache")
    extractors = exp.extractors(exp.folds[0].train_records)
    assert {n: (ex.trim_db, ex.peak_normalize) for n, ex in extractors.items()} == {"fbank": (30.0, True)}
    svm = experiment.prepare_baseline("svm_hsf", "synthetic", str(tmp_path / "corpus"), profile=profile,
                                      cache_dir=tmp_path / "cache")
    assert svm.feature_overrides == {"hsf": {"trim_db": 30.0, "peak_normalize": True}}
    records = svm.folds[0].test_records[:2]
    got = baselines.get("svm_hsf").inputs(records, None, svm.feature_overrides)
    want = np.stack([features.get("paa_hsf", trim_db=30.0, peak_normalize=True).extract(r) for r in records])
    np.testing.assert_allclose(got, want)


def test_the_single_recording_peak_profile_is_real_with_trim_and_peak_only():
    """``real_trim_peak``: `real` (no speaker normalisation: one recording at a time) plus the
    trim and peak options; every other setting is `real`'s."""
    from zoo.profiles import PROFILES

    single, real = PROFILES["real_trim_peak"], PROFILES["real"]
    assert single.normalize is None and single.audio_options() == {"trim_db": 30.0, "peak_normalize": True}
    assert dataclasses.replace(single, name="real", description=real.description, trim_db=None,
                               peak_normalize=False) == real
