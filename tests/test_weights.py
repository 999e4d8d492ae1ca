"""zoo.weights: the manifest schema against the built models and committed files, and the
load -> verify -> new head -> freeze -> fine-tune path on a tiny release made here."""
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo import blstmatt, dser, features, pipeline, registry
from zoo import weights
from zoo.weights import manifest, preprocessing
from zoo.experiment import aggregate
from zoo.weights.release import publish

TINY = {"lstm_units": 4, "attention_units": 3}
# Hand count of blstmatt at 23-d input, 4 units per direction, attention 3, 4 classes:
# BiLSTM 1: 2 x 4 gates x (4 x (23 + 4) + 4) = 896; BiLSTM 2: 2 x 4 x (4 x (8 + 4) + 4) = 416;
# attention: W 8x3 + b 3 + W_m 8x3 + b_m 3 + w 3 + c 1 = 58; logits 8 x 4 + 4 = 36.
TINY_PARAMETERS = 896 + 416 + 58 + 36
LABELS4 = ["angry", "happy", "sad", "neutral"]
BIG = 5_000_000  # building models above this many parameters takes seconds: slow tests


def entry_fields(name="tiny-blstmatt", **build):
    """A complete entry minus what publish() fills in (file, sha256, size, committed, parameters)."""
    return {
        "name": name, "model": "blstmatt", "variant": "default", "build": {**TINY, "classes": 4, **build},
        "url": None, "outputs": {"kind": "classes", "labels": LABELS4},
        "features": preprocessing.describe({"fbank": features.get("fbank")}, {"fbank": {}}),
        "corpus": {"name": "synthetic", "description": "test"},
        "protocol": {"name": "loso", "folds": 2, "seeds": [0], "release_rule": "all"},
        "metrics": {"overall_accuracy": {"mean": 0.5, "std": 0.1414, "n": 2, "values": [0.4, 0.6]}},
        "recipe": {"profile": "test", "optimizer": "Adam", "loss": "sparse_categorical_crossentropy",
                   "batch_size": 4, "epochs": 1},
        "command": "python -m zoo.weights release blstmatt --corpus synthetic",
        "licence": {"weights": "Apache-2.0", "training_data": "ours"},
        "date": "2025-01-01", "versions": {}, "notes": "",
    }


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A published tiny release in a temporary manifest (cache folder also temporary)."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    keras.utils.set_random_seed(1)
    model = blstmatt.build(**TINY)
    path = tmp_path / "weights" / "manifest.json"
    entry = publish(model, entry_fields(), path)
    return {"manifest": path, "entry": entry, "model": model, "file": tmp_path / "weights" / entry["file"]}


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------------ publishing
def test_publish_writes_verified_file_and_entry(tiny):
    entry = tiny["entry"]
    assert entry["parameters"] == TINY_PARAMETERS == tiny["model"].count_params()
    assert tiny["file"].stat().st_size == entry["size"] and weights.sha256(tiny["file"]) == entry["sha256"]
    assert entry["committed"] is True
    stored = json.loads(tiny["manifest"].read_text())
    assert stored["releases"] == [entry] and list(entry)[:3] == ["name", "model", "variant"]
    assert not [p.name for p in tiny["file"].parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_publish_failing_manifest_write_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "weights" / "manifest.json"
    publish(blstmatt.build(**TINY), entry_fields("first"), path)
    before = path.read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(manifest, "update", broken)
    with pytest.raises(OSError, match="disk full"):
        publish(blstmatt.build(**TINY), entry_fields("second"), path)
    assert path.read_text() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["first.weights.h5", "manifest.json", "manifest.json.lock"]


def test_publish_rejects_invalid_entry_before_writing(tmp_path):
    path = tmp_path / "weights" / "manifest.json"
    bad = entry_fields(classes=3)  # 4 labels but 3 classes
    with pytest.raises(manifest.ManifestError, match="build.classes=3 but 4 labels"):
        publish(blstmatt.build(**TINY, classes=3), bad, path)
    assert not path.parent.exists() or not any(path.parent.glob("*.h5"))


def test_large_file_goes_to_cache_not_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "weights" / "manifest.json"
    model = blstmatt.build(**TINY)
    entry = publish(model, entry_fields(), path, commit_limit=1000)
    assert entry["committed"] is False and "commit limit" in entry["notes"]
    assert not (tmp_path / "weights" / entry["file"]).exists()
    assert (tmp_path / "cache" / "weights" / entry["file"]).exists()
    assert same_weights(weights.load(entry["name"], manifest_path=path).get_weights(), model.get_weights())


# ------------------------------------------------------------------------------ loading + verification
def test_load_gives_the_released_weights(tiny):
    loaded = weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])
    assert same_weights(loaded.get_weights(), tiny["model"].get_weights())
    assert weights.labels("tiny-blstmatt", tiny["manifest"]) == LABELS4


