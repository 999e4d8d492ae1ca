"""Audio loading (decode, downmix, resample), the inputs an audio extractor takes (Record, path,
samples) and the bad-input errors of every audio extractor, minimum duration included."""
import math
import pathlib

import numpy as np
import pytest
import soundfile

from zoo import features
from zoo.data.records import Record
from zoo.features.audio import AudioExtractor, check_features, load_audio
from zoo.features.base import FeatureError, TooShortError

from .conftest import make_signal


def test_resampling_22050_to_16000_gives_the_new_length(write_wav):
    record = write_wav("r.wav", sr=22050, seconds=1.0)
    signal, sr = load_audio(record.audio_path, 16000)
    assert sr == 16000 and signal.shape == (16000,) and signal.dtype == np.float32
    native, native_sr = load_audio(record.audio_path)
    assert native_sr == 22050 and native.shape == (22050,)
    # the extractor resamples too: 1 s at 16 kHz -> 1 + (16000 - 400) // 160 fbank frames
    assert features.get("fbank")(record).shape == (98, 23)


def test_stereo_is_downmixed_to_the_mean_of_the_channels(write_wav):
    stereo = make_signal(channels=2)
    record = write_wav("s.wav", signal=stereo)
    signal, _ = load_audio(record.audio_path)
    np.testing.assert_allclose(signal, stereo.mean(axis=1), atol=1e-7)


def test_int16_file_is_read_as_float_in_unit_range(write_wav):
    record = write_wav("i.wav", subtype="PCM_16")
    signal, _ = load_audio(record.audio_path)
    np.testing.assert_allclose(signal, make_signal(), atol=1 / 2 ** 15)


@pytest.mark.parametrize("name", ["logmel", "mfcc", "chroma", "mfcc_deltas", "fbank",
                                  "logmel_image", "paa_frames", "paa_hsf"])
def test_silent_audio_is_rejected_by_every_audio_extractor(write_wav, name):
    record = write_wav("z.wav", signal=np.zeros(8000, np.float32))
    with pytest.raises(FeatureError, match="silent") as info:
        features.get(name)(record)
    assert info.value.path == record.audio_path


AUDIO_EXTRACTORS = ["logmel", "mfcc", "chroma", "mfcc_deltas", "fbank", "logmel_image", "paa_frames", "paa_hsf"]


@pytest.mark.parametrize("name, samples", [("fbank", 399), ("mfcc_deltas", 1679), ("paa_frames", 399),
                                           ("mfcc", 2047), ("logmel_image", 2047)])
def test_without_min_duration_audio_shorter_than_the_window_is_rejected(write_wav, name, samples):
    sr = 22050 if name in ("mfcc", "logmel_image") else 16000
    extractor = features.get(name)
    extractor.min_duration = 0.0  # only the analysis window's own requirement is left
    record = write_wav("short.wav", signal=make_signal(seconds=samples / sr, sr=sr), sr=sr)
    with pytest.raises(TooShortError, match="too short") as info:
        extractor(record)
    assert record.audio_path in str(info.value)
    extractor(write_wav("ok.wav", signal=make_signal(seconds=(samples + 1) / sr, sr=sr), sr=sr))


@pytest.mark.parametrize("name", AUDIO_EXTRACTORS)
def test_every_audio_extractor_refuses_clips_under_its_minimum_duration(write_wav, name):
    extractor = features.get(name)
    sr = extractor.sr
    assert extractor.min_duration == 0.25 and extractor.required_samples(sr) == math.ceil(0.25 * sr)
    record = write_wav("tiny.wav", signal=make_signal(seconds=0.05, sr=sr), sr=sr)  # 0.05 s: 3 fbank frames
    with pytest.raises(TooShortError) as info:
        extractor(record)
    err = info.value
    assert isinstance(err, FeatureError) and err.reason == "too short" and err.path == record.audio_path
    assert err.duration == pytest.approx(0.05, abs=1e-4) and err.min_duration == pytest.approx(0.25, abs=1e-4)
    assert f"audio too short for {name}: 0.050 s" in str(err) and "needs at least 0.250 s" in str(err)
    need = extractor.required_samples(sr)
    with pytest.raises(TooShortError):
        extractor(make_signal(seconds=(need - 1) / sr, sr=sr), sample_rate=sr)
    assert np.all(np.isfinite(extractor(make_signal(seconds=need / sr, sr=sr), sample_rate=sr)))


