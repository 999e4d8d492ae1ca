"""zoo.export: waveform-in models equal the Python prediction path, and every exported artefact,
run in its own runtime, equals the Keras model it came from.

Real speech: CSA exported in every format runs on EmoDB and RAVDESS recordings (skipped without the
development corpora). Tolerances: waveform-in Keras model vs ``zoo.predict(window=0)``: 1e-5 (same features within the
front-end tolerances, same weights); artefact vs Keras model: 1e-5 on probabilities (the
converters' float32 kernels differ from TensorFlow's in summation order only). The formats whose
runtime is an optional extra (LiteRT: ai-edge-litert; ONNX: tf2onnx + onnx + onnxruntime) skip
with the reason when it is absent. Each export takes a few seconds (TensorFlow tracing and the
converters), shared by the tests of the module: by default CSA in every format and BLSTMATT in
LiteRT (its batch-1 path); BLSTMATT's SavedModel and ONNX and the feature-input exports (gru_bert,
DSER's three heads) are ``slow``.
"""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import zoo  # noqa: E402
from tests import shared_data  # noqa: E402
from zoo import export  # noqa: E402

SR = 16000
ATOL = 1e-5
BLSTMATT, CSA = "blstmatt-emodb-smoke", "csa-emodb-smoke"
RUNTIMES = {"saved_model": [], "litert": ["ai_edge_litert"], "onnx": ["tf2onnx", "onnx", "onnxruntime"]}
SUFFIX = {"saved_model": "_savedmodel", "litert": ".tflite", "onnx": ".onnx"}


def needs_runtime(fmt):
    for module in RUNTIMES[fmt]:
        pytest.importorskip(module, reason=f"optional extra zoo-ser[{fmt}] absent ({module} not installed)")


def clip(n, f0=200.0, seed=0, level=0.3):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = level * np.sin(2 * np.pi * f0 * t * (1 + 0.2 * np.sin(2 * np.pi * 2 * t))) * (1 + 0.5 * np.sin(6 * t))
    return (x + 0.03 * level * rng.standard_normal(n)).astype(np.float32)


def padded(signals):
    batch = np.zeros((len(signals), max(map(len, signals))), np.float32)
    for i, s in enumerate(signals):
        batch[i, :len(s)] = s
    return batch, np.array([len(s) for s in signals], np.int32)


def python_path(release, signals):
    """``zoo.predict`` on each signal whole (window=0), probabilities in the release's label order."""
    labels = zoo.weights.labels(release)
    results = zoo.predict(list(signals), model=release, sample_rate=SR, window=0, on_error="report")
    return np.array([[r["probabilities"][k] for k in labels] if "probabilities" in r else [np.nan] * len(labels)
                     for r in results])


def compiled(model):
    """The model as one tf.function (an eager LSTM steps in Python: slow)."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: np.asarray(fn(x))


@pytest.fixture(scope="module")
def models():
    return {CSA: export.waveform_model(CSA), BLSTMATT: export.waveform_model(BLSTMATT, lengths=True)}


@pytest.fixture(scope="module")
def blstmatt_batch(models):
    """Rows of 1.5 s, 2.5 s and 0.6 s at different levels, zero-padded, and the waveform model's output."""
    signals = [clip(24000, 180.0, 1), clip(40000, 260.0, 2, level=0.02), clip(9600, 300.0, 3, level=0.05)]
    batch, lengths = padded(signals)
    return signals, batch, lengths, compiled(models[BLSTMATT])({"waveform": batch, "lengths": lengths})


# ----------------------------------------------------------------------------- waveform-in == zoo.predict
def test_csa_waveform_model_equals_the_python_path(models):
    signals = [clip(40000, 180.0, 1), clip(40000, 260.0, 2, level=0.02)]
    got = np.asarray(models[CSA](np.stack(signals)))
    np.testing.assert_allclose(got, python_path(CSA, signals), rtol=0, atol=ATOL)
    assert models[CSA].zoo_export["sample_rate"] == SR


def test_blstmatt_padded_batch_with_lengths_gives_each_row_alone(blstmatt_batch):
    """Each zero-padded row equals zoo.predict on its own samples (masking sees only its frames)."""
    signals, _, _, got = blstmatt_batch
    np.testing.assert_allclose(got, python_path(BLSTMATT, signals), rtol=0, atol=ATOL)