def test_truncated_file_is_rejected(tiny):
    data = tiny["file"].read_bytes()
    tiny["file"].write_bytes(data[: len(data) // 2])
    with pytest.raises(weights.ChecksumError, match="truncated"):
        weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])


def test_corrupted_file_of_the_right_size_is_rejected(tiny):
    data = bytearray(tiny["file"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    tiny["file"].write_bytes(bytes(data))
    with pytest.raises(weights.ChecksumError, match="sha256"):
        weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])


def test_missing_file_names_the_command(tiny):
    tiny["file"].unlink()
    with pytest.raises(FileNotFoundError, match="python -m zoo.weights release"):
        weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])


def test_download_from_url_is_verified_and_cached(tiny, tmp_path):
    served = tmp_path / "served.weights.h5"
    shutil.move(tiny["file"], served)
    manifest.update({**tiny["entry"], "url": served.as_uri()}, tiny["manifest"])
    loaded = weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])
    assert same_weights(loaded.get_weights(), tiny["model"].get_weights())
    cached = tmp_path / "cache" / "weights" / tiny["entry"]["file"]
    assert weights.sha256(cached) == tiny["entry"]["sha256"]


def test_bad_download_leaves_nothing_in_the_cache(tiny, tmp_path):
    wrong = tmp_path / "wrong.weights.h5"
    blstmatt.build(**TINY).save_weights(wrong)  # other values: another sha256
    tiny["file"].unlink()
    manifest.update({**tiny["entry"], "url": wrong.as_uri(), "size": wrong.stat().st_size}, tiny["manifest"])
    with pytest.raises(weights.ChecksumError, match="sha256"):
        weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])
    assert list((tmp_path / "cache" / "weights").iterdir()) == []


def test_parameter_count_mismatch_is_an_error(tiny):
    manifest.update({**tiny["entry"], "parameters": TINY_PARAMETERS + 1}, tiny["manifest"])
    with pytest.raises(weights.WeightsError, match="1,407"):
        weights.load("tiny-blstmatt", manifest_path=tiny["manifest"])


def test_wrong_model_name_is_an_error(tiny):
    with pytest.raises(ValueError, match="is blstmatt:default, not 'csa'"):
        weights.load("tiny-blstmatt", "csa", manifest_path=tiny["manifest"])


def test_file_path_loading_is_strict(tiny, tmp_path):
    loaded = weights.load(tiny["file"], "blstmatt", build=TINY)
    assert same_weights(loaded.get_weights(), tiny["model"].get_weights())
    with pytest.raises(weights.WeightsError, match="does not fit"):
        weights.load(tiny["file"], "blstmatt", build={**TINY, "lstm_units": 5})
    with pytest.raises(weights.WeightsError, match="does not fit"):  # Keras alone would load this silently
        weights.load(tiny["file"], "blstmatt", build={**TINY, "num_layers": 1})
    cut = tmp_path / "cut.weights.h5"
    cut.write_bytes(tiny["file"].read_bytes()[:2000])
    with pytest.raises(weights.WeightsError, match="truncated or corrupt"):
        weights.load(cut, "blstmatt", build=TINY)
    with pytest.raises(ValueError, match="needs model="):
        weights.load(tiny["file"])


# ------------------------------------------------------------------------------ heads and freezing
def body_layers(model):
    return [layer for layer in model.layers if layer.weights and layer.name not in ("logits",)]


def test_include_top_false_keeps_every_body_weight(tiny):
    body = weights.load("tiny-blstmatt", include_top=False, manifest_path=tiny["manifest"])
    assert body.output_shape == (None, 8)
    assert [layer.name for layer in body.layers if layer.weights] == ["blstm_1", "blstm_2", "attention"]
    for layer in body_layers(body):
        assert same_weights(layer.get_weights(), tiny["model"].get_layer(layer.name).get_weights())


