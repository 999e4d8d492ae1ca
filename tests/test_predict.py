"""zoo.predict and ``python -m zoo predict``: committed smoke releases (no download), audio written
here. Results are checked against the release's model run by hand on the release's features, so a
wrong rate, a missed downmix, a window cut at the wrong place or a summary that is not the mean
of the windows fails."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import zoo
from zoo import weights
from zoo.features.base import FeatureError, TooShortError
from zoo.features.spectral import chunk_frames

BLSTMATT = "blstmatt-synthetic-smoke"
CSA = "csa-synthetic-smoke"


def tone(seconds, sr, seed=0):
    """A voiced-looking test signal: a 180 Hz tone with harmonics, a 3 Hz envelope and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    pitch = 180 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    x = sum(np.sin(k * phase) / k for k in (1, 2, 3)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (0.2 * x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def by_hand(release, mono_16k, chunked=False):
    """The release's model on its own fbank features of a 16 kHz mono signal (chunk mean for CSA)."""
    fbank = weights.extractors(release)["fbank"].extract(mono_16k, sample_rate=16000)
    model = zoo.predict.load(release).model
    if chunked:
        x = chunk_frames(fbank, 30, 10)
        return np.asarray(model.predict_on_batch(x)).mean(axis=0)
    # Keras' compiled path, not ours; the true length is the whole recording's frame count.
    return np.asarray(model.predict_on_batch({"fbank": fbank[None], "fbank_length": np.array([len(fbank)], "int32")}))[0]


def resample16k(x, sr):
    import librosa

    return librosa.resample(x, orig_sr=sr, target_sr=16000, res_type="soxr_hq")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    left, right = tone(3.0, 44100, 1), tone(3.0, 44100, 2)
    stereo = np.stack([left, right], axis=1)
    soundfile.write(folder / "stereo44k.wav", stereo, 44100)
    soundfile.write(folder / "long.flac", tone(11.0, 16000, 3), 16000)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00not really a wave file")
    return {"folder": folder, "stereo": stereo, "wav": str(folder / "stereo44k.wav"),
            "long": str(folder / "long.flac"), "corrupt": str(folder / "corrupt.wav"),
            "missing": str(folder / "missing.wav")}


def probabilities(result):
    return np.array(list(result["probabilities"].values()))


def test_path_and_array_at_44k_stereo_match_the_model_on_the_release_features(clips):
    from_path = zoo.predict(clips["wav"], model=BLSTMATT)
    from_array = zoo.predict(clips["stereo"], model=BLSTMATT, sample_rate=44100)
    assert set(from_path) == {"path", "duration", "label", "probabilities"}
    assert from_path["path"] == clips["wav"] and from_array["path"] is None
    assert list(from_path["probabilities"]) == weights.labels(BLSTMATT)
    assert from_path["duration"] == pytest.approx(3.0)
    # Downmix (mean of the channels, as soundfile read it) then resample to fbank's 16 kHz.
    mono = soundfile.read(clips["wav"], dtype="float32")[0].mean(axis=1)
    expected = by_hand(BLSTMATT, resample16k(mono, 44100))
    np.testing.assert_allclose(probabilities(from_path), expected, atol=1e-5)
    np.testing.assert_allclose(probabilities(from_array), expected, atol=1e-4)
    assert probabilities(from_path).sum() == pytest.approx(1.0, abs=1e-5)
    assert from_path["label"] == weights.labels(BLSTMATT)[int(np.argmax(expected))]
    # A list gives a list, in order; the first channel alone is another signal, another answer.
    both = zoo.predict([clips["wav"], clips["stereo"][:, 0]], model=BLSTMATT, sample_rate=44100)
    assert [r["path"] for r in both] == [clips["wav"], None]
    assert not np.allclose(probabilities(both[1]), expected, atol=1e-4)


def test_the_loaded_release_is_cached_and_the_default_is_an_audio_release():
    assert zoo.predict.load(BLSTMATT) is zoo.predict.load(BLSTMATT)
    entry = weights.get(zoo.predict.DEFAULT_MODEL)
    assert entry["committed"] and entry["outputs"]["kind"] == "classes"
    assert not {f["extractor"] for f in entry["features"].values()} & set(zoo.predict.TEXT_EXTRACTORS)


def test_spans_default_and_overrides():
    spans = zoo.predict.spans
    assert spans(10.0) is None  # up to 10 s: predicted whole
    assert spans(11.0) == [(0, 4), (2, 6), (4, 8), (6, 10), (7, 11)]  # the tail aligned to the end
    assert spans(12.0) == [(0, 4), (2, 6), (4, 8), (6, 10), (8, 12)]  # no extra window when it fits
    assert spans(5.0, window=2.0) == [(0, 2), (1, 3), (2, 4), (3, 5)]  # hop: half the window
    assert spans(5.0, window=2.0, hop=2.0) == [(0, 2), (2, 4), (3, 5)]
    assert spans(11.0, hop=3.0) == [(0, 4), (3, 7), (6, 10), (7, 11)]
    assert spans(30.0, window=0) is None and spans(2.0, window=3.0) is None
    for bad in ({"window": -1}, {"window": 2, "hop": 0}, {"hop": -1}):
        with pytest.raises(ValueError, match="window|hop"):
            zoo.predict.check_window(bad.get("window"), bad.get("hop"))


def test_a_long_input_is_windowed_and_summarised_by_the_mean(clips):
    result = zoo.predict([clips["long"]], model=BLSTMATT)[0]
    windows = result["windows"]
    assert [(w["start"], w["end"]) for w in windows] == [(0, 4), (2, 6), (4, 8), (6, 10), (7, 11)]
    signal = soundfile.read(clips["long"], dtype="float32")[0]
    for w in windows:  # each window is the model on that stretch alone (batching changes nothing)
        piece = signal[int(w["start"] * 16000):int(w["end"] * 16000)]
        np.testing.assert_allclose(probabilities(w), by_hand(BLSTMATT, piece), atol=1e-5)
    mean = np.mean([probabilities(w) for w in windows], axis=0)
    np.testing.assert_allclose(probabilities(result), mean, atol=1e-9)
    assert result["label"] == weights.labels(BLSTMATT)[int(np.argmax(mean))]
    assert "windows" not in zoo.predict(clips["long"], model=BLSTMATT, window=0)
    assert len(zoo.predict(clips["wav"], model=BLSTMATT, window=1.0, hop=1.0)["windows"]) == 3


def test_csa_averages_its_chunk_posteriors_per_window(clips):
    mono = resample16k(clips["stereo"].mean(axis=1), 44100)
    whole = zoo.predict(clips["stereo"], model=CSA, sample_rate=44100)
    np.testing.assert_allclose(probabilities(whole), by_hand(CSA, mono, chunked=True), atol=1e-4)
    windowed = zoo.predict(clips["stereo"], model=CSA, sample_rate=44100, window=1.0, hop=0.5)
    assert len(windowed["windows"]) == 5
    second = windowed["windows"][1]
    np.testing.assert_allclose(probabilities(second), by_hand(CSA, mono[8000:24000], chunked=True), atol=1e-4)
    np.testing.assert_allclose(probabilities(windowed),
                               np.mean([probabilities(w) for w in windowed["windows"]], axis=0), atol=1e-9)


def test_too_short_input_is_reported_clearly():
    with pytest.raises(TooShortError, match=r"<array 0>: audio too short for fbank: 0\.100 s"):
        zoo.predict(tone(0.1, 16000), model=BLSTMATT, sample_rate=16000)
    # Long enough for fbank (0.25 s), shorter than one 30-frame CSA chunk (0.315 s).
    with pytest.raises(TooShortError, match=r"<array 0>: .*fewer than one 30-frame chunk .*0\.315 s"):
        zoo.predict(tone(0.28, 16000), model=CSA, sample_rate=16000)
    (row,) = zoo.predict([tone(0.1, 8000)], model=BLSTMATT, sample_rate=8000, on_error="report")
    assert row["path"] is None and "too short" in row["error"]


def test_bad_inputs_name_themselves_and_the_others_are_predicted(clips):
    rows = zoo.predict([clips["missing"], clips["wav"], clips["corrupt"], np.zeros(16000, np.float32)],
                       model=BLSTMATT, sample_rate=16000, on_error="report")
    assert rows[0] == {"path": clips["missing"], "error": f"{clips['missing']}: audio file does not exist"}
    assert rows[1]["label"] in weights.labels(BLSTMATT)
    assert rows[2]["path"] == clips["corrupt"] and rows[2]["error"].startswith(f"{clips['corrupt']}: cannot decode")
    assert rows[3]["error"] == "<array 3>: audio is silent (every sample is zero)"
    with pytest.raises(FeatureError, match="does not exist"):
        zoo.predict([clips["wav"], clips["missing"]], model=BLSTMATT)


def test_entry_point_errors_name_the_input_and_the_expected_shape(monkeypatch):
    from zoo import features

    with pytest.raises(zoo.predict.InputError, match=r"<array 0>: empty input of shape \(0, 2\)"):
        zoo.predict(np.zeros((0, 2), np.float32), model=BLSTMATT, sample_rate=16000)
    with pytest.raises(zoo.predict.InputError, match=r"<array 0>: a sample array needs its rate"):
        zoo.predict(tone(1.0, 16000), model=BLSTMATT)
    predictor = zoo.predict.load(BLSTMATT)
    monkeypatch.setitem(predictor.extractors, "fbank", features.get("fbank", n_mels=40))
    with pytest.raises(zoo.predict.InputError,
                       match=r"<array 0>: model input 'fbank' .* expects features of shape "
                             r"\(any, 23\), got \(98, 40\)"):
        zoo.predict(tone(1.0, 16000), model=BLSTMATT, sample_rate=16000)


def test_text_releases_need_texts_and_unknown_releases_are_named():
    with pytest.raises(ValueError, match=r"reads text .*pass texts="):
        zoo.predict(tone(1.0, 16000), model="dser-synthetic-smoke", sample_rate=16000)
    with pytest.raises(ValueError, match="predicts whole recordings"):
        zoo.predict(tone(1.0, 16000), model="amh-synthetic-smoke", sample_rate=16000, texts=["hi"], window=2)
    with pytest.raises(ValueError, match=r"unknown release 'nope'; known: .*blstmatt-synthetic-smoke"):
        zoo.predict(tone(1.0, 16000), model="nope", sample_rate=16000)


def test_a_regression_model_gives_values_by_target_name():
    """DSER's three heads, mapped by output name (the release's target order may differ)."""
    from zoo import features, registry

    model = registry.build("dser:acoustic", **registry.get_spec("dser").tiny_args("acoustic"))
    targets = ["arousal", "valence", "dominance"]
    predictor = zoo.predict.Predictor("tiny-dser", model, {"hsf": features.get("paa_hsf")}, ["hsf"], "regression",
                                      targets, targets, None, {}, [])
    hsf = np.random.default_rng(0).standard_normal((3, 68)).astype(np.float32)
    out = predictor({"hsf": hsf})
    heads = dict(zip(model.output_names, model.predict_on_batch(hsf)))
    np.testing.assert_allclose(out, np.concatenate([heads[t] for t in targets], axis=1), atol=1e-6)
    described = zoo.predict._describe(predictor, out[1])
    assert described == {"values": {t: pytest.approx(float(heads[t][1, 0]), abs=1e-6) for t in targets}}


def test_regression_table_lists_values():
    table = zoo.predict.format_table([{"path": "a.wav", "duration": 2.0,
                                       "values": {"valence": 0.25, "arousal": -0.5, "dominance": 0.0}}])
    header, row = table.splitlines()
    assert header.split() == ["input", "valence", "arousal", "dominance", "windows"]
    assert row.split() == ["a.wav", "+0.250", "-0.500", "+0.000", "-"]


def test_cli_json_lines_bad_files_and_exit_code(clips, capsys):
    from zoo.__main__ import main

    code = main(["predict", clips["wav"], clips["corrupt"], clips["missing"], clips["long"],
                 "--model", BLSTMATT, "--json"])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["path"] for r in lines] == [clips["wav"], clips["corrupt"], clips["missing"], clips["long"]]
    assert "label" in lines[0] and "error" in lines[1] and "error" in lines[2] and len(lines[3]["windows"]) == 5
    assert set(lines[1]) == {"path", "error"}
    assert f"error: {clips['corrupt']}: cannot decode" in err and f"error: {clips['missing']}: " in err
    np.testing.assert_allclose(probabilities(lines[0]), probabilities(zoo.predict(clips["wav"], model=BLSTMATT)))

    assert main(["predict", clips["wav"], "--model", BLSTMATT]) == 0
    out, err = capsys.readouterr()
    header, row = out.splitlines()
    assert header.split() == ["input", "label", *weights.labels(BLSTMATT), "windows"]
    assert row.split()[0] == clips["wav"] and row.split()[1] in weights.labels(BLSTMATT)

    assert main(["predict", clips["wav"], "--model", "nope"]) == 2
    assert "unknown release 'nope'" in capsys.readouterr().err


def test_cli_plot_writes_a_png_of_the_windowed_inputs(clips, capsys, tmp_path):
    from zoo.__main__ import main

    png = tmp_path / "emotions.png"
    assert main(["predict", clips["wav"], clips["long"], "--model", BLSTMATT, "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 windowed input" in capsys.readouterr().err
    nothing = tmp_path / "none.png"
    assert main(["predict", clips["wav"], "--model", BLSTMATT, "--plot", str(nothing)]) == 1
    assert "nothing to plot" in capsys.readouterr().err and not nothing.exists()
    assert list(tmp_path.iterdir()) == [png]  # no partial file left behind


def test_zoo_predict_is_lazy_and_callable():
    code = ("import sys, zoo; m = zoo.predict; "
            "print(callable(m), m.DEFAULT_MODEL, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", zoo.predict.DEFAULT_MODEL, "False", "False"]


def test_the_predict_benchmark_runs_and_writes_its_table(tmp_path, capsys):
    from benchmarks.perf.predict import main

    assert main(["--releases", CSA, "--repeats", "1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "predict.md").read_text()
    assert "command: `python -m benchmarks.perf.predict --releases csa-synthetic-smoke --repeats 1" in text
    (row,) = [line for line in text.splitlines() if line.startswith(f"| `{CSA}`")]
    assert len(row.split("|")[2:-1]) == 4  # 16 kHz mono, 44.1 kHz stereo, load, first call


def test_speaker_normalised_release_uses_the_statistics_of_each_speakers_recordings(monkeypatch):
    """A release trained with ``normalize: speaker``: each input's features are standardised by the
    mean/std of every frame of its speaker's recordings (not its own alone, not every input's)."""
    from zoo.features.normalize import speaker_statistics

    predictor = zoo.predict.load(BLSTMATT)
    monkeypatch.setattr(predictor, "normalize", "speaker")
    a, b, c = tone(1.5, 16000, 4), 3.0 * tone(2.0, 16000, 5), tone(1.2, 16000, 6)
    fbank = weights.extractors(BLSTMATT)["fbank"]
    feats = [fbank.extract(x, sample_rate=16000) for x in (a, b, c)]

    def expected(rows):
        mean, std = speaker_statistics([feats[i] for i in rows])
        return [predictor({"fbank": ((feats[i] - mean) / std).astype(np.float32)[None]})[0] for i in rows]

    got = zoo.predict([a, b, c], model=BLSTMATT, sample_rate=16000, speakers=["s", "s", "s"])
    for result, want in zip(got, expected([0, 1, 2])):
        np.testing.assert_allclose(probabilities(result), want, atol=1e-5)
        assert result["speaker"] == "s"
    default = zoo.predict([a, b, c], model=BLSTMATT, sample_rate=16000)  # one speaker by default
    np.testing.assert_allclose(probabilities(default[1]), probabilities(got[1]), atol=1e-6)
    split = zoo.predict([a, b, c], model=BLSTMATT, sample_rate=16000, speakers=["s", "s", "t"])
    np.testing.assert_allclose(probabilities(split[0]), expected([0, 1])[0], atol=1e-5)
    with pytest.warns(UserWarning, match="speaker 't' has one recording"):
        zoo.predict([a, b, c], model=BLSTMATT, sample_rate=16000, speakers=["s", "s", "t"])
    with pytest.raises(ValueError, match="speakers has 2 entries for 3 inputs"):
        zoo.predict([a, b, c], model=BLSTMATT, sample_rate=16000, speakers=["s", "t"])


def test_globally_normalised_release_uses_its_stored_training_statistics(monkeypatch):
    """A release trained with ``normalize: training`` (global CMVN): every input, window and chunk
    standardised by the entry's stored mean/std, one recording at a time (not by its own frames,
    not by the other inputs of the call)."""
    fbank = weights.extractors(BLSTMATT)["fbank"]
    dims = fbank.shape[-1]
    mean, std = np.linspace(-3.0, 3.0, dims), np.linspace(0.5, 2.0, dims)
    predictor = zoo.predict.load(BLSTMATT)
    monkeypatch.setattr(predictor, "normalize", "training")
    monkeypatch.setattr(predictor, "statistics", {"fbank": (mean, std)})
    a, b = tone(1.5, 16000, 4), 3.0 * tone(2.0, 16000, 5)
    want = [predictor({"fbank": ((fbank.extract(x, sample_rate=16000) - mean) / std).astype(np.float32)[None]})[0]
            for x in (a, b)]
    together = zoo.predict([a, b], model=BLSTMATT, sample_rate=16000)
    alone = zoo.predict(b, model=BLSTMATT, sample_rate=16000)
    for result, expected in zip(together, want):
        np.testing.assert_allclose(probabilities(result), expected, atol=1e-5)
        assert "speaker" not in result
    np.testing.assert_allclose(probabilities(alone), want[1], atol=1e-6)
    monkeypatch.setattr(predictor, "normalize", None)  # the stored statistics are what changed the answer
    assert not np.allclose(probabilities(zoo.predict(b, model=BLSTMATT, sample_rate=16000)), want[1], atol=1e-3)


def test_a_globally_normalised_entry_needs_sound_statistics():
    from zoo.weights.manifest import validate_entry

    entry = json.loads(json.dumps(weights.get(BLSTMATT)))
    assert validate_entry({**entry, "normalize": "training"}) == [
        "normalize='training' needs its normalization statistics, and only it has them"]
    dims = weights.extractors(BLSTMATT)["fbank"].shape[-1]
    good = {"fbank": {"mean": [0.0] * dims, "std": [1.0] * dims}}
    assert validate_entry({**entry, "normalize": "training", "normalization": good}) == []
    assert validate_entry({**entry, "normalization": good}) == [
        "normalize='training' needs its normalization statistics, and only it has them"]
    bad = {"fbank": {"mean": [0.0] * dims, "std": [1.0] * (dims - 1) + [0.0]}}
    assert "is not a finite mean and a positive std" in validate_entry(
        {**entry, "normalize": "training", "normalization": bad})[0]
    assert validate_entry({**entry, "normalize": "training", "normalization": {"mel": good["fbank"]}}) == [
        "normalization must name inputs of features, got ['mel']"]
    assert validate_entry({**entry, "normalize": "utterance"}) == [
        "normalize 'utterance' is not one of ['speaker', 'training']"]