def test_the_minimum_is_in_seconds_whatever_the_file_rate(write_wav):
    fbank = features.get("fbank")  # resamples to 16 kHz
    short = write_wav("s.wav", signal=make_signal(seconds=0.24, sr=44100), sr=44100)
    with pytest.raises(TooShortError, match="0.240 s"):
        fbank(short)
    assert fbank(write_wav("l.wav", signal=make_signal(seconds=0.26, sr=44100), sr=44100)).shape[0] == 24
    fbank.min_duration = 0.5
    with pytest.raises(TooShortError, match="needs at least 0.500 s"):
        fbank(make_signal(seconds=0.4), sample_rate=16000)


def test_feature_errors_survive_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(TooShortError("a.wav", "audio too short", 0.05, 0.25)))
    assert (type(err), err.path, err.problem, err.duration, err.reason) == (TooShortError, "a.wav",
                                                                           "audio too short", 0.05, "too short")
    err = pickle.loads(pickle.dumps(FeatureError("b.wav", "cannot decode")))
    assert (err.path, err.problem, str(err), err.reason) == ("b.wav", "cannot decode", "b.wav: cannot decode", None)


# ----------------------------------------------------------------------------- inputs
def test_extract_takes_a_path_or_a_pathlib_path(write_wav):
    record = write_wav("p.wav", sr=22050)
    for name in ("fbank", "mfcc"):
        extractor = features.get(name)
        expected = extractor.extract(record)
        np.testing.assert_array_equal(extractor.extract(record.audio_path), expected)
        np.testing.assert_array_equal(extractor(pathlib.Path(record.audio_path)), expected)
    with pytest.raises(FeatureError, match="does not exist"):
        features.get("fbank").extract(record.audio_path + ".missing")


def test_extract_takes_samples_with_their_rate(write_wav):
    fbank = features.get("fbank")
    signal = make_signal(sr=22050)
    record = write_wav("a.wav", signal=signal, sr=22050)  # FLOAT file: the same samples
    np.testing.assert_array_equal(fbank.extract(signal, sample_rate=22050), fbank.extract(record))
    stereo = make_signal(channels=2)
    np.testing.assert_array_equal(fbank(stereo, sample_rate=16000), fbank(write_wav("st.wav", signal=stereo)))
    pcm = write_wav("i.wav", subtype="PCM_16")
    as_int16, _ = soundfile.read(pcm.audio_path, dtype="int16")
    np.testing.assert_array_equal(fbank(as_int16, sample_rate=16000), fbank(pcm))
    # A different rate is a different signal: the rate is used, not assumed.
    assert fbank(signal, sample_rate=16000).shape != fbank(signal, sample_rate=22050).shape


def test_bad_array_and_source_arguments_are_clear_errors(write_wav):
    fbank = features.get("fbank")
    signal = make_signal()
    with pytest.raises(ValueError, match=r"needs its rate: extract\(samples, sample_rate=16000\)"):
        fbank.extract(signal)
    with pytest.raises(ValueError, match="positive integer"):
        fbank.extract(signal, sample_rate=0)
    with pytest.raises(ValueError, match=r"look like \(channels, n\)"):
        fbank.extract(make_signal(channels=2).T, sample_rate=16000)
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, channels\)"):
        fbank.extract(signal[None, None], sample_rate=16000)
    with pytest.raises(ValueError, match="dtype uint8"):
        fbank.extract(np.ones(8000, np.uint8), sample_rate=16000)
    with pytest.raises(ValueError, match="sample_rate= is for sample arrays"):
        fbank.extract(write_wav().audio_path, sample_rate=16000)
    with pytest.raises(TypeError, match="expected a Record, an audio file path or a numpy sample array"):
        fbank.extract(3.5)
    with pytest.raises(FeatureError, match="<array>: audio is silent"):
        fbank.extract(np.zeros(8000, np.float32), sample_rate=16000)
    with pytest.raises(FeatureError, match="<array>: audio holds NaN/inf"):
        fbank.extract(np.full(8000, np.nan, np.float32), sample_rate=16000)