def test_new_classes_get_a_fresh_head_and_the_body_fine_tunes_frozen(tiny):
    keras.utils.set_random_seed(3)
    model = weights.load("tiny-blstmatt", classes=2, new_head=True, freeze="body", manifest_path=tiny["manifest"])
    assert model.output_shape == (None, 2)
    assert [v.path for v in model.trainable_weights] == ["logits/kernel", "logits/bias"]
    frozen = {layer.name: layer.get_weights() for layer in body_layers(model)}
    for name, values in frozen.items():
        assert same_weights(values, tiny["model"].get_layer(name).get_weights())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 23)).astype("float32")
    y = (x[:, :, 0].mean(1) > 0).astype("int32")
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    head_before = model.get_layer("logits").get_weights()
    history = model.fit({"fbank": x, "fbank_length": np.full(32, 6, "int32")}, y, epochs=15, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert not same_weights(model.get_layer("logits").get_weights(), head_before)
    for name, values in frozen.items():
        assert same_weights(model.get_layer(name).get_weights(), values)


def test_same_head_with_other_arguments_keeps_every_weight(tiny):
    model = weights.load("tiny-blstmatt", dropout=0.2, manifest_path=tiny["manifest"])
    assert model.get_layer("blstm_1").forward_layer.dropout == 0.2
    assert same_weights(model.get_weights(), tiny["model"].get_weights())


def test_freeze_by_prefix_and_bad_specs(tiny):
    model = weights.load("tiny-blstmatt", freeze=["blstm_"], manifest_path=tiny["manifest"])
    assert {layer.name for layer in model.layers if layer.weights and not layer.trainable} == {"blstm_1", "blstm_2"}
    with pytest.raises(ValueError, match=r"\['lstm'\] match no weighted layer"):
        weights.load("tiny-blstmatt", freeze=["lstm"], manifest_path=tiny["manifest"])
    with pytest.raises(ValueError, match="freeze must be"):
        weights.load("tiny-blstmatt", freeze="heads", manifest_path=tiny["manifest"])


def test_body_of_another_shape_is_an_error(tiny):
    with pytest.raises(weights.WeightsError, match="blstm_1"):
        weights.load("tiny-blstmatt", classes=2, new_head=True, lstm_units=5, manifest_path=tiny["manifest"])


def test_regression_heads_are_replaced_for_new_tasks(tmp_path):
    small = dict(modalities=["acoustic"], hsf_dim=5, acoustic_units=[4, 3], branch_dim=3)
    model = dser.build(**small)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    valence = weights.load(path, "dser", build=small, tasks=("valence",))
    assert valence.output_shape == (None, 1) and valence.layers[-1].name == "valence"
    assert not same_weights(valence.get_layer("valence").get_weights(), model.get_layer("valence").get_weights())
    for layer in valence.layers:
        if layer.weights and layer.name != "valence":
            assert same_weights(layer.get_weights(), model.get_layer(layer.name).get_weights())


def test_auto_named_nested_models_pair_across_builds():
    """Keras numbers the names it makes (a keras-hub BERT is ``bert_backbone`` in one build and
    ``bert_backbone_2`` in the next): such layers must still carry their weights over."""
    def make(classes):
        inputs = keras.Input((3,), name="x")
        inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])  # auto-named
        outputs = keras.layers.Dense(classes, name="head")(inner(inputs))
        return keras.Model(inputs, outputs), keras.Model(inputs, inner(inputs))

    (source, _), (target, headless) = make(3), make(2)
    assert source.layers[1].name != target.layers[1].name
    head = weights.head_layer_names(target, headless)
    assert head == ["head"]
    weights.transfer(source, target, skip=head)
    assert same_weights(target.layers[1].get_weights(), source.layers[1].get_weights())


def test_build_entry_point(tiny):
    same = weights.build("blstmatt", weights=str(tiny["file"]), **TINY)
    assert same_weights(same.get_weights(), tiny["model"].get_weights())
    probe = weights.build("blstmatt", freeze="body", classes=3, **TINY)
    assert [v.path for v in probe.trainable_weights] == ["logits/kernel", "logits/bias"]
    with pytest.raises(ValueError, match="neither a release"):
        weights.build("blstmatt", weights="no-such-release", **TINY)