def test_csa_padded_batch_with_lengths_and_a_row_too_short():
    signals = [clip(24000, 180.0, 1), clip(40000, 260.0, 2), clip(9600, 300.0, 3, level=0.05),
               clip(4000, seed=4)]  # 0.25 s: fewer frames than one 30-frame chunk
    expected = python_path(CSA, signals)
    batch, lengths = padded(signals)
    got = np.asarray(export.waveform_model(CSA, lengths=True)({"waveform": batch, "lengths": lengths}))
    np.testing.assert_allclose(got[:3], expected[:3], rtol=0, atol=ATOL)
    assert np.isnan(got[3]).all() and np.isnan(expected[3]).all()  # too short for a chunk: refused / NaN


def test_csa_chunks_matter(models):
    """The in-graph posterior is the mean over chunks, not one chunk's: a clip whose halves differ."""
    x = np.concatenate([clip(24000, 150.0, 1, level=0.5), clip(24000, 400.0, 2, level=0.01)])
    whole = np.asarray(models[CSA](x[None]))[0]
    first = np.asarray(models[CSA](x[None, :5040]))[0]  # exactly one chunk
    assert np.abs(whole - first).max() > 1e-3
    np.testing.assert_allclose(whole, python_path(CSA, [x])[0], rtol=0, atol=ATOL)


@pytest.mark.parametrize("release,names", [("gru_bert-audio_only-synthetic-smoke", ["chroma", "tuning"]),
                                           ("dser-synthetic-smoke", ["paa_hsf", "word_ids"])])
def test_features_without_a_frontend_are_named(release, names):
    with pytest.raises(export.ExportError) as error:
        export.waveform_model(release)
    for name in names:
        assert name in str(error.value)
    assert "without --waveform" in str(error.value)


# ----------------------------------------------------------------------------- artefacts == Keras
@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """(release, format) -> artefact path, exported once (CSA plain, BLSTMATT with lengths)."""
    root = tmp_path_factory.mktemp("export")
    cache = {}

    def get(release, fmt):
        if (release, fmt) not in cache:
            needs_runtime(fmt)
            out = root / f"{release}{SUFFIX[fmt]}"
            cache[(release, fmt)] = export.export(release, fmt, out, waveform=True, lengths=release == BLSTMATT)
        return cache[(release, fmt)]

    return get


@pytest.mark.parametrize("fmt", sorted(RUNTIMES))
def test_csa_artefact_matches_keras(fmt, artefacts, models):
    path = artefacts(CSA, fmt)
    run = export.load_artefact(path)
    x = np.stack([clip(40000, 180.0, 1), clip(40000, 260.0, 2, level=0.02), clip(40000, 320.0, 3)])
    np.testing.assert_allclose(run(x), np.asarray(models[CSA](x)), rtol=0, atol=ATOL)
    side = json.loads(export.sidecar_path(path).read_text())
    assert side["outputs"]["labels"] == zoo.weights.labels(CSA) == run.labels
    assert side["input"]["sample_rate"] == SR and side["input"]["kind"] == "waveform"
    assert side["chunking"] == {"frames": 30, "overlap": 10, "drop_short": True,
                                "utterance": "mean of the chunk posteriors (in the graph)"}
    assert side["features"]["fbank"]["n_mels"] == 23 and side["input"]["min_samples"] == 5040


def real_clips():
    """The first two EmoDB and two RAVDESS recordings of at least 2 s, at 16 kHz, cut to 2 s so
    that they stack."""
    from zoo.features.audio import load_audio

    signals, paths = [], []
    for corpus in (sorted((shared_data.corpus("emodb") / "wav").glob("*.wav")),
                   sorted(shared_data.corpus("ravdess").rglob("*.wav"))):
        taken = 0
        for path in corpus:
            samples = load_audio(str(path), SR)[0]
            if len(samples) >= 32000 and taken < 2:
                signals.append(samples[:32000])
                paths.append(path)
                taken += 1
    return np.stack(signals), paths


