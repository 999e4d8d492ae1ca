"""zoo.pretrain and zoo.backbones.face_cnn: a backbone pre-trained on labelled faces, once, cached
by content; a damaged cache is trained again; the `real_fer` profile feeds it to ParallelNet."""
import json
import logging

import numpy as np
import pytest
from PIL import Image

from zoo import backbones, pretrain

# A few steps only: BatchNorm's moving statistics must settle in them (momentum 0.5).
TINY = pretrain.FacePretraining(size=16, epochs=6, patience=6, batch_size=8, learning_rate=3e-3, validation=0.25,
                                dropout=0.0, translate=0.0, bn_momentum=0.5, start_from_epoch=0)


def faces(folder, per_class=16, seed=0):
    """Two separable 'expressions': dark faces and bright faces, distinct bytes each."""
    rng = np.random.default_rng(seed)
    out = []
    for label, level in (("sad", 40), ("happy", 210)):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(level, 12, (20, 20)), 0, 255).astype(np.uint8)
            path = folder / label / f"face_{i}.png"
            Image.fromarray(pixels).save(path)
            out.append((str(path), label))
    return out


def test_face_cnn_is_a_feature_map_family_with_unit_range_preprocessing_and_strict_weights(tmp_path):
    assert backbones.canonical_name("Face-CNN") == "face_cnn" and "face_cnn" in backbones.available_backbones()
    model = backbones.vision_backbone("face_cnn", (64, 64, 3), name="n2_image")
    assert model.name == "n2_image" and model.output.shape[1:] == (4, 4, 128)
    convs = 9 * (3 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 2 * 128 * 128)  # no biases
    assert model.count_params() == convs + 4 * 2 * (32 + 64 + 128 + 128)  # + BatchNorm's 4 per channel
    np.testing.assert_allclose(backbones.preprocess_input("face_cnn")(np.full((1, 2, 2, 3), 255.0)), 1.0)
    path = tmp_path / "b.weights.h5"
    model.save_weights(path)
    again = backbones.vision_backbone("face_cnn", (32, 32, 3), weights=str(path))  # conv weights: any side
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no ImageNet"):
        backbones.vision_backbone("face_cnn", (64, 64, 3), weights="imagenet")
    with pytest.raises(ValueError, match="feature map"):
        backbones.vision_backbone("face_cnn", (64, 64, 3), include_top=True)
    backbones.small_cnn((32, 32, 3)).save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError):
        backbones.vision_backbone("face_cnn", (32, 32, 3), weights=str(tmp_path / "other.weights.h5"))


def test_pretraining_learns_the_faces_and_is_read_back_from_its_content_keyed_cache(tmp_path, monkeypatch):
    import keras

    pool = faces(tmp_path / "faces")
    done = pretrain.pretrain_faces(pool, TINY, tmp_path / "cache")
    info = json.loads((tmp_path / "cache" / "pretrained" / (done.path.rsplit("/", 1)[1].replace(".weights.h5", ".json"))).read_text())
    assert info == done.info and info["faces"] == 32 and info["classes"] == ["happy", "sad"]
    assert info["validation_accuracy"] == 1.0  # dark against bright: the backbone learned something
    assert str(tmp_path) not in json.dumps(info)  # the record names no machine path
    # The saved backbone alone separates the two classes (linear read-out of its pooled features).
    backbone = backbones.vision_backbone("face_cnn", (16, 16, 3), weights=done.path)
    x = pretrain._read_faces(pool, 16)
    pooled = keras.ops.convert_to_numpy(keras.ops.mean(backbone(x), axis=(1, 2)))
    labels = np.array([label == "happy" for _, label in pool])
    assert np.abs(pooled[labels].mean(0) - pooled[~labels].mean(0)).max() > 0.1

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although the cache holds the run")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    assert pretrain.pretrain_faces(list(reversed(pool)), TINY, tmp_path / "cache") == done  # order: same faces
    relabelled = [(p, "happy" if label == "sad" else "sad") for p, label in pool]
    with pytest.raises(AssertionError, match="trained again"):
        pretrain.pretrain_faces(relabelled, TINY, tmp_path / "cache")  # other labels: another key


