"""zoo.experiment: classic baselines on the folds the models get; the label-set option."""
import numpy as np
import pytest

from zoo import experiment, profiles

TINY = profiles.Profile(name="tiny", description="test", seeds=(0,), max_folds=2, utterances=40)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("exp")
    return str(base / "corpus"), base / "cache"


def test_baseline_runs_on_exactly_the_models_folds(corpus):
    root, cache = corpus
    model = experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache, probe=False)
    svm = experiment.prepare_baseline("svm_hsf", "synthetic", root, profile=TINY, cache_dir=cache)
    assert [f.name for f in svm.folds] == [f.name for f in model.folds]
    for a, b in zip(svm.folds, model.folds):
        assert {r.utterance_id for r in a.test_records} == {r.utterance_id for r in b.test_records}
    result = svm.run()
    assert len(result["runs"]) == len(svm.folds) and result["setup"]["label_set"] == ["angry", "happy", "sad", "neutral"]
    run = result["runs"][0]
    assert run["n_test"] == len(svm.folds[0].test_records)
    assert np.asarray(run["confusion_matrix"]).sum() == run["n_test"]
    assert 0.0 <= run["metrics"]["mean_class_recall"] <= 1.0 and "svc__C" in run["best_params"]
    # Trained on train + validation speakers only.
    fold = svm.folds[0]
    assert run["n_train"] == len(fold.train_records) + len(fold.part_records("validation"))


def test_classes_option_picks_the_label_set(corpus):
    root, cache = corpus
    every = experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache, classes="all", probe=False)
    assert set(every.label_set) >= {"angry", "happy", "sad", "neutral"}
    two = experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache, classes=["angry", "sad"],
                             probe=False)
    assert two.label_set == ["angry", "sad"] and {r.label for r in two.records} == {"angry", "sad"}
    with pytest.raises(ValueError, match="do not occur"):
        experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache, classes=["bored"], probe=False)


def test_aggregate_uses_the_sample_std():
    runs = [{"fold": "a", "seed": 0, "metrics": {"x": 0.4}}, {"fold": "b", "seed": 0, "metrics": {"x": 0.6}}]
    assert experiment.aggregate(runs)["x"]["std"] == pytest.approx(np.std([0.4, 0.6], ddof=1))


def test_a_built_in_corpus_at_root_is_used_whatever_its_size(corpus):
    root, cache = corpus
    experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache, probe=False)  # 40 utterances
    again = experiment.prepare("blstmatt", "synthetic", root, profile="smoke", cache_dir=cache, probe=False)
    assert len(again.loaded.records) <= 40  # the smoke profile's 500 did not refuse or regenerate it


