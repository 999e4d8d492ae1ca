"""The in-graph front-ends (zoo.layers.frontends) equal the librosa extractors (zoo.features).

Signals: a gliding tone over noise with a stretch 90 dB down (so the top-dB clamp and the log
floors act) and a second, 40 dB quieter one (a clamp or a min-max taken over the batch instead of
the utterance would show), at 16 kHz and at 22,050 Hz; real EmoDB clips when the development copy
is there. Tolerances: zoo.layers.frontends.TOLERANCES.
"""
import numpy as np
import pytest

from tests import shared_data

pytest.importorskip("tensorflow")

from zoo import features  # noqa: E402
from zoo.features.audio import load_audio  # noqa: E402
from zoo.layers import frontends  # noqa: E402

TOL = frontends.TOLERANCES


def signal(n, sr=16000, f0=220.0, level=0.3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    x = level * np.sin(2 * np.pi * f0 * t * (1 + 0.3 * t)) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    x = x + 0.02 * level * rng.standard_normal(n)
    x[n // 3:n // 3 + n // 6] *= 3e-5  # ~90 dB down: below every top-dB clamp
    return x.astype(np.float32)


def padded(signals):
    batch = np.zeros((len(signals), max(map(len, signals))), np.float32)
    for i, s in enumerate(signals):
        batch[i, :len(s)] = s
    return batch, np.array([len(s) for s in signals], np.int32)


# (extractor name, options) -> compared on the same 16 kHz signal
CASES = [
    ("fbank", {}),
    ("fbank", {"htk": True, "fmin": 20.0}),
    ("logmel", {"sr": 16000}),
    ("mfcc", {"sr": 16000}),
    ("mfcc_deltas", {}),
    ("logmel_image", {"sr": 16000}),
    ("logmel_image", {"sr": 16000, "time_axis": "pad"}),
    ("mfcc", {"sr": 16000, "pooling": "mean"}),
]


def _tolerance(name):
    return TOL[name]


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{'-'.join(map(str, o.values())) or 'default'}"
                                                     for n, o in CASES])
def test_frontend_equals_extractor(name, options):
    x = signal(20000)
    extractor = features.get(name, **options)
    layer = frontends.frontend_for(extractor)
    expected = extractor.extract(x, sample_rate=16000)
    got = np.asarray(layer(x[None]))[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=_tolerance(name))


def test_logmel_at_the_release_rate_and_power_mean():
    """22,050 Hz (gru_bert's release rate), dB frames; the power (log=False) mean of the reference variant."""
    x = signal(30000, sr=22050, f0=300.0)
    db = features.get("logmel")
    np.testing.assert_allclose(np.asarray(frontends.frontend_for(db)(x[None]))[0], db.extract(x, sample_rate=22050),
                               rtol=0, atol=TOL["logmel"])
    power = features.get("logmel", log=False, pooling="mean")
    expected = power.extract(x, sample_rate=22050)
    np.testing.assert_allclose(np.asarray(frontends.frontend_for(power)(x[None]))[0], expected, rtol=1e-4,
                               atol=1e-6 * expected.max())


def test_cmvn_equals_normalized_extractor():
    x = signal(18000)
    extractor = features.get("fbank", normalize="utterance")
    front, cmvn = frontends.frontend_for(extractor)
    got = np.asarray(cmvn(front(x[None])))[0]
    np.testing.assert_allclose(got, extractor.extract(x, sample_rate=16000), rtol=0, atol=TOL["cmvn"])


@pytest.mark.parametrize("name,options", [("fbank", {}), ("logmel", {"sr": 16000}), ("mfcc_deltas", {}),
                                          ("logmel_image", {"sr": 16000}), ("mfcc", {"sr": 16000, "pooling": "mean"}),
                                          ("fbank", {"normalize": "utterance"})])
def test_padded_batch_gives_each_row_its_own_features(name, options):
    """Rows of different lengths and levels, zero-padded, with lengths: each row equals the extractor
    on its own samples; frames after a row's own are zero."""
    signals = [signal(7000, seed=1), signal(12345, f0=150.0, level=0.003, seed=2), signal(20000, seed=3)]
    batch, lengths = padded(signals)
    extractor = features.get(name, **options)
    layer = frontends.frontend_for(extractor, return_frames=True)
    if isinstance(layer, list):
        front, cmvn = layer
        x, frames = front([batch, lengths])
        out = np.asarray(cmvn([x, frames]))
    else:
        out, frames = layer([batch, lengths])
        out = np.asarray(out)
    frames = np.asarray(frames)
    tol = TOL["cmvn" if "normalize" in options else name]
    for i, s in enumerate(signals):
        expected = extractor.extract(s, sample_rate=16000)
        if extractor.shape[0] is None:  # frame sequences
            assert frames[i] == len(expected)
            np.testing.assert_allclose(out[i, :len(expected)], expected, rtol=0, atol=tol)
            assert not out[i, len(expected):].any()
        else:
            np.testing.assert_allclose(out[i], expected, rtol=0, atol=tol)


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize("n", [400, 401, 559, 560, 4000, 4001])
def test_frame_counts_follow_the_extractors(n):
    """``1 + (n - 400) // 160`` for the snip-edges fbank, ``1 + n // 512`` centred."""
    fbank, logmel = frontends.FBank(), frontends.LogMel(sample_rate=16000)
    x = signal(n)
    assert fbank.frames(n) == features.get("fbank").compute(x, 16000).shape[0]
    assert logmel.frames(n) == features.get("logmel", sr=16000).compute(x, 16000).shape[0]
    assert fbank.frames(399) == 0