def test_compute_features_counts_too_short_clips_as_their_own_skip_reason(write_wav):
    from zoo.pipeline import compute_features

    ok = write_wav("ok.wav", seconds=0.5)
    tiny = write_wav("tiny.wav", seconds=0.05)
    silent = write_wav("silent.wav", signal=np.zeros(8000, np.float32))
    table = compute_features([ok, tiny, silent], {"speech": features.get("fbank")}, on_error="skip")
    assert [r.utterance_id for r in table.records] == ["ok"]
    assert dict(table.report.skipped) == {"too short (speech)": 1, "feature error (speech)": 1}
    example = table.report.examples["too short (speech)"][0]
    assert example.startswith(f"tiny: {tiny.audio_path}: audio too short for fbank: 0.050 s")
    with pytest.raises(TooShortError):
        compute_features([tiny], {"speech": features.get("fbank")})


def test_undecodable_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not a RIFF file at all" * 10)
    with pytest.raises(FeatureError, match="cannot decode") as info:
        features.get("mfcc")(Record("g", "test", audio_path=str(path)))
    assert info.value.path == str(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(FeatureError, match="empty"):
        features.get("fbank")(Record("e", "test", audio_path=str(path)))


def test_wav_without_samples(tmp_path):
    path = tmp_path / "nosamples.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(FeatureError, match="no samples"):
        features.get("fbank")(Record("n", "test", audio_path=str(path)))


def test_missing_file_and_missing_path(tmp_path):
    with pytest.raises(FeatureError, match="does not exist"):
        features.get("fbank")(Record("m", "test", audio_path=str(tmp_path / "nope.wav")))
    with pytest.raises(FeatureError, match="no audio_path"):
        features.get("fbank")(Record("m", "test"))


def test_non_finite_samples(write_wav):
    signal = make_signal()
    signal[100] = np.nan
    record = write_wav("nan.wav", signal=signal)
    with pytest.raises(FeatureError, match="NaN/inf samples"):
        features.get("fbank")(record)


def test_non_finite_feature_values_are_rejected(write_wav):
    class Broken(AudioExtractor):
        name, shape = "broken", (None, 2)

        def config(self):
            return {"name": self.name}

        def compute(self, signal, sr):
            out = np.ones((3, 2))
            out[1, 1] = np.inf
            return out

    record = write_wav()
    with pytest.raises(FeatureError, match="1 NaN/inf values out of 6") as info:
        Broken()(record)
    assert info.value.path == record.audio_path
    with pytest.raises(FeatureError, match="empty array"):
        check_features(np.zeros((0, 4)), "x.wav", "mfcc")


def test_registry():
    assert set(features.EXTRACTORS) == {
        "logmel", "mfcc", "chroma", "mfcc_deltas", "fbank", "logmel_image", "paa_frames",
        "paa_hsf", "word_ids", "bert_tokens", "image", "video_resnet"}
    with pytest.raises(ValueError, match="unknown feature extractor 'nope'"):
        features.get("nope")
    from zoo.recipe import FeatureSpec

    extractor = features.get(FeatureSpec("logmel", {"log": False}), pooling="mean")
    assert extractor.log is False and extractor.shape == (128,)
    with pytest.raises(TypeError):
        features.get("fbank", nonsense=1)
