"""``python -m zoo finetune`` / :mod:`zoo.finetune` on a tiny manifest of synthetic wavs: 2 labels,
4 speakers, 2 bad rows. One fine-tuning run (the committed ``blstmatt-synthetic-smoke``, 2 epochs,
through the CLI) is shared by the tests that read its output; the rest fail before training or
only build models."""
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

RELEASE = "blstmatt-synthetic-smoke"
LABELS = ["high", "low"]  # sorted: the default label order
BODY = ("blstm_1", "blstm_2", "attention")


def write_manifest(folder: Path, speakers=4, per_speaker=4, bad_rows=True, seconds=0.4) -> Path:
    """``path,label,speaker`` rows of short tones (loud and high = "high"); with ``bad_rows`` a
    row whose audio file is missing (line 3) and one with a field too many (line 6)."""
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * seconds)) / 16000
    rows = ["path,label,speaker"]
    for s in range(speakers):
        for i in range(per_speaker):
            label = LABELS[i % 2]
            f0 = 200 + 50 * s + (400 if label == "high" else 0)
            x = (0.3 if label == "high" else 0.05) * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)
            name = f"spk{s}_{i}.wav"
            soundfile.write(folder / name, x.astype("float32"), 16000)
            rows.append(f"{name},{label},spk{s}")
    if bad_rows:
        rows.insert(2, "missing.wav,high,spk0")           # line 3
        rows.insert(5, "spk0_0.wav,low,spk0,extra")       # line 6
    path = folder / "manifest.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def run_cli(argv):
    """``python -m zoo`` in-process: (exit code, stdout, stderr)."""
    from zoo.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One CLI run (--freeze body, 2 epochs); the in-memory Result is kept from the call."""
    from zoo import finetune

    root = tmp_path_factory.mktemp("finetune")
    csv = write_manifest(root / "data")
    out = root / "out" / "my.weights.h5"
    results = []
    original = finetune.finetune

    def keep(*args, **kwargs):
        results.append(original(*args, **kwargs))
        return results[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(finetune, "finetune", keep)
        code, stdout, stderr = run_cli(["finetune", "--model", RELEASE, "--data", str(csv), "--out", str(out),
                                        "--epochs", "2", "--freeze", "body", "--cache-dir", str(root / "cache")])
    return {"code": code, "stdout": stdout, "stderr": stderr, "csv": csv, "out": out,
            "result": results[0] if results else None, "root": root}


def test_cli_succeeds_and_writes_weights_and_sidecar(tuned):
    from zoo import weights

    assert tuned["code"] == 0, tuned["stderr"]
    out = tuned["out"]
    side = out.with_name("my.weights.json")
    assert sorted(p.name for p in out.parent.iterdir()) == ["my.weights.h5", "my.weights.json"]  # no temp files
    info = json.loads(side.read_text())
    entry = weights.get(RELEASE)
    assert (info["model"], info["variant"], info["release"]["name"]) == ("blstmatt", "default", RELEASE)
    assert info["labels"] == LABELS and info["build"]["classes"] == LABELS
    assert {k: v for k, v in info["build"].items() if k != "classes"} == {
        k: v for k, v in entry["build"].items() if k != "classes"}
    assert info["features"] == entry["features"]  # the release's preprocessing, recorded as the manifest does
    assert info["sha256"] == weights.sha256(out) and info["size"] == out.stat().st_size
    cm = np.asarray(info["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == info["validation"]["n_validation"]
    assert info["metrics"]["overall_accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    recalls = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    assert info["metrics"]["mean_class_recall"] == pytest.approx(recalls.mean())
    assert info["training"]["epochs_run"] == 2 and len(info["training"]["history"]) == 2


def test_report_and_progress_are_printed(tuned):
    stdout = tuned["stdout"]
    assert "validation report" in stdout and "mean class recall" in stdout and "accuracy" in stdout
    assert "confusion matrix (rows: true label, columns: predicted)" in stdout
    # Not a terminal: one line per epoch (Keras verbose=2), no progress bar.
    assert "Epoch 1/2" in stdout and "Epoch 2/2" in stdout and "━" not in stdout
    assert "class weights" in stdout


def test_bad_rows_are_reported_with_file_and_line(tuned):
    stderr, csv = tuned["stderr"], str(tuned["csv"])
    assert f"{csv}: 2 row(s) skipped" in stderr
    assert f"{csv}:6: 4 fields, the header has 3" in stderr
    assert "missing.wav: audio file not found" in stderr and f"(at {csv}:3)" in stderr
    info = tuned["result"].info
    assert info["data"]["skipped_by_loader"]["skipped"] == {"malformed_row": 1, "missing_audio": 1}
    assert info["data"]["utterances"] == 16


def test_validation_speakers_are_disjoint_from_training_speakers(tuned):
    v = tuned["result"].info["validation"]
    assert v["split"] == "speakers" and not v["speakers_leak"]
    train, held = set(v["train_speakers"]), set(v["validation_speakers"])
    assert held and train and not train & held and train | held == {f"spk{s}" for s in range(4)}
    assert v["n_validation"] == 4 * len(held) and v["n_train"] == 4 * len(train)


def test_zoo_build_loads_the_file_with_the_same_predictions(tuned):
    import zoo
    from zoo import data, finetune, pipeline

    result = tuned["result"]
    records = data.load("manifest", tuned["csv"], labels="any").records
    data = pipeline.make_dataset(records, LABELS, extractors=result.extractors, batch_size=8, lengths=["fbank"])
    expected = result.model.predict(data, verbose=0)
    built = zoo.build("blstmatt", weights=str(tuned["out"]), classes=LABELS)
    assert zoo.labels_of(built) == tuple(LABELS)
    np.testing.assert_allclose(built.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model, extractors, labels = finetune.load(tuned["out"])
    assert labels == LABELS and list(extractors) == ["fbank"]
    assert extractors["fbank"].config() == result.extractors["fbank"].config()
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        zoo.build("blstmatt", weights=str(tuned["out"]), classes=LABELS[::-1])  # the head's order is fixed


def test_freeze_body_leaves_the_body_unchanged_and_trains_the_head(tuned):
    from zoo import weights

    released = weights.load(RELEASE)
    model = tuned["result"].model
    for name in BODY:
        for a, b in zip(released.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in model.layers if layer.trainable and layer.weights] == ["logits"]
    history = tuned["result"].info["training"]["history"]
    assert history[0]["loss"] != history[1]["loss"]  # something (the head only) did train


def test_a_tampered_weights_file_is_refused(tuned, tmp_path):
    import shutil

    from zoo import finetune, weights

    for name in ("my.weights.h5", "my.weights.json"):
        shutil.copy(tuned["out"].parent / name, tmp_path / name)
    with open(tmp_path / "my.weights.h5", "ab") as f:
        f.write(b"\0")
    with pytest.raises(weights.ChecksumError, match="sidecar"):
        finetune.load(tmp_path / "my.weights.h5")


def test_no_partial_file_when_writing_fails(tuned, tmp_path, monkeypatch):
    from zoo import finetune

    result = tuned["result"]

    def fail(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(finetune, "_atomic_json", fail)
    with pytest.raises(OSError, match="disk full"):
        finetune._save(result.model, "blstmatt:default", result.info["build"], tmp_path / "x.weights.h5",
                       {"kind": finetune.KIND})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- without training
def test_one_speaker_is_a_clear_error_and_writes_nothing(tmp_path):
    csv = write_manifest(tmp_path / "data", speakers=1, bad_rows=False)
    out = tmp_path / "out" / "m.weights.h5"
    code, _, stderr = run_cli(["finetune", "--model", RELEASE, "--data", str(csv), "--out", str(out)])
    assert code == 1
    assert f"{csv}: all 4 utterances are from one speaker ('spk0')" in stderr
    assert "--no-speaker-split" in stderr and "speakers leak" in stderr
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_strict_stops_at_the_first_bad_row(tmp_path):
    csv = write_manifest(tmp_path / "data")
    code, _, stderr = run_cli(["finetune", "--model", RELEASE, "--data", str(csv), "--strict",
                               "--out", str(tmp_path / "m.weights.h5")])
    assert code == 1 and "missing.wav: audio file not found" in stderr and f"(at {csv}:3)" in stderr


@pytest.mark.parametrize("argv, message", [
    (["--freeze", "all"], "nothing would train"),
    (["--out-name", "m.h5"], "must end in .weights.h5"),
    (["--model-name", "dser-synthetic-smoke"], "not classes"),
    (["--model-name", "no-such-release"], "unknown release"),
    (["--labels", "high,medium"], "no row has label(s) ['medium']"),
    (["--validation", "1.5"], "validation must be a fraction"),
])
def test_bad_options_exit_1_with_a_message(tmp_path, argv, message):
    csv = write_manifest(tmp_path / "data", bad_rows=False)
    model, out = RELEASE, tmp_path / "m.weights.h5"
    if argv[0] == "--out-name":
        out, argv = tmp_path / argv[1], []
    elif argv[0] == "--model-name":
        model, argv = argv[1], []
    code, _, stderr = run_cli(["finetune", "--model", model, "--data", str(csv), "--out", str(out), *argv])
    assert code == 1 and message in stderr, stderr
    assert list(tmp_path.glob("*.h5")) == [] and list(tmp_path.glob("*.json")) == []


def test_usage_error_exits_2(capsys):
    from zoo.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["finetune", "--model", RELEASE])
    assert stop.value.code == 2 and "--data" in capsys.readouterr().err


def test_split_holds_out_whole_speakers_or_says_speakers_leak(tmp_path):
    from zoo import data, finetune

    records = data.load("manifest", write_manifest(tmp_path / "a", speakers=5, bad_rows=False), labels="any").records
    fold = finetune.split(records, validation=0.4, seed=3)
    assert len(fold.speakers("validation")) == 2  # ceil(0.4 x 5) whole speakers
    assert not fold.speakers("train") & fold.speakers("validation")
    assert len(fold.train) + len(fold.validation) == len(records) and len(fold.test) == 0
    one = data.load("manifest", write_manifest(tmp_path / "b", speakers=1, bad_rows=False), labels="any").records
    with pytest.raises(finetune.FinetuneError, match="one speaker"):
        finetune.split(one)
    leaky = finetune.split(one, validation=0.5, speaker_split=False)
    assert leaky.speakers("train") == leaky.speakers("validation") == {"spk0"}
    # Stratified by label: each label on both sides.
    assert {r.label for r in leaky.validation_records} == {r.label for r in leaky.train_records} == set(LABELS)


def test_same_number_of_classes_still_gets_a_new_head():
    """The release has 4 classes: 4 other labels must not inherit its head (its class order means
    nothing for them); the release's own labels keep it."""
    from zoo import weights
    from zoo import finetune

    entry = weights.get(RELEASE)
    released = weights.load(RELEASE).get_layer("logits").get_weights()
    build = {**entry["build"]}
    other = ["a", "b", "c", "d"]
    model, head = finetune._build(entry, "blstmatt:default", {**build, "classes": other}, other, "body")
    assert head == "new"
    assert not np.allclose(model.get_layer("logits").get_weights()[0], released[0])
    own = list(entry["outputs"]["labels"])
    model, head = finetune._build(entry, "blstmatt:default", {**build, "classes": own}, own, "body")
    assert head.startswith("the release's own")
    np.testing.assert_array_equal(model.get_layer("logits").get_weights()[0], released[0])