@shared_data.needs("emodb")
@shared_data.needs("ravdess")
@pytest.mark.parametrize("fmt", sorted(RUNTIMES))
def test_artefacts_on_real_clips(fmt, artefacts, models):
    """Real speech, in every format's own runtime: the artefact equals the waveform-in Keras model
    (1e-5) and the Python path (zoo.predict on the same samples)."""
    x, paths = real_clips()
    assert x.shape == (4, 32000), [str(p.name) for p in paths]
    expected = np.asarray(models[CSA](x))
    np.testing.assert_allclose(export.load_artefact(artefacts(CSA, fmt))(x), expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(expected, python_path(CSA, list(x)), rtol=0, atol=ATOL)


@pytest.mark.parametrize("fmt", [pytest.param("saved_model", marks=pytest.mark.slow), "litert",
                                 pytest.param("onnx", marks=pytest.mark.slow)])
def test_blstmatt_artefact_matches_keras_on_a_padded_batch(fmt, artefacts, blstmatt_batch):
    path = artefacts(BLSTMATT, fmt)
    _, batch, lengths, expected = blstmatt_batch
    np.testing.assert_allclose(export.load_artefact(path)(batch, lengths), expected, rtol=0, atol=ATOL)
    side = export.read_sidecar(path)
    assert side["input"]["lengths"] is True
    assert side["input"]["batch"] == (1 if fmt == "litert" else None)  # LiteRT lowers the LSTM with batch 1


@pytest.mark.slow
def test_feature_input_export_of_a_model_without_frontends(tmp_path):
    """gru_bert audio-only reads chroma: not waveform-in, but its feature-input graph exports."""
    release = "gru_bert-audio_only-synthetic-smoke"
    out = export.export(release, "saved_model", tmp_path / "gru")
    run = export.load_artefact(out)
    side = run.sidecar
    assert side["input"]["kind"] == "features" and side["frontend"] == {"in_graph": False}
    streams = ["mel", "mfcc", "chroma"]
    assert [i["name"] for i in side["input"]["inputs"]] == streams + [f"{n}_length" for n in streams]
    extractors = zoo.weights.extractors(release)
    signal = clip(22050 * 2, seed=5)
    x = {name: extractors[name].extract(signal, sample_rate=SR)[None] for name in streams}
    model = zoo.weights.load(release)
    full = {**x, **{f"{n}_length": np.array([x[n].shape[1]], np.int32) for n in streams}}
    # The artefact fills in the lengths of unpadded rows; given, they are used.
    np.testing.assert_allclose(run(x), np.asarray(model(full)), rtol=0, atol=ATOL)
    np.testing.assert_allclose(run(full), np.asarray(model(full)), rtol=0, atol=ATOL)


@pytest.mark.slow
def test_multi_output_regression_export():
    """DSER (HSF + words -> valence, arousal, dominance heads): columns side by side in the sidecar's order."""
    release = "dser-synthetic-smoke"
    model = zoo.weights.load(release)
    rng = np.random.default_rng(0)
    x = {"hsf": rng.standard_normal((3, 68)).astype(np.float32), "text": rng.integers(0, 200, (3, 32)).astype(np.int32)}
    expected = np.concatenate([np.asarray(o) for o in model(x)], axis=1)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        run = export.load_artefact(export.export(release, "saved_model", f"{folder}/dser"))
        np.testing.assert_allclose(run(x), expected, rtol=0, atol=ATOL)
    assert run.sidecar["outputs"]["names"] == model.output_names == ["valence", "arousal", "dominance"]
    assert run.sidecar["outputs"]["targets"] == zoo.weights.labels(release)


# ----------------------------------------------------------------------------- errors, files, CLI
class _Igamma:
    """A layer using an op that neither LiteRT's builtins nor ONNX have (tf.math.igamma)."""

    @staticmethod
    def model():
        import keras
        import tensorflow as tf

        class Igamma(keras.layers.Layer):
            def call(self, x):
                return tf.math.igamma(tf.abs(x) + 1.0, tf.abs(x) + 1.0)

        inputs = keras.Input((4,), name="x")
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(Igamma()(inputs)), name="bad")


@pytest.mark.parametrize("fmt,op", [("litert", "tf.Igamma"), ("onnx", "Igamma")])
def test_unsupported_op_is_named_and_nothing_is_left(fmt, op, tmp_path):
    if fmt == "onnx":
        needs_runtime("onnx")
    out = tmp_path / f"bad{SUFFIX[fmt]}"
    with pytest.raises(export.ExportError, match=f"cannot hold this model.*{op}"):
        export.export(_Igamma.model(), fmt, out)
    assert list(tmp_path.iterdir()) == []  # no artefact, sidecar or temporary file