# ------------------------------------------------------------------------------ preprocessing
def test_extractors_and_feature_check(tiny):
    extractors = weights.extractors("tiny-blstmatt", tiny["manifest"])
    assert list(extractors) == ["fbank"] and extractors["fbank"].config() == features.get("fbank").config()
    weights.check_features("tiny-blstmatt", extractors, tiny["manifest"])
    with pytest.raises(weights.FeatureMismatchError, match=r"hop_ms=20.*\(release: 10"):
        weights.check_features("tiny-blstmatt", {"fbank": features.get("fbank", hop_ms=20)}, tiny["manifest"])
    with pytest.raises(weights.FeatureMismatchError, match="extractor 'mfcc_deltas'"):
        weights.check_features("tiny-blstmatt", {"fbank": features.get("mfcc_deltas")}, tiny["manifest"])
    with pytest.raises(weights.FeatureMismatchError, match=r"missing \['fbank'\]"):
        weights.check_features("tiny-blstmatt", {"mel": features.get("fbank")}, tiny["manifest"])


def test_extractors_catch_changed_feature_code(tiny):
    entry = json.loads(json.dumps(tiny["entry"]))
    entry["features"]["fbank"]["config"]["n_mels"] = 40  # as if recorded by other code
    with pytest.raises(weights.FeatureMismatchError, match="n_mels=23"):
        weights.extractors(entry)


def test_word_vocabulary_round_trips_through_the_manifest():
    vocab = features.Vocabulary.build(["the cat sat", "the dog"])
    described = preprocessing.describe({"text": features.get("word_ids", vocabulary=vocab, max_length=5)},
                                       {"text": {"max_length": 5}})
    entry = {"name": "t", "features": described}
    rebuilt = weights.extractors(entry)["text"]
    assert rebuilt.vocabulary.words == vocab.words and described["text"]["vocabulary"] == ["the", "cat", "dog", "sat"]


# ------------------------------------------------------------------------------ schema, metrics, table
def test_schema_lists_problems():
    entry = {**entry_fields(), "file": "x.weights.h5", "sha256": "ab", "size": 30 * 2**20, "committed": True,
             "parameters": 10}
    problems = " | ".join(manifest.validate_entry(entry))
    assert "sha256 must be 64" in problems and "over the 26,214,400-byte limit" in problems
    del entry["licence"]
    assert manifest.validate_entry(entry) == ["missing 'licence'"]


def test_aggregate_mean_and_sample_std():
    runs = [{"fold": "a", "seed": 0, "metrics": {"overall_accuracy": 0.5, "n": 10}},
            {"fold": "b", "seed": 0, "metrics": {"overall_accuracy": 0.7, "n": 12}}]
    out = aggregate(runs)
    assert list(out) == ["overall_accuracy"]
    assert out["overall_accuracy"]["mean"] == pytest.approx(0.6)
    assert out["overall_accuracy"]["std"] == pytest.approx(0.2 / np.sqrt(2))
    assert out["overall_accuracy"]["runs"] == ["a-seed0", "b-seed0"]


def test_table_from_manifest(tiny):
    text = weights.table(tiny["manifest"])
    row = next(line for line in text.splitlines() if line.startswith("| `tiny-blstmatt`"))
    assert "acc 0.500 ± 0.141" in row and f"{TINY_PARAMETERS:,}" in row and "committed" in row
    assert "angry, happy, sad, neutral" in row and "loso, 2 folds" in row


# ------------------------------------------------------------------------------ the repository's releases
REPO = manifest.entries() if manifest.DEFAULT_MANIFEST.exists() else {}


def test_repo_manifest_follows_the_schema():
    manifest.validate(manifest.read(), str(manifest.DEFAULT_MANIFEST))
    assert any(e["committed"] for e in REPO.values()), "at least one committed release"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if e["parameters"] > BIG else n
                                  for n, e in REPO.items()])
def test_repo_release_parameter_count_is_the_built_models(name):
    entry = REPO[name]
    model = registry.build(f"{entry['model']}:{entry['variant']}", **entry["build"])
    assert model.count_params() == entry["parameters"]
    outputs = entry["outputs"]
    if outputs["kind"] == "classes":
        assert model.output_shape == (None, len(outputs["labels"]))
    else:
        assert list(model.output_names) == outputs["targets"]
    # The manifest records the features; the models' <name>_length inputs need no extractor.
    assert sorted(pipeline.length_inputs([t.name.split(":")[0] for t in model.inputs])[0]) == sorted(entry["features"])
    keras.backend.clear_session()


def test_repo_committed_files_match_and_nothing_else_is_there():
    folder = manifest.REPO_WEIGHTS_DIR
    for entry in REPO.values():
        path = folder / entry["file"]
        if entry["committed"]:
            assert path.stat().st_size == entry["size"] <= manifest.COMMIT_LIMIT_BYTES
            assert weights.sha256(path) == entry["sha256"], entry["name"]
        else:
            assert not path.exists(), f"{path} is over the commit limit: it belongs in the cache"
    files = {p.name for p in folder.glob("*.h5")}
    assert files == {e["file"] for e in REPO.values() if e["committed"]}