def test_speaker_normalising_profile_normalises_every_fold_table_per_speaker(corpus):
    """``normalize="speaker"``: each speaker's fbank frames (test speakers too) have mean 0 and
    std 1 per dimension over that speaker's recordings; the plain profile leaves them raw."""
    import dataclasses

    root, cache = corpus
    normed = dataclasses.replace(TINY, name="tiny_sn", normalize="speaker")
    plain_exp = experiment.prepare("blstmatt", "synthetic", root, profile=TINY, cache_dir=cache)
    sn_exp = experiment.prepare("blstmatt", "synthetic", root, profile=normed, cache_dir=cache)
    fold = sn_exp.folds[0]
    extractors = sn_exp.extractors(fold.train_records)
    plain, table = plain_exp.features(fold.records, extractors), sn_exp.features(fold.records, extractors)
    test_speakers = {r.speaker for r in fold.test_records}
    for speaker in {r.speaker for r in table.records}:
        rows = [i for i, r in enumerate(table.records) if r.speaker == speaker]
        frames = np.concatenate([table.features["fbank"][i] for i in rows])
        np.testing.assert_allclose(frames.mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(frames.std(axis=0), 1, atol=1e-2)
        raw = np.concatenate([plain.features["fbank"][i] for i in rows])
        assert np.abs(raw.mean(axis=0)).max() > 1.0
    assert test_speakers and test_speakers <= {r.speaker for r in table.records}
    assert sn_exp.setup()["normalize"] == "speaker" and plain_exp.setup()["normalize"] is None
    assert profiles.get("real_sn").normalize == "speaker" and profiles.get("real").normalize is None


def test_text_safe_override_picks_each_recipes_own_text_safe_protocol():
    from zoo import registry

    assert experiment.protocol_for(registry.recipe_of("dser"), "iemocap", "text_safe") == "session5_text_safe"
    assert experiment.protocol_for(registry.recipe_of("amh"), "iemocap", "text_safe") == "amh_10fold_text_safe"
    assert experiment.protocol_for(registry.recipe_of("gru_bert"), "synthetic", "text_safe") == "loso_text_safe"
    with pytest.raises(ValueError, match="'speaker_kfold' has no text-safe form"):
        experiment.protocol_for(registry.recipe_of("blstmatt"), "ravdess", "text_safe")


def test_a_run_folder_refuses_to_resume_another_configuration(corpus, tmp_path):
    """run.json records what a (fold, seed) trained with: the same experiment resumes, one with
    other builder arguments or training options is refused before any step (it would load the
    other run's checkpoints silently), more epochs train on, an older folder without the file
    is taken as it is."""
    import dataclasses
    import json

    root, cache = corpus
    tiny = dataclasses.replace(TINY, epochs={"blstmatt": 1}, max_folds=1,
                               build={"blstmatt": {"lstm_units": 4, "attention_units": 4, "num_layers": 1}})

    def run(profile):
        exp = experiment.prepare("blstmatt", "synthetic", root, profile=profile, cache_dir=cache)
        return exp.run_fold(exp.folds[0], seed=0, run_dir=tmp_path / "run")

    first = run(tiny)
    saved = json.loads((tmp_path / "run" / experiment.RUN_CONFIG).read_text())
    assert saved["build"]["lstm_units"] == 4 and saved["training"]["batch_size"] == first["batch_size"]
    assert saved["speakers"]["test"] and not set(saved["speakers"]["test"]) & set(saved["speakers"]["train"])
    assert run(tiny)["metrics"] == first["metrics"]  # resumed: nothing trained again
    wider = dataclasses.replace(tiny, build={"blstmatt": {**tiny.build["blstmatt"], "lstm_units": 5}})
    with pytest.raises(experiment.RunConfigMismatch, match=r"run: .*build"):
        run(wider)
    faster = dataclasses.replace(tiny, learning_rate={"blstmatt": 0.5})
    with pytest.raises(experiment.RunConfigMismatch, match="training"):
        run(faster)
    with pytest.raises(experiment.RunConfigMismatch, match="epochs"):  # a finished run would not train on
        run(dataclasses.replace(tiny, epochs={"blstmatt": 2}))
    (tmp_path / "run" / experiment.RUN_CONFIG).unlink()  # a folder from before run.json
    assert run(tiny)["metrics"] == first["metrics"]
    assert json.loads((tmp_path / "run" / experiment.RUN_CONFIG).read_text()) == saved


def test_run_fold_can_also_score_the_validation_speakers(corpus, tmp_path):
    root, cache = corpus
    tiny = profiles.Profile(name="tiny", description="test", seeds=(0,), max_folds=1, utterances=40, validation=0.25,
                            epochs={"blstmatt": 1}, build={"blstmatt": {"lstm_units": 4, "attention_units": 4}})
    exp = experiment.prepare("blstmatt", "synthetic", root, profile=tiny, cache_dir=cache)
    fold = exp.folds[0]
    result = exp.run_fold(fold, 0, tmp_path / "run", validation_metrics=True)
    scores = result["validation_metrics"]
    assert set(scores) == set(result["metrics"])
    n_val, n_test = len(fold.part_records("validation")), len(fold.test_records)
    assert result["n_validation"] == n_val and n_val != n_test
    # accuracies are counts over their own part: n x accuracy is a whole number of utterances
    assert scores["overall_accuracy"] * n_val == pytest.approx(round(scores["overall_accuracy"] * n_val), abs=1e-6)
    assert "validation_metrics" not in exp.run_fold(fold, 0, tmp_path / "run")  # off by default