def test_wrong_suffix_and_missing_extra(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"litert artefact is a \.tflite file"):
        export.export(CSA, "litert", tmp_path / "csa.onnx", waveform=True)
    with pytest.raises(ValueError, match="SavedModel is a directory"):
        export.export(CSA, "saved_model", tmp_path / "csa.tflite")
    with pytest.raises(ValueError, match="unknown format"):
        export.export(CSA, "coreml", tmp_path / "csa.mlmodel")
    monkeypatch.setitem(__import__("sys").modules, "tf2onnx", None)  # import tf2onnx -> ImportError
    with pytest.raises(export.MissingExtraError, match=r"tf2onnx.*zoo-ser\[onnx\]"):
        export.export(CSA, "onnx", tmp_path / "csa.onnx", waveform=True)
    assert list(tmp_path.iterdir()) == []


def test_keras_file_source_takes_features_from_the_registry(tmp_path):
    """A .keras CSA (tiny, 12-frame chunks) exports waveform-in with the recipe's fbank and its own chunk."""
    csa = zoo.build("csa", filters=(4, 4), kernel_sizes=(3, 2), chunk_frames=12)
    path = tmp_path / "tiny.keras"
    csa.save(path)
    model = export.waveform_model(str(path))
    assert model.zoo_export["source"].chunking == (12, 10, True)
    from zoo import features
    from zoo.features.spectral import chunk_frames

    x = clip(16000, seed=7)
    chunks = chunk_frames(features.get("fbank").extract(x, sample_rate=SR), 12, 10)
    expected = np.asarray(csa(chunks)).mean(axis=0)
    np.testing.assert_allclose(np.asarray(model(x[None]))[0], expected, rtol=0, atol=ATOL)


def test_build_waveform_input_from_the_recipe():
    """``zoo.build(name, waveform_input=True)``: the recipe's fbank in the graph, then the model itself;
    the inner model's output on librosa's features equals the wrapper's on the waveform."""
    from zoo import features

    model = zoo.build("blstmatt", lstm_units=8, attention_units=4, waveform_input=True, waveform_lengths=True)
    assert sorted(t.name.split(":")[0] for t in model.inputs) == ["lengths", "waveform"]
    inner = model.zoo_export["source"].model
    x = clip(24000, seed=3)
    fbank = features.get("fbank").extract(x, sample_rate=SR)
    expected = np.asarray(inner({"fbank": fbank[None], "fbank_length": np.array([len(fbank)], np.int32)}))
    got = np.asarray(model({"waveform": x[None], "lengths": np.array([len(x)], np.int32)}))
    assert got.shape == (1, 4)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_build_waveform_input_with_release_weights_and_a_new_head(models):
    """With ``weights=<release>`` the release's features are used; a new head keeps them."""
    same = zoo.build("csa", weights=CSA, waveform_input=True)
    x = clip(40000, 180.0, 1)[None]
    np.testing.assert_allclose(np.asarray(same(x)), np.asarray(models[CSA](x)), rtol=0, atol=1e-6)
    assert same.zoo_export["source"].chunking == models[CSA].zoo_export["source"].chunking
    headed = zoo.build("csa", weights=CSA, classes=["low", "high"], new_head=True, waveform_input=True)
    assert np.asarray(headed(x)).shape == (1, 2)
    assert headed.zoo_export["source"].labels == ["low", "high"]


def test_build_waveform_input_refuses_what_has_no_front_end():
    with pytest.raises(export.ExportError, match="chroma"):
        zoo.build("gru_bert:audio_only", waveform_input=True)
    with pytest.raises(TypeError, match="waveform_input"):
        zoo.build("blstmatt", waveform_lengths=True)


def test_cli_export_and_its_errors(tmp_path, capsys):
    from zoo.__main__ import main

    out = tmp_path / "csa_savedmodel"
    assert main(["export", CSA, "--format", "saved_model", "--waveform", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (" in printed and "waveform (B, N) float32 at 16000 Hz -> 4 probabilities" in printed
    assert export.read_sidecar(out)["source"]["release"] == CSA
    bad = tmp_path / "gru.tflite"
    assert main(["export", "gru_bert-audio_only-synthetic-smoke", "--format", "litert", "--waveform",
                 "--out", str(bad)]) == 2
    assert "chroma" in capsys.readouterr().err
    assert not bad.exists() and not export.sidecar_path(bad).exists()


def test_speaker_normalised_release_is_not_made_waveform_in(monkeypatch):
    from zoo import weights

    entry = dict(weights.get(CSA), normalize="speaker")
    monkeypatch.setattr(weights, "get", lambda name, manifest_path=None: entry)
    with pytest.raises(export.ExportError, match="standardised per speaker.*without --waveform"):
        export.waveform_model(CSA)