def test_chunks_and_masked_mean_equal_chunk_frames():
    from zoo.features.spectral import average_chunk_posteriors, chunk_frames

    rng = np.random.default_rng(0)
    feats = rng.standard_normal((2, 75, 3)).astype(np.float32)
    frames = np.array([75, 52], np.int32)
    chunks, counts = frontends.ChunkFrames(30, 10)([feats, frames])
    chunks, counts = np.asarray(chunks).reshape(2, -1, 30, 3), np.asarray(counts)
    for b in range(2):
        expected = chunk_frames(feats[b, :frames[b]], 30, 10)
        assert counts[b] == len(expected)
        np.testing.assert_array_equal(chunks[b, :counts[b]], expected)
    values = rng.random((2 * chunks.shape[1], 4)).astype(np.float32)
    mean = np.asarray(frontends.MaskedMean()([values, counts]))
    owners = np.repeat([0, 1], chunks.shape[1])
    keep = np.concatenate([np.arange(chunks.shape[1]) < c for c in counts])
    np.testing.assert_allclose(mean, average_chunk_posteriors(values[keep], owners[keep], 2), rtol=1e-6)
    none = np.asarray(frontends.MaskedMean()([values[:2], np.array([0, 0], np.int32)]))
    assert np.isnan(none).all()  # no chunk: NaN, as average_chunk_posteriors


def test_layers_round_trip_through_keras_files(tmp_path):
    import keras

    wave = keras.Input((None,), name="waveform")
    deltas = frontends.MFCCDeltas(name="deltas")(wave)
    image = frontends.LogMelImage(sample_rate=16000, n_mels=32, size=16, time_axis="pad", name="image")(wave)
    model = keras.Model(wave, [deltas, image])
    path = tmp_path / "frontends.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    x = signal(9000)[None]
    for a, b in zip(model(x), again(x)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert again.get_layer("image").time_axis == "pad" and again.get_layer("deltas").delta_width == 9


@pytest.mark.parametrize("name,why", [("chroma", "tuning"), ("paa_hsf", "pyAudioAnalysis"),
                                      ("bert_tokens", "tokenisation"), ("word_ids", "tokenisation")])
def test_features_without_a_frontend_say_so(name, why):
    with pytest.raises(frontends.NotInGraphError, match=f"{name}.*{why}"):
        frontends.frontend_for({"name": name})


def test_mixed_precision_policy_keeps_float32_spectra():
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = frontends.FBank()
        x = signal(8000)
        got = np.asarray(layer(x[None]))[0]
    finally:
        keras.config.set_dtype_policy(previous)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, features.get("fbank").extract(x, sample_rate=16000), rtol=0, atol=TOL["fbank"])


@shared_data.needs("emodb")
@pytest.mark.parametrize("name,options,sr", [("fbank", {}, 16000), ("mfcc_deltas", {}, 16000),
                                             ("logmel", {}, 22050), ("mfcc", {}, 22050),
                                             ("logmel_image", {}, 22050), ("fbank", {"normalize": "utterance"}, 16000)])
def test_real_clips(name, options, sr):
    """Three EmoDB clips: the extractor on the file, the layer on the same decoded, resampled signal."""
    clips = sorted((shared_data.corpus("emodb") / "wav").glob("*.wav"))[:3]
    extractor = features.get(name, **options)
    layer = frontends.frontend_for(extractor, sample_rate=sr)
    front, cmvn = layer if isinstance(layer, list) else (layer, None)
    for clip in clips:
        samples, _ = load_audio(str(clip), extractor.sr or sr)
        got = front(samples[None])
        got = np.asarray(cmvn(got) if cmvn is not None else got)[0]
        np.testing.assert_allclose(got, extractor.extract(str(clip)), rtol=0,
                                   atol=TOL["cmvn" if cmvn is not None else name], err_msg=str(clip))
