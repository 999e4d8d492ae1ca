"""``python -m zoo.explain`` end to end on a tiny built-in corpus and tiny models."""
import json

import pytest

from zoo.explain.__main__ import main

TINY_BLSTMATT = {"lstm_units": 4, "attention_units": 2}


@pytest.fixture(scope="module")
def blstmatt_weights(tmp_path_factory):
    import keras

    from zoo import registry

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.weights.h5"
    registry.build("blstmatt", classes=4, **TINY_BLSTMATT).save_weights(str(path))
    return str(path)


def _args(tmp_path, analysis, weights, *extra):
    root = tmp_path.parent / "corpus"  # shared by the tests of this module (generated once, ~2 s)
    return [analysis, "--model", "blstmatt", "--weights", weights, "--corpus", "synthetic", "--root", str(root),
            "--utterances-in-corpus", "40", "--build", json.dumps(TINY_BLSTMATT), "--cache", str(tmp_path.parent / "cache"),
            "--out", str(tmp_path / "out"), *extra]


def test_attention_cli_writes_pngs_and_summary(tmp_path, blstmatt_weights):
    assert main(_args(tmp_path, "attention", blstmatt_weights, "--utterances", "1")) == 0
    out = tmp_path / "out"
    summary = (out / "summary.md").read_text()
    assert "python -m zoo.explain attention --model blstmatt" in summary  # the command is recorded
    assert "vowel / consonant" in summary
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "attention_vowel_consonant.png" in pngs and len(pngs) == 2
    stats = json.loads((out / "vowel_consonant.json").read_text())["attention"]
    assert stats["vowel"]["frames"] > 0 and stats["consonant"]["frames"] > 0


def test_intersection_cli_default_layers(tmp_path, blstmatt_weights):
    assert main(_args(tmp_path, "intersection", blstmatt_weights)) == 0
    out = tmp_path / "out"
    summary = (out / "summary.md").read_text()
    for layer in ("attention", "logits", "predictions"):  # blstmatt's last three flat layers
        assert f"### `{layer}`" in summary
        assert (out / f"intersection_{('attention', 'logits', 'predictions').index(layer)}_{layer}.png").is_file()
    assert len(list(out.glob("embedding_*.png"))) == 3


def test_shapley_cli_on_a_one_input_model(tmp_path, blstmatt_weights):
    assert main(_args(tmp_path, "shapley", blstmatt_weights, "--utterances", "1", "--depth", "3")) == 0
    out = tmp_path / "out"
    summary = (out / "summary.md").read_text()
    row = next(line for line in summary.splitlines() if line.startswith("| `Ses"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    p_full, p_empty, s_fbank, total = map(float, (cells[2], cells[3], cells[4], cells[5]))
    assert total == pytest.approx(p_full - p_empty, abs=2e-4)  # Eq. 5 over the whole input
    assert s_fbank == pytest.approx(total, abs=2e-4)
    assert len(list(out.glob("shapley_*_waveform.png"))) == 1


def test_missing_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.weights.h5: no such weights file"):
        main(_args(tmp_path, "attention", str(tmp_path / "nope.weights.h5")))


def test_build_arguments_import_python_references():
    from zoo.explain.__main__ import build_arguments
    from zoo.explain.example_models import small_cnn

    kwargs = build_arguments('{"fusion_dim": 8, "speech_backbone": "python:zoo.explain.example_models.small_cnn"}')
    assert kwargs == {"fusion_dim": 8, "speech_backbone": small_cnn}
    with pytest.raises(SystemExit):
        build_arguments("[1, 2]")


def test_small_cnn_backbone_in_parallelnet():
    from zoo import parallelnet
    from zoo.explain.example_models import small_cnn

    model = parallelnet.build(speech_backbone=small_cnn, image_backbone=small_cnn, speech_shape=(16, 16, 1),
                              image_shape=(16, 16, 3), fusion_dim=4, head_units=(4,), n1_filters=(2,))
    assert model.get_layer("n2_speech").output.shape[1:] == (2, 2, 64)  # three 2x2 pools of 16x16
    assert not any("batch_normalization" in layer.name for layer in model.get_layer("n2_image").layers)
    with pytest.raises(ValueError, match="no pre-trained"):
        small_cnn((16, 16, 3), weights="imagenet")


def test_train_reuses_a_finished_run(tmp_path, blstmatt_weights):
    import shutil

    runs = tmp_path / "runs"
    finished = runs / "blstmatt" / "session-holdout-5-seed0"  # blstmatt's recipe: session5, first fold
    finished.mkdir(parents=True)
    shutil.copy(blstmatt_weights, finished / "final.weights.h5")
    args = [a for a in _args(tmp_path, "attention", blstmatt_weights, "--utterances", "0") if a != blstmatt_weights]
    args.remove("--weights")
    assert main(args + ["--train", "--runs", str(runs)]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "session-holdout-5-seed0/final.weights.h5" in summary and "trained by" in summary
