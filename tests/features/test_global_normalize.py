"""Global CMVN (profile ``normalize="training"``, ``real_gn_trim_peak``): every input standardised by
the statistics of the fold's training part only."""
import dataclasses
import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from zoo import experiment, pipeline
    from zoo.profiles import PROFILES

    tmp = tmp_path_factory.mktemp("gn")
    profile = dataclasses.replace(PROFILES["real_gn_trim_peak"], utterances=40)
    exp = experiment.prepare("blstmatt", "synthetic", str(tmp / "corpus"), profile=profile, cache_dir=tmp / "cache")
    fold = exp.folds[0]
    extractors = exp.extractors(fold.train_records)
    raw = pipeline.compute_features(fold.records, extractors, cache=exp.cache)
    return exp, fold, extractors, raw


def test_the_profile_is_the_single_recording_peak_profile_with_global_cmvn():
    from zoo.profiles import PROFILES

    gn, single = PROFILES["real_gn_trim_peak"], PROFILES["real_trim_peak"]
    assert gn.normalize == "training"
    assert dataclasses.replace(gn, name=single.name, description=single.description, normalize=None) == single


def test_every_part_is_standardised_by_the_training_parts_statistics(prepared):
    from zoo.features.normalize import training_statistics

    exp, fold, extractors, raw = prepared
    table = exp.features(fold.records, extractors, fold.train_records)
    train = np.concatenate(table.select(fold.train_records).features["fbank"])
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-3)
    mean, std = training_statistics(raw.select(fold.train_records).features["fbank"])
    for part in ("validation", "test"):
        records = fold.part_records(part)
        assert records
        for got, frames in zip(table.select(records).features["fbank"], raw.select(records).features["fbank"]):
            np.testing.assert_allclose(got, (frames - mean) / std, rtol=1e-5, atol=1e-5)
    # not every record's statistics (which would let test speakers' frames in), not each utterance's own
    every = training_statistics(raw.features["fbank"])
    assert not np.allclose(every[0], mean, atol=1e-3)
    test = np.concatenate(table.select(fold.test_records).features["fbank"])
    assert not np.allclose(test.mean(axis=0), 0.0, atol=1e-2)


def test_the_training_records_are_required_and_fixed_statistics_win(prepared):
    exp, fold, extractors, raw = prepared
    with pytest.raises(ValueError, match="needs the fold's train_records"):
        exp.features(fold.records, extractors)
    dims = raw.specs["fbank"].shape[-1]
    fixed = dataclasses.replace(exp, normalization={"fbank": (np.full(dims, 2.0), np.full(dims, 4.0))})
    table = fixed.features(fold.records, extractors, fold.train_records)
    for got, frames in zip(table.features["fbank"], raw.features["fbank"]):
        np.testing.assert_allclose(got, (frames - 2.0) / 4.0, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"inputs \['mel'\] that the table does not have"):
        raw.normalized_by({"mel": (0.0, 1.0)})


def test_statistics_round_trip_through_json():
    from zoo.features.normalize import statistics_from_json, statistics_to_json

    stats = {"fbank": (np.array([1.0, -2.5]), np.array([0.5, 3.0]))}
    stored = statistics_to_json(stats)
    assert stored == {"fbank": {"mean": [1.0, -2.5], "std": [0.5, 3.0]}}
    back = statistics_from_json(stored)
    np.testing.assert_array_equal(back["fbank"][0], stats["fbank"][0])
    with pytest.raises(ValueError, match="release: normalization of 'fbank' needs 'mean' and 'std'"):
        statistics_from_json({"fbank": {"mean": [1.0]}})


@pytest.mark.slow
def test_a_release_stores_the_statistics_it_trained_with_and_predict_and_finetune_use_them(tmp_path, monkeypatch):
    import zoo
    from zoo import experiment, finetune, pipeline, weights
    from zoo.features.normalize import statistics_from_json, training_statistics
    from zoo.profiles import PROFILES
    from zoo.weights import manifest
    from zoo.weights.release import release
    from tests.test_finetune import write_manifest

    profile = dataclasses.replace(PROFILES["real_gn_trim_peak"], name="tiny_gn", utterances=40, seeds=(0,),
                                  epochs={"blstmatt": 1}, build={"blstmatt": {"lstm_units": 4, "attention_units": 4}})
    path = tmp_path / "weights" / "manifest.json"
    entry = release("blstmatt", "synthetic", str(tmp_path / "corpus"), profile=profile, folds=1,
                    runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache", manifest_path=path)
    assert entry["normalize"] == "training" and list(entry["normalization"]) == ["fbank"]
    # the statistics of the released run's training part (every speaker but the validation ones)
    exp = experiment.prepare("blstmatt", "synthetic", str(tmp_path / "corpus"), profile=profile,
                             cache_dir=tmp_path / "cache")
    fold = experiment.make_folds("all", exp.recipe, exp.records, profile.validation)[0]
    raw = pipeline.compute_features(fold.train_records, exp.extractors(fold.train_records), cache=exp.cache)
    mean, std = training_statistics(raw.features["fbank"])
    stored = statistics_from_json(entry["normalization"])["fbank"]
    np.testing.assert_allclose(stored[0], mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(stored[1], std, rtol=1e-6)
    assert manifest.validate_entry(json.loads(json.dumps(weights.get(entry["name"], path)))) == []

    monkeypatch.setattr(manifest, "DEFAULT_MANIFEST", path)
    zoo.predict.clear_cache()
    record = fold.train_records[0]
    got = zoo.predict(record.audio_path, model=entry["name"])
    frames = weights.extractors(entry["name"], path)["fbank"].extract(record.audio_path)
    want = zoo.predict.load(entry["name"])({"fbank": ((frames - mean) / std).astype(np.float32)[None]})[0]
    np.testing.assert_allclose([got["probabilities"][x] for x in entry["outputs"]["labels"]], want, atol=1e-5)

    csv = write_manifest(tmp_path / "mine", bad_rows=False)
    out = tmp_path / "out" / "my.weights.h5"
    tuned = finetune.finetune(entry["name"], csv, out, epochs=1, cache_dir=tmp_path / "cache", verbose=0,
                              weights_manifest=path)
    assert tuned.info["normalize"] == "training" and tuned.info["normalization"] == entry["normalization"]
    again = zoo.predict(str(csv.parent / "spk0_0.wav"), model=str(out))
    frames = tuned.extractors["fbank"].extract(str(csv.parent / "spk0_0.wav"))
    want = zoo.predict.load(str(out))({"fbank": ((frames - mean) / std).astype(np.float32)[None]})[0]
    np.testing.assert_allclose([again["probabilities"][x] for x in tuned.labels], want, atol=1e-5)
    zoo.predict.clear_cache()