def test_zoo_predict_takes_the_fine_tuned_file(tuned, tmp_path):
    """``zoo.predict(..., model="my.weights.h5")`` and ``python -m zoo predict --model my.weights.h5``:
    the fine-tuned head's labels, the same posteriors as the model on the release's features; a
    missing file or a changed one is an error naming it."""
    import shutil

    import zoo
    from zoo import data, pipeline

    result = tuned["result"]
    records = data.load("manifest", tuned["csv"], labels="any").records[:3]
    batch = pipeline.make_dataset(records, LABELS, extractors=result.extractors, batch_size=8, lengths=["fbank"])
    expected = result.model.predict(batch, verbose=0)
    got = zoo.predict([r.audio_path for r in records], model=str(tuned["out"]))
    assert [list(g["probabilities"]) for g in got] == [LABELS] * 3
    np.testing.assert_allclose([[g["probabilities"][x] for x in LABELS] for g in got], expected, atol=1e-5)
    assert [g["label"] for g in got] == [LABELS[i] for i in expected.argmax(axis=1)]
    assert result.info["normalize"] is None  # the release was not speaker-normalised; the sidecar says so

    code, stdout, stderr = run_cli(["predict", records[0].audio_path, "--model", str(tuned["out"]), "--json"])
    assert code == 0, stderr
    assert json.loads(stdout)["label"] == got[0]["label"]

    code, _, stderr = run_cli(["predict", records[0].audio_path, "--model", str(tmp_path / "none.weights.h5")])
    assert code == 2 and "none.weights.json: no sidecar" in stderr
    changed = tmp_path / "my.weights.h5"
    shutil.copy(tuned["out"], changed)
    shutil.copy(tuned["out"].with_suffix(".json"), tmp_path / "my.weights.json")
    with open(changed, "ab") as f:
        f.write(b"\0")
    code, _, stderr = run_cli(["predict", records[0].audio_path, "--model", str(changed)])
    assert code != 0 and "sha256" in stderr and str(changed) in stderr
