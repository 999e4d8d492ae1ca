"""The probes that choose the real profiles' options: they must train each setting as asked and
score the validation speakers apart from the test speakers."""
import pytest

from benchmarks import probes
from zoo import augment, profiles

TINY = profiles.Profile(
    name="tiny", description="test", seeds=(0,), epochs={"blstmatt": 2},
    build={"blstmatt": {"lstm_units": 4, "attention_units": 4}}, batch_size={"blstmatt": 8},
    learning_rate={"blstmatt": 1e-2}, utterances=40, validation=0.25)


@pytest.mark.slow  # two real (tiny) training runs
def test_augment_probe_trains_each_setting_with_its_specaugment(tmp_path, monkeypatch):
    seen = []
    real_apply = augment.apply

    def spy(dataset, inputs, config, seed, epoch):
        seen.append(config)
        return real_apply(dataset, inputs, config, seed, epoch)

    monkeypatch.setattr(augment, "apply", spy)
    monkeypatch.setenv("ZOO_FEATURE_CACHE", str(tmp_path / "cache"))
    rows = probes.augment_probe("synthetic", tmp_path / "corpus", ["blstmatt"], profile=TINY,
                                settings=("none", "strong"), folds=1, runs=tmp_path / "runs")
    assert [(r[0], r[1]) for r in rows] == [("blstmatt", "none"), ("blstmatt", "strong")]
    assert all(r[3] == 2 for r in rows)  # both epochs of each run trained
    assert all(0.0 <= r[4] <= 1.0 and 0.0 <= r[5] <= 1.0 for r in rows)
    # Only the augmented run masked its batches, once per epoch, with the strong setting.
    assert seen == [augment.SpecAugment(time_masks=2, time_width=0.2, freq_masks=2, freq_width=8)] * 2
    # Each setting and fold has its own checkpoints, so a rerun resumes instead of retraining.
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        f"blstmatt-{s}-{rows[0][2]}" for s in ("none", "strong")]


def test_validated_runs_scores_validation_and_test_speakers_apart(tmp_path, monkeypatch):
    from zoo import experiment

    class Fold:
        name = "speaker-kfold-0"

    class Exp:
        folds = [Fold()]

        def run_fold(self, fold, seed, run_dir, validation_metrics=False):
            assert validation_metrics and seed == 3 and run_dir == tmp_path / "m-0-speaker-kfold-0"
            return {"epochs_run": 5, "validation_metrics": {"mean_class_recall": 0.6},
                    "metrics": {"mean_class_recall": 0.4}}

    def prepare(name, corpus, root, *, profile, max_folds, classes):
        assert (name, corpus, root, profile, max_folds, classes) == ("m", "c", str(tmp_path), "p", 1, ["a"])
        return Exp()

    monkeypatch.setattr(experiment, "prepare", prepare)
    assert probes._validated_runs("m", "c", tmp_path, "p", 1, 3, tmp_path / "m-0", classes=["a"]) == [
        ("speaker-kfold-0", 5, 0.6, 0.4)]


def test_option_probe_sets_one_builder_option_over_the_profiles_own(tmp_path, monkeypatch):
    from zoo import experiment

    built = []

    class Exp:
        folds = []

    def prepare(name, corpus, root, *, max_folds, profile):
        built.append((name, corpus, max_folds, profile.build["csa"], profile.build["blstmatt"]))
        return Exp()

    monkeypatch.setattr(experiment, "prepare", prepare)
    base = profiles.get("real_sn_trim")
    before = dict(base.build["csa"])
    probes.option_probe("csa", "bn_momentum", [0.99, 0.9], "emodb", tmp_path, folds=2)
    assert built == [("csa", "emodb", 2, {**before, "bn_momentum": v}, base.build["blstmatt"])
                     for v in (0.99, 0.9)]
    assert base.build["csa"] == before  # the profile itself is untouched
    assert [probes._value(t) for t in ("0.9", "3", "True", "(64, 64)", "mean_l2")] == [
        0.9, 3, True, (64, 64), "mean_l2"]
