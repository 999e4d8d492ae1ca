"""Audio loading (decode, downmix, resample) and the bad-input errors of every audio extractor."""
import numpy as np
import pytest
import soundfile

from zoo import features
from zoo.data.records import Record
from zoo.features.audio import AudioExtractor, check_features, load_audio
from zoo.features.base import FeatureError

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


@pytest.mark.parametrize("name, samples", [("fbank", 399), ("mfcc_deltas", 1679), ("paa_frames", 399),
                                           ("mfcc", 2047), ("logmel_image", 2047)])
def test_audio_shorter_than_the_window_is_rejected(write_wav, name, samples):
    sr = 22050 if name in ("mfcc", "logmel_image") else 16000
    record = write_wav("short.wav", signal=make_signal(seconds=samples / sr, sr=sr), sr=sr)
    with pytest.raises(FeatureError, match="too short") as info:
        features.get(name)(record)
    assert record.audio_path in str(info.value)
    features.get(name)(write_wav("ok.wav", signal=make_signal(seconds=(samples + 1) / sr, sr=sr), sr=sr))


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