def test_committed_release_loads_and_predicts():
    name = next((n for n, e in REPO.items() if e["committed"] and e["model"] == "csa"), None)
    assert name is not None, "the csa release on the built-in corpus is committed"
    model = weights.load(name)
    extractors = weights.extractors(name)
    weights.check_features(name, extractors)
    chunk = REPO[name]["build"].get("chunk_frames", 30)
    probs = model.predict(np.random.default_rng(0).normal(size=(3, chunk, 23)).astype("float32"), verbose=0)
    assert probs.shape == (3, len(weights.labels(name))) and np.allclose(probs.sum(-1), 1, atol=1e-5)


def test_new_label_set_of_the_same_size_needs_and_gets_a_fresh_head(tiny):
    """keras.applications' rule, by names: the release's head serves its own labels in its order only."""
    kwargs = dict(manifest_path=tiny["manifest"])
    released = weights.labels("tiny-blstmatt", tiny["manifest"])
    same = weights.load("tiny-blstmatt", classes=list(released), **kwargs)
    assert same_weights(same.get_layer("logits").get_weights(), tiny["model"].get_layer("logits").get_weights())
    other = ["calm", "excited", "bored", "tense"]  # as many classes, other meanings
    with pytest.raises(weights.WeightsError, match="needs a new, untrained head: pass new_head=True"):
        weights.load("tiny-blstmatt", classes=other, **kwargs)
    with pytest.raises(weights.WeightsError, match="new_head=True"):
        weights.load("tiny-blstmatt", classes=list(reversed(released)), **kwargs)  # same names, other order
    keras.utils.set_random_seed(5)
    fresh = weights.load("tiny-blstmatt", classes=other, new_head=True, **kwargs)
    assert not same_weights(fresh.get_layer("logits").get_weights(), tiny["model"].get_layer("logits").get_weights())
    assert zoo.labels_of(fresh) == tuple(other)
    for layer in body_layers(fresh):
        assert same_weights(layer.get_weights(), tiny["model"].get_layer(layer.name).get_weights())


@pytest.mark.parametrize("name", [n for n, e in REPO.items() if e["committed"]])
def test_every_committed_release_loads_with_its_own_features(name):
    """What `zoo predict --model <release>` needs: the file loads and the recorded features rebuild
    and check (a changed extractor default, e.g. the HSF backend, must be recorded in the entry)."""
    model = weights.load(name)
    extractors = weights.extractors(name)
    weights.check_features(name, extractors)
    assert sorted(extractors) == sorted(pipeline.length_inputs([t.name.split(":")[0] for t in model.inputs])[0])
    keras.backend.clear_session()


def test_build_classes_may_be_the_label_names_themselves():
    entry = REPO[next(iter(REPO))]
    if entry["outputs"]["kind"] != "classes":
        pytest.skip("first release is not a classifier")
    labels = entry["outputs"]["labels"]
    ok = {**entry, "build": {**entry["build"], "classes": list(labels)}}
    assert manifest.validate_entry(ok) == []
    bad = {**entry, "build": {**entry["build"], "classes": list(reversed(labels))}}
    assert any("outputs.labels" in p for p in manifest.validate_entry(bad))


def test_release_cli_pairs_faces_only_for_ravdess_fer(capsys, monkeypatch):
    """``--faces`` reaches the ravdess_fer loader as loader_options; with another corpus it is a
    usage error (exit 2) before anything trains."""
    from zoo.weights import __main__ as cli
    from zoo.weights import release as release_module

    assert cli.main(["release", "blstmatt", "--corpus", "emodb", "--faces", "faces/"]) == 2
    assert "--faces is for --corpus ravdess_fer" in capsys.readouterr().err
    seen = {}

    def fake_release(model, corpus, root, **kwargs):
        seen.update(kwargs, model=model, corpus=corpus)
        raise SystemExit(0)

    monkeypatch.setattr(release_module, "release", fake_release)
    with pytest.raises(SystemExit):
        cli.main(["release", "parallelnet", "--corpus", "ravdess_fer", "--root", "r/", "--faces", "f/",
                  "--pairing-seed", "3"])
    assert seen["loader_options"] == {"faces": "f/", "seed": 3} and seen["corpus"] == "ravdess_fer"