def test_a_damaged_cached_backbone_is_trained_again_with_a_warning(tmp_path, caplog):
    pool = faces(tmp_path / "faces", per_class=8)
    quick = pretrain.FacePretraining(size=16, epochs=1, batch_size=8, validation=0.25)
    done = pretrain.pretrain_faces(pool, quick, tmp_path / "cache")
    assert done.info["best_epoch"] == done.info["epochs_run"] == 1  # before start_from_epoch: the last epoch
    with open(done.path, "r+b") as fh:
        fh.truncate(100)
    with caplog.at_level(logging.WARNING, logger="zoo.pretrain"):
        again = pretrain.pretrain_faces(pool, quick, tmp_path / "cache")
    assert "damaged" in caplog.text and again.path == done.path
    backbones.vision_backbone("face_cnn", (16, 16, 3), weights=again.path)  # whole again
    with pytest.raises(ValueError, match="2 classes"):
        pretrain.pretrain_faces(pool[:8], quick, tmp_path / "cache")
    with pytest.raises(ValueError, match="validation share"):
        pretrain.pretrain_faces(pool[:2] + pool[8:10], quick, tmp_path / "cache")


def test_real_fer_profile_pretrains_parallelnet_image_backbone_on_the_unpaired_faces_only(tmp_path):
    import dataclasses

    from benchmarks import runner
    from tests.data.test_ravdess_fer import make_corpora
    from zoo import experiment, profiles, registry
    from zoo.data import ravdess_fer

    real_fer = profiles.get("real_fer")
    assert real_fer.build["parallelnet"]["image_backbone"] == "face_cnn"
    assert isinstance(real_fer.pretrain["parallelnet"], pretrain.FacePretraining)
    assert {k: v for k, v in real_fer.build.items() if k != "parallelnet"} == \
        {k: v for k, v in profiles.get("real").build.items() if k != "parallelnet"}

    ravdess, fer = make_corpora(tmp_path, faces_per_class=14, actors=5)  # 10 of 14 faces a class paired
    tiny_build = {**registry.get_spec("parallelnet").tiny_args(), "image_backbone": "face_cnn"}
    tiny = dataclasses.replace(
        profiles.Profile(name="tiny", description="test", seeds=(0,), max_folds=1, epochs={"parallelnet": 1},
                         batch_size={"parallelnet": 8}, build={"parallelnet": tiny_build},
                         features={"parallelnet": {"speech": {"size": 32, "n_mels": 32}, "image": {"size": 32}}}),
        pretrain={"parallelnet": pretrain.FacePretraining(size=32, epochs=1, batch_size=8, validation=0.25)})
    options = {"faces": str(fer), "seed": 0}
    exp = experiment.prepare("parallelnet", "ravdess_fer", str(ravdess), profile=tiny, cache_dir=tmp_path / "cache",
                             loader_options=options)
    unpaired = ravdess_fer.unpaired_faces(exp.loaded.records)
    assert exp.pretrained["faces"] == len(unpaired) == 20
    assert exp.pretrained["faces_sha256"] == pretrain.faces_digest(unpaired)
    assert exp.build_args["backbone_weights"]["image"].startswith(str(tmp_path / "cache" / "pretrained"))
    model = registry.build("parallelnet", **exp.build_args)
    loaded = backbones.vision_backbone("face_cnn", (32, 32, 3), weights=exp.build_args["backbone_weights"]["image"])
    for a, b in zip(model.get_layer("n2_image").get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    portable = exp.model_args({}, 0, portable=True)  # a release's entry: no file of this machine
    assert "backbone_weights" not in portable and portable["image_backbone"] == "face_cnn"
    assert registry.build("parallelnet", **portable).count_params() == model.count_params()
    speech = experiment.prepare("parallelnet:speech_only", "ravdess_fer", str(ravdess), profile=tiny,
                                cache_dir=tmp_path / "cache", loader_options=options)
    assert speech.pretrained is None and "backbone_weights" not in speech.build_args  # no image: no pre-training
    result = runner.run_model("parallelnet", "ravdess_fer", str(ravdess), profile=tiny, out_runs=tmp_path / "runs",
                              cache_dir=tmp_path / "cache", loader_options=options)
    assert result["setup"]["pretrained"]["faces"] == 20 and str(tmp_path) not in json.dumps(result["setup"]["pretrained"])
    assert result["runs"][0]["n_test"] > 0
