"""librosa-based extractors equal librosa's own output for the same parameters."""
import librosa
import numpy as np
import pytest

from zoo import features
from zoo.features.spectral import FBANK_LOG_FLOOR, chunk_frames

from .conftest import make_signal


def test_mfcc_equals_librosa(write_wav):
    record = write_wav(sr=22050, seconds=0.5)
    y = make_signal(sr=22050, seconds=0.5)
    expected = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40, n_fft=2048, hop_length=512)
    out = features.get("mfcc")(record)
    assert out.shape == (expected.shape[1], 40) == (1 + 11025 // 512, 40)
    np.testing.assert_allclose(out, expected.T, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(features.get("mfcc", pooling="mean")(record), expected.mean(axis=1), rtol=1e-5, atol=1e-3)


def test_logmel_log_and_power_and_chroma_from_magnitude(write_wav):
    record = write_wav(sr=22050, seconds=0.5)
    y = make_signal(sr=22050, seconds=0.5)
    power = librosa.feature.melspectrogram(y=y, sr=22050, n_mels=128)
    np.testing.assert_allclose(features.get("logmel", log=False)(record), power.T, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(features.get("logmel")(record), librosa.power_to_db(power).T, rtol=1e-5, atol=1e-3)
    pooled = features.get("logmel", log=False, pooling="mean")
    assert pooled.shape == (128,)
    np.testing.assert_allclose(pooled(record), power.mean(axis=1), rtol=1e-5)
    chroma = librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=22050)
    out = features.get("chroma")(record)
    assert out.shape == (chroma.shape[1], 12)
    np.testing.assert_allclose(out, chroma.T, rtol=1e-5, atol=1e-6)
    # a 440 Hz sine is an A: the strongest chroma bin (C=0 ... A=9)
    assert np.argmax(out.mean(axis=0)) == 9


def test_mfcc_deltas_are_librosa_deltas_of_25ms_hamming_mfcc(write_wav):
    record = write_wav(seconds=0.5)
    y = make_signal(seconds=0.5)
    mfcc = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=40, n_mels=40, n_fft=400, hop_length=160,
                                window="hamming", center=False)
    out = features.get("mfcc_deltas")(record)
    assert out.shape == (1 + (8000 - 400) // 160, 120)
    np.testing.assert_allclose(out[:, :40], mfcc.T, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(out[:, 40:80], librosa.feature.delta(mfcc).T, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out[:, 80:], librosa.feature.delta(mfcc, order=2).T, rtol=1e-4, atol=1e-3)


def test_fbank_is_23_log_mel_bands_every_10ms(write_wav):
    record = write_wav(seconds=1.0)
    out = features.get("fbank")(record)
    # 1 s at 16 kHz, 400-sample windows fully inside the signal every 160 samples
    assert out.shape == (1 + (16000 - 400) // 160, 23) == (98, 23)
    y = make_signal(seconds=1.0)
    power = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=400, hop_length=160, window="hamming",
                                           center=False, n_mels=23)
    np.testing.assert_allclose(out, np.log(np.maximum(power, FBANK_LOG_FLOOR)).T, rtol=1e-5, atol=1e-4)
    # 2.5 s -> 248 frames; the log floor bounds silent stretches
    record = write_wav("long.wav", signal=np.concatenate([make_signal(seconds=2.0), np.zeros(8000, np.float32)]))
    out = features.get("fbank")(record)
    assert out.shape == (1 + (40000 - 400) // 160, 23) == (248, 23)
    np.testing.assert_allclose(out[-1], np.log(FBANK_LOG_FLOOR), rtol=1e-6)


def test_logmel_image_shape_range_and_time_axis(write_wav):
    record = write_wav(sr=22050, seconds=1.0)
    extractor = features.get("logmel_image")
    image = extractor(record)
    assert extractor.shape == image.shape == (128, 128, 1)
    assert image.dtype == np.float32 and image.min() == 0.0 and image.max() == 1.0
    # 1 s -> 44 frames resized to 128 columns: the first and last columns are the original
    # ones up to the one affine min-max map of the image
    y = make_signal(sr=22050, seconds=1.0)
    db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_mels=128), ref=np.max, top_db=80)
    assert db.shape == (128, 44)
    ends = np.concatenate([db[:, 0], db[:, -1]])
    slope, offset = np.polyfit(ends, np.concatenate([image[:, 0, 0], image[:, -1, 0]]), 1)
    np.testing.assert_allclose(slope * ends + offset, np.concatenate([image[:, 0, 0], image[:, -1, 0]]), atol=1e-5)
    assert slope > 0
    norm = (db - db.min()) / (db.max() - db.min())
    padded = features.get("logmel_image", time_axis="pad")(record)
    np.testing.assert_allclose(padded[:, :44, 0], norm, atol=1e-5)
    assert np.all(padded[:, 44:] == 0.0)


def test_chunk_frames_overlap_and_short_sequences():
    x = np.arange(50 * 2).reshape(50, 2)
    chunks = chunk_frames(x, length=30, overlap=10)
    assert chunks.shape == (2, 30, 2)  # starts 0 and 20; a third chunk (40..70) would overrun
    np.testing.assert_array_equal(chunks[1], x[20:50])
    np.testing.assert_array_equal(chunks[0, -10:], chunks[1, :10])
    assert chunk_frames(x[:20], 30, 10).shape == (0, 30, 2)
    short = chunk_frames(x[:20], 30, 10, drop_short=False)
    assert short.shape == (1, 30, 2) and np.all(short[0, 20:] == 0)
    with pytest.raises(ValueError):
        chunk_frames(x, 30, 30)


def test_chunk_frames_pad_value_and_tail():
    x = np.arange(25, dtype="float32")[:, None]
    short = chunk_frames(x[:4], 6, 2, drop_short=False, pad_value=-1.0)
    np.testing.assert_array_equal(short[0, :, 0], [0, 1, 2, 3, -1, -1])
    # 25 frames, length 10, hop 8: starts 0, 8 (16 would end at 26); keep_tail adds start 15.
    assert [c[0, 0] for c in chunk_frames(x, 10, 2)] == [0, 8]
    assert [c[0, 0] for c in chunk_frames(x, 10, 2, keep_tail=True)] == [0, 8, 15]