def test_release_cli_passes_the_label_set_as_the_benchmark_does(monkeypatch):
    """``--classes`` reaches the release as the benchmark's ``--classes`` reaches its runs: names as
    a list, ``all`` as the string; absent, the recipe's label set (None)."""
    from zoo.weights import __main__ as cli
    from zoo.weights import release as release_module

    seen = []

    def fake_release(model, corpus, root, **kwargs):
        seen.append(kwargs["classes"])
        raise SystemExit(0)

    monkeypatch.setattr(release_module, "release", fake_release)
    for extra in (["--classes", "angry", "happy", "neutral", "sad"], ["--classes", "all"], []):
        with pytest.raises(SystemExit):
            cli.main(["release", "amh:audio_only", "--corpus", "ravdess", "--root", "r/", *extra])
    assert seen == [["angry", "happy", "neutral", "sad"], "all", None]


def test_run_tag_keeps_settings_apart_and_matches_the_benchmark_folders():
    """The release's CV folder is the benchmark's for the same setting (so committed benchmark runs
    can be reused), and no two settings share one."""
    from zoo.experiment import run_tag

    assert run_tag("real_sn_trim", "ravdess") == "real_sn_trim-ravdess"
    assert (run_tag("real_sn_trim", "ravdess", classes=["angry", "happy", "neutral", "sad"])
            == "real_sn_trim-ravdess-angry-happy-neutral-sad")
    assert run_tag("real", "ravdess", classes="all") == run_tag("real", "ravdess", classes=["all"]) \
        == "real-ravdess-all-classes"
    assert (run_tag("smoke", "emodb", test_corpus="ravdess", protocol="speaker_kfold", classes=["angry"])
            == "smoke-emodb-to-ravdess-speaker_kfold-angry")
    assert len({run_tag("p", "c"), run_tag("p", "c", classes="all"), run_tag("p", "c", protocol="loso")}) == 3
    assert run_tag("real_sn_trim_peak", "ravdess", extra_corpus="emodb") == "real_sn_trim_peak-ravdess-with-emodb"


def test_release_cli_passes_the_extra_training_corpus(monkeypatch):
    from zoo.weights import __main__ as cli
    from zoo.weights import release as release_module

    seen = []

    def fake_release(model, corpus, root, **kwargs):
        seen.append((kwargs["extra_corpus"], kwargs["extra_root"], kwargs["command"]))
        raise SystemExit(0)

    monkeypatch.setattr(release_module, "release", fake_release)
    with pytest.raises(SystemExit):
        cli.main(["release", "blstmatt", "--corpus", "ravdess", "--root", "r/", "--extra-corpus", "emodb",
                  "--extra-root", "e/"])
    assert seen[0][:2] == ("emodb", "e/") and seen[0][2].endswith("--extra-corpus emodb --extra-root e/")
    assert cli.main(["release", "blstmatt", "--corpus", "ravdess", "--extra-root", "e/"]) == 2
    assert seen[1:] == []


def test_release_cli_deterministic_mode_as_the_benchmark(monkeypatch):
    """``--deterministic`` switches TensorFlow's deterministic mode on before anything trains (so a
    release's CV runs equal the benchmark's ``--deterministic`` runs), and it is in the entry's command."""
    from zoo import cli as zoo_cli
    from zoo.weights import __main__ as cli
    from zoo.weights import release as release_module

    modes, commands = [], []
    monkeypatch.setattr(zoo_cli, "quiet_tensorflow", lambda deterministic_mode=False: modes.append(deterministic_mode))

    def fake_release(model, corpus, root, **kwargs):
        commands.append(kwargs["command"])
        raise SystemExit(0)

    monkeypatch.setattr(release_module, "release", fake_release)
    for extra in (["--deterministic"], []):
        with pytest.raises(SystemExit):
            cli.main(["release", "csa", "--corpus", "ravdess", "--root", "r/", *extra])
    assert modes == [True, False]
    assert commands[0].endswith("--deterministic") and "--deterministic" not in commands[1]


def test_readme_holds_the_generated_weights_table_once():
    # The README's table is `python -m zoo.weights table` pasted in; a paste that kept the old
    # legend repeated it (three copies were committed once).
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    generated = weights.table().strip()
    assert readme.count(generated) == 1, "README's weights table differs from `python -m zoo.weights table`"
    legend = generated.splitlines()[-1]
    assert readme.count(legend) == 1, "the weights table's legend is in the README more than once"
