"""ParallelNet (Kumar, Malik & Raman): Sec. 3.2 graph and parameter counts by formula, Eq. 1
criss-cross, linear head logits and Eq. 2 late fusion, Table 1 variants' wiring, label names,
recipe, loss and paper numbers. Tiny shapes (32x32, fusion_dim 16) unless stated. The generic
contract (every variant builds, round trips, mixed precision) is tests/models/test_harness.py's."""
import numpy as np
import pytest
import keras

import zoo
from zoo import backbones, losses, parallelnet, registry
from zoo.layers import SoftmaxWeightedFusion

TINY = dict(speech_shape=(32, 32, 1), image_shape=(32, 32, 3), fusion_dim=16, n1_filters=(4, 8),
            head_units=(16, 16))
# TINY with small N2 backbones, where the backbone is not under test.
FAST = dict(TINY, speech_backbone=backbones.small_cnn, image_backbone=backbones.small_cnn)
HEADS = ("speech_head", "image_head", "mul_head")
VGG16_NOTOP, VGG19_NOTOP = 14_714_688, 20_024_384  # keras.applications, no top


# ---------------------------------------------------------------- parameter counts by formula
def conv(k, cin, cout):
    return k * k * cin * cout + cout


def dense(n_in, n_out):
    return n_in * n_out + n_out


def n1_params(channels, side, filters, dim):
    """N1: 3x3 conv + 2x2 pool blocks, then BN (4 per channel) -> Flatten -> Dense(dim)."""
    total = 0
    for f in filters:
        total += conv(3, channels, f)
        channels, side = f, side // 2
    return total + 4 * channels + dense(side * side * channels, dim)


def n2_projection(h, w, c, dim):
    return 4 * c + dense(h * w * c, dim)


def head(dim, units, classes):
    sizes = (dim, *units, classes)
    return sum(dense(a, b) for a, b in zip(sizes, sizes[1:]))


def test_default_parameter_count_by_formula():
    model = parallelnet.build()
    assert [t.shape for t in model.inputs] == [(None, 128, 128, 1), (None, 128, 128, 3)]
    assert model.output_shape == (None, 4)
    n2_out = model.get_layer("n2_speech").output_shape
    assert n2_out == (None, 4, 4, 512) == model.get_layer("n2_image").output_shape
    expected = {
        "speech_to_rgb": conv(1, 1, 3),
        "n1_speech": n1_params(1, 128, (32, 64, 128), 1024),
        "n1_image": n1_params(3, 128, (32, 64, 128), 1024),
        "n2_speech": VGG16_NOTOP + n2_projection(4, 4, 512, 1024),
        "n2_image": VGG19_NOTOP + n2_projection(4, 4, 512, 1024),
        "heads": 3 * head(1024, (1024, 1024), 4),
        "late_fusion": 3,
    }
    got = {key: sum(l.count_params() for l in model.layers if l.name.startswith(key.rstrip("s")))
           for key in expected}
    got["heads"] = sum(l.count_params() for l in model.layers if "_head_" in l.name)
    assert got == expected
    assert expected["n1_speech"] == 33_648_640 and expected["heads"] == 6_309_900
    assert model.count_params() == sum(expected.values()) == 125_130_197 == parallelnet.SPEC.parameters["default"]


def tiny_expected(classes=4, dim=16, filters=(4, 8), units=(16, 16)):
    # VGG at 32x32 ends at 1x1x512
    return (conv(1, 1, 3) + n1_params(1, 32, filters, dim) + n1_params(3, 32, filters, dim)
            + VGG16_NOTOP + VGG19_NOTOP + 2 * n2_projection(1, 1, 512, dim)
            + 3 * head(dim, units, classes) + 3)


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return parallelnet.build(**TINY)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    return {"speech": rng.normal(size=(3, 32, 32, 1)).astype("float32"),
            "image": rng.uniform(0, 1, size=(3, 32, 32, 3)).astype("float32")}


def outputs_of(model, names, x):
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    return dict(zip(names, (np.asarray(o) for o in probe(x))))


def test_tiny_parameter_count(tiny):
    assert tiny.count_params() == tiny_expected()
    model = parallelnet.build(classes=3, **TINY)
    assert model.count_params() == tiny_expected(classes=3)
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize("variant, inputs_, n2", [
    ("default", ["speech", "image"], ("vgg16", "vgg19")),
    ("baseline1", ["speech", "image"], ("efficientnet", "efficientnet")),
    ("baseline2", ["speech", "image"], ("efficientnet", "efficientnet")),
    ("baseline3", ["speech", "image"], ("efficientnet", "efficientnet")),
    ("speech_only", ["speech"], ("vgg16", None)),
    ("image_only", ["image"], (None, "vgg19")),
])
def test_table1_variant_wiring(variant, inputs_, n2):
    """Sec. 4.3: criss-cross after / before / both, EfficientNet baselines, SER / IER only."""
    model = parallelnet.build(variant=variant, **TINY)
    assert [t.name for t in model.inputs] == inputs_
    names = {l.name for l in model.layers}
    bimodal = len(inputs_) == 2
    assert ("late_fusion" in names) == bimodal and ("f_mul" in names) == bimodal

    def family(modality):
        layers = {l.name for l in model.get_layer(f"n2_{modality}").layers}
        if any("block1a" in n for n in layers):
            return "efficientnet"
        return "vgg19" if "block3_conv4" in layers else "vgg16" if "block3_conv3" in layers else "?"

    for modality, expected in zip(("speech", "image"), n2):
        assert (f"n2_{modality}" in names) == (expected is not None)
        if expected is not None:
            assert family(modality) == expected, modality  # Sec. 3.2.1: N2_s = VGG16, N2_i = VGG19
    before = variant in ("baseline1", "baseline2")
    assert ("n2_image_input" in names) == before and ("n2_speech_input" in names) == before
    assert ("n1_speech_dense" in names) == (variant != "baseline2" and "speech" in inputs_)


def test_include_top_false_gives_the_fused_features():
    """Without the heads: [F_s, F_i, F_mul] (bimodal) or F = N1 + N2 (unimodal)."""
    features = parallelnet.build(include_top=False, **FAST)
    fused = [features.get_layer(n).output for n in ("f_speech", "f_image", "f_mul")]
    assert len(features.outputs) == 3 and all(a is b for a, b in zip(features.outputs, fused))
    assert [tuple(s) for s in features.output_shape] == [(None, 16)] * 3
    single = parallelnet.build(variant="speech_only", include_top=False, **FAST)
    assert single.output_shape == (None, 16) and single.layers[-1].name == "f_speech"


def test_unimodal_parameter_count():
    model = parallelnet.build(variant="speech_only", **TINY)
    assert model.count_params() == (conv(1, 1, 3) + n1_params(1, 32, (4, 8), 16) + VGG16_NOTOP
                                    + n2_projection(1, 1, 512, 16) + head(16, (16, 16), 4))


def test_criss_cross_after_n2_eq1(tiny, inputs):
    names = ["n1_speech_dense", "n1_image_dense", "n2_speech_dense", "n2_image_dense",
             "f_speech", "f_image", "f_mul"]
    out = outputs_of(tiny, names, inputs)
    assert all(np.abs(out[n]).sum() > 0 for n in names)
    # Eq. 1 with the typo fixed (text of Sec. 3.2.1): F_s = N1_s + N2_i, F_i = N1_i + N2_s
    np.testing.assert_allclose(out["f_speech"], out["n1_speech_dense"] + out["n2_image_dense"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["f_image"], out["n1_image_dense"] + out["n2_speech_dense"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["f_mul"], out["f_speech"] * out["f_image"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(out["f_speech"], out["n1_speech_dense"] + out["n1_image_dense"])  # printed typo

    # a new image changes exactly N1_i and N2_i; a new spectrogram exactly N1_s and N2_s
    changed_image = {**inputs, "image": inputs["image"][::-1].copy()}
    other = outputs_of(tiny, names, changed_image)
    for n, should_change in [("n1_speech_dense", False), ("n2_speech_dense", False),
                             ("n1_image_dense", True), ("n2_image_dense", True)]:
        assert (not np.allclose(other[n], out[n])) == should_change, n
    changed_speech = {**inputs, "speech": np.zeros_like(inputs["speech"])}
    other = outputs_of(tiny, names, changed_speech)
    for n, should_change in [("n1_speech_dense", True), ("n2_speech_dense", True),
                             ("n1_image_dense", False), ("n2_image_dense", False)]:
        assert (not np.allclose(other[n], out[n])) == should_change, n


@pytest.mark.parametrize("crossing", ["before", "both"])
def test_criss_cross_before_n2_baselines(crossing, inputs):
    # the wiring, not the backbone, is under test: VGG keeps it fast
    model = parallelnet.build(criss_cross=crossing, **TINY)
    names = ["speech_to_rgb", "n1_speech_upsample", "n1_image_upsample", "n2_speech_input",
             "n2_image_input", "n2_speech_dense", "n2_image_dense", "f_speech", "f_image", "f_mul"]
    if crossing == "both":
        names += ["n1_speech_dense", "n1_image_dense"]
    out = outputs_of(model, names, inputs)
    assert out["n1_speech_upsample"].shape == (3, 32, 32, 3)
    np.testing.assert_allclose(out["n2_speech_input"], out["speech_to_rgb"] + out["n1_image_upsample"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["n2_image_input"], inputs["image"] + out["n1_speech_upsample"], rtol=1e-5, atol=1e-6)
    if crossing == "before":
        np.testing.assert_allclose(out["f_speech"], out["n2_image_dense"], rtol=1e-6)
        np.testing.assert_allclose(out["f_image"], out["n2_speech_dense"], rtol=1e-6)
    else:
        np.testing.assert_allclose(out["f_speech"], out["n1_speech_dense"] + out["n2_image_dense"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["f_image"], out["n1_image_dense"] + out["n2_speech_dense"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["f_mul"], out["f_speech"] * out["f_image"], rtol=1e-5, atol=1e-6)
    # before N2 the spectrogram reaches the IMAGE backbone through N1_s
    other = outputs_of(model, names, {**inputs, "speech": np.zeros_like(inputs["speech"])})
    assert not np.allclose(other["n2_image_input"], out["n2_image_input"])
    np.testing.assert_allclose(other["n2_image_input"] - other["n1_speech_upsample"], inputs["image"], rtol=1e-5, atol=1e-5)


def test_late_fusion_eq2(tiny, inputs):
    layer = tiny.get_layer("late_fusion")
    assert isinstance(layer, SoftmaxWeightedFusion)
    layer.w.assign(np.array([0.4, -0.9, 1.3], "float32"))
    try:
        out = outputs_of(tiny, ["speech_head_logits", "image_head_logits", "mul_head_logits",
                                "late_fusion", "predictions"], inputs)
    finally:
        layer.w.assign(np.array([0.0, 0.0, 0.0], "float32"))
    w = np.array([0.4, -0.9, 1.3])
    a = np.exp(w) / np.exp(w).sum()
    o = a[0] * out["speech_head_logits"] + a[1] * out["image_head_logits"] + a[2] * out["mul_head_logits"]
    np.testing.assert_allclose(out["late_fusion"], o, rtol=1e-5, atol=1e-6)
    y_hat = np.exp(o - o.max(axis=1, keepdims=True))
    y_hat /= y_hat.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out["predictions"], y_hat, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["default", "speech_only"])
def test_each_head_ends_in_linear_logits(variant, inputs):
    """Sec. 3.2.2 / Eq. 2: the third Dense of each head gives logits O_k (linear); the only softmax
    over classes is the ``predictions`` layer after the weighted sum."""
    model = parallelnet.build(variant=variant, **FAST)
    heads = HEADS if variant == "default" else ("speech_head",)
    for prefix in heads:
        layer = model.get_layer(f"{prefix}_logits")
        assert isinstance(layer, keras.layers.Dense) and layer.units == 4
        assert layer.activation is keras.activations.linear, f"{layer.name}: {layer.get_config()['activation']}"
        assert [l.get_config()["activation"] for l in model.layers if l.name.startswith(f"{prefix}_dense")] == ["relu", "relu"]
    # Nothing between the logits and the fusion (or, unimodal, the output softmax).
    logits = [model.get_layer(f"{p}_logits").output for p in heads]
    if variant == "default":
        fusion = model.get_layer("late_fusion")
        assert len(fusion.input) == 3 and all(a is b for a, b in zip(fusion.input, logits))
        assert model.get_layer("predictions").input is fusion.output
    else:
        assert model.get_layer("predictions").input is logits[0]
    softmaxes = [l.name for l in model.layers
                 if l.get_config().get("activation") == "softmax" or isinstance(l, keras.layers.Softmax)]
    assert softmaxes == []
    out = outputs_of(model, [f"{p}_logits" for p in heads], {m: inputs[m] for m in [t.name for t in model.inputs]})
    for name, value in out.items():
        assert (value < 0).any() and not np.allclose(value.sum(axis=-1), 1.0), f"{name} looks like posteriors"


def test_fusion_weights_helper():
    keras.utils.set_random_seed(3)
    model = parallelnet.build(**TINY)
    raw = np.asarray(model.get_layer("late_fusion").w, dtype=np.float64)
    assert raw.shape == (3,) and np.ptp(raw) > 0  # randomly initialised
    fw = parallelnet.fusion_weights(model)
    assert fw.sum() == pytest.approx(1.0, abs=1e-12) and np.all(fw > 0)
    np.testing.assert_allclose(fw, np.exp(raw) / np.exp(raw).sum(), rtol=1e-7)
    with pytest.raises(ValueError, match="no SoftmaxWeightedFusion"):
        parallelnet.fusion_weights(parallelnet.build(variant="image_only", **TINY))


def test_recipe_loss_on_a_hand_made_case():
    loss = losses.get(parallelnet.RECIPE.loss)
    assert isinstance(loss, losses.FocalCrossEntropy)
    assert (loss.focal_weight, loss.ce_weight, loss.gamma, loss.alpha) == (1.0, 0.5, 2.0, 0.25)
    y_pred = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1]], "float32")
    y_true = np.array([0, 2])
    p = np.array([0.7, 0.2])
    focal = 0.25 * (1 - p) ** 2 * -np.log(p)  # Lin et al.: -α (1-p)^γ log p
    expected = np.mean(1.0 * focal + 0.5 * -np.log(p))
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def test_keras_round_trip_keeps_fusion_weights_and_label_names(inputs, tmp_path):
    """The learned Eq. 2 weights softmax(w) and the group code's label order survive .keras."""
    keras.utils.set_random_seed(2)
    model = parallelnet.build(classes=parallelnet.GROUP_CODE_CLASS_NAMES, **FAST)
    path = tmp_path / "parallelnet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(parallelnet.fusion_weights(loaded), parallelnet.fusion_weights(model))
    assert zoo.labels_of(loaded) == ("happy", "sad", "hate", "angry")


def test_backbone_weights_per_modality(tmp_path):
    source = backbones.vision_backbone("vgg16", (32, 32, 3))
    path = tmp_path / "vgg16_32.weights.h5"
    source.save_weights(path)
    model = parallelnet.build(backbone_weights=(str(path), None), **TINY)
    for a, b in zip(source.get_weights(), model.get_layer("n2_speech").get_weights()):
        np.testing.assert_array_equal(a, b)
    model = parallelnet.build(variant="speech_only", backbone_weights=str(path), **TINY)
    np.testing.assert_array_equal(model.get_layer("n2_speech").get_weights()[0], source.get_weights()[0])
    with pytest.raises(ValueError, match="one weights file cannot serve two backbones"):
        parallelnet.build(backbone_weights=str(path), **TINY)


def test_imagenet_fails_fast_when_offline(monkeypatch, tmp_path):
    """Offline, weights="imagenet" fails before any backbone is constructed (no download attempt)."""
    monkeypatch.setattr(backbones, "keras_cache_dirs", lambda: [str(tmp_path)])
    monkeypatch.setattr(backbones, "_can_reach", lambda url, timeout=0: False)
    constructed = []
    for constructor in ("VGG16", "VGG19"):
        monkeypatch.setattr(keras.applications, constructor, lambda *a, _c=constructor, **k: constructed.append(_c))
    with pytest.raises(backbones.ImageNetWeightsUnavailable,
                       match=r'weights="/path/to/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"'):
        parallelnet.build(weights="imagenet", **TINY)
    assert constructed == []


def test_frozen_backbones_and_preprocessing():
    model = parallelnet.build(trainable_backbones=False, preprocess_image=True, **TINY)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert trainable == tiny_expected() - VGG16_NOTOP - VGG19_NOTOP - 2 * (2 * 512) - 2 * (2 * 8)  # BN moving stats
    assert isinstance(model.get_layer("image_preprocess"), backbones.BackbonePreprocessing)


def test_label_names_and_argument_errors(tmp_path):
    """The paper's class order by default; classes=GROUP_CODE_CLASS_NAMES puts the group code's on the model."""
    assert zoo.labels_of(parallelnet.build(**FAST)) == parallelnet.CLASS_NAMES == ("angry", "happy", "hate", "sad")
    model = parallelnet.build(classes=parallelnet.GROUP_CODE_CLASS_NAMES, **FAST)
    assert zoo.labels_of(model) == ("happy", "sad", "hate", "angry") and model.output_shape == (None, 4)
    two = parallelnet.build(classes=("a", "b"), **FAST)
    assert two.output_shape == (None, 2) and zoo.labels_of(two) == ("a", "b")
    assert zoo.labels_of(parallelnet.build(classes=3, **FAST)) is None  # a bare count has no names
    with pytest.raises(TypeError, match=r"unknown arguments \['class_names'\]"):  # use classes=<names>
        parallelnet.build(class_names=parallelnet.CLASS_NAMES, **FAST)
    with pytest.raises(ValueError, match="repeated label names"):
        parallelnet.build(classes=("a", "a"), **FAST)
    with pytest.raises(ValueError, match="unknown variant"):
        parallelnet.build(variant="baseline4")
    with pytest.raises(TypeError, match="fusion_dims"):
        parallelnet.build(fusion_dims=8)
    with pytest.raises(ValueError, match="criss_cross"):
        parallelnet.build(criss_cross="middle", **TINY)
    with pytest.raises(ValueError, match="divisible"):
        parallelnet.build(criss_cross="before", **{**TINY, "speech_shape": (34, 34, 1), "image_shape": (34, 34, 3)})
    with pytest.raises(FileNotFoundError, match="nothing.weights.h5"):
        parallelnet.build(weights=str(tmp_path / "nothing.weights.h5"), **FAST)


def toy_task(n, rng):
    """4 classes = (spectrogram band b) x (image colour c): class 2b + c. Each modality alone
    tells only half of the label (at most 50 % accuracy); the model must use both."""
    y = np.arange(n) % 4
    speech = rng.normal(0, 0.3, size=(n, 32, 32, 1)).astype("float32")
    image = rng.uniform(0, 0.3, size=(n, 32, 32, 3)).astype("float32")
    for i, label in enumerate(y):
        band, colour = divmod(int(label), 2)
        speech[i, 16 * band:16 * band + 10, :, 0] += 1.5
        image[i, :, :, colour] += 0.7
    return {"speech": speech, "image": image}, y


def small_cnn(input_shape, weights=None, name=None):
    """A tiny N2 (the builder takes any callable backbone) so training runs in seconds."""
    x = keras.Input(input_shape)
    y = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    y = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(y)
    return keras.Model(x, y, name=name)


def train_on_toy(epochs, **build_kwargs):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y = toy_task(128, rng)
    x_test, y_test = toy_task(40, rng)
    model = parallelnet.build(**{**TINY, **build_kwargs})
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.FocalCrossEntropy(), run_eagerly=True)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    return np.mean(np.asarray(model(x_test)).argmax(axis=1) == y_test)


def test_learns_a_toy_task_that_needs_both_modalities():
    accuracy = train_on_toy(4, speech_backbone=small_cnn, image_backbone=small_cnn)
    assert accuracy >= 0.8  # chance 0.25, either modality alone 0.5


@pytest.mark.slow
def test_learns_the_toy_task_with_keras_applications_backbones():
    # Projection BatchNorm momentum 0.9: with Keras' 0.99 the moving statistics of 64 steps stay
    # near their start and inference-mode accuracy depends on the machine (0.75 here).
    accuracy = train_on_toy(8, speech_backbone="mobilenet", image_backbone="mobilenet",
                            backbone_kwargs={"alpha": 0.25}, bn_momentum=0.9)
    assert accuracy >= 0.8


def test_recipe_and_paper():
    r = parallelnet.RECIPE
    assert (r.optimizer, r.optimizer_options, r.batch_size, r.epochs) == ("Adam", {"learning_rate": 8e-6}, 64, 30)
    assert dict(r.callbacks)["EarlyStopping"]["patience"] == 5
    assert dict(r.callbacks)["ReduceLROnPlateau"]["patience"] == 2
    assert {k: v.extractor for k, v in r.features.items()} == {"speech": "logmel_image", "image": "image"}
    model_inputs = [t.name for t in parallelnet.build(**TINY).inputs]
    assert sorted(r.features) == sorted(model_inputs)
    assert r.label_set == parallelnet.CLASS_NAMES and r.corpus == "sier"
    assert set(r.metrics) == {"overall_accuracy", "macro_f1", "cohen_kappa"}
    assert parallelnet.PAPER.reported == {"overall_accuracy": 0.8329}
    assert registry.paper_of("parallelnet") is parallelnet.PAPER
    # Table 1 has a number for every variant.
    table1 = {"default": 0.8329, "baseline1": 0.6393, "baseline2": 0.6181, "baseline3": 0.6770,
              "speech_only": 0.6017, "image_only": 0.6693}
    assert {v: variant.paper.reported["overall_accuracy"] for v, variant in parallelnet.SPEC.variants.items()} == table1


def test_variant_recipes_drop_the_absent_modality():
    assert set(registry.recipe_of("parallelnet:speech_only").features) == {"speech"}
    assert set(parallelnet.SPEC.variants["image_only"].recipe.features) == {"image"}
    assert registry.recipe_of("parallelnet:baseline1") == parallelnet.RECIPE


def test_paper_profile_asks_for_imagenet_backbones():
    """Sec. 3.2: pre-trained VGGs. The paper profile says so; the builder default stays offline."""
    from zoo import profiles

    assert profiles.PROFILES["paper"].build["parallelnet"]["backbone_weights"] == "imagenet"
    assert "backbone_weights" not in profiles.PROFILES["smoke"].build["parallelnet"]


def test_modality_dropout_zeroes_one_modality_before_eq1_in_training_only(inputs):
    keras.utils.set_random_seed(0)
    model = parallelnet.build(modality_dropout=0.99, **FAST)
    plain = parallelnet.build(**FAST)
    assert model.count_params() == plain.count_params()  # no weights of its own
    probe = keras.Model(model.inputs, [model.get_layer("f_speech").output, model.get_layer("f_image").output,
                                       model.get_layer("n1_speech_dense").output,
                                       model.get_layer("n2_image_dense").output])
    x = {k: np.repeat(v, 200, axis=0) for k, v in inputs.items()}
    f_s, f_i, n1_s, n2_i = (np.asarray(o) for o in probe(x, training=True))
    # F_s = N1_s + N2_i: a pair without speech has F_s = N2_i (and F_i = N1_i), without image F_s = N1_s
    no_speech = np.all(np.isclose(f_s, n2_i, atol=1e-6), axis=1) & np.any(n1_s != 0, axis=1)
    no_image = np.all(np.isclose(f_s, n1_s, atol=1e-6), axis=1) & np.any(n2_i != 0, axis=1)
    assert no_speech.mean() == pytest.approx(0.495, abs=0.08) and no_image.mean() == pytest.approx(0.495, abs=0.08)
    assert not np.any(no_speech & no_image)
    f_s, _, n1_s, n2_i = (np.asarray(o) for o in probe(x, training=False))
    np.testing.assert_allclose(f_s, n1_s + n2_i, rtol=1e-5, atol=1e-5)  # inference: Eq. 1 unchanged
    assert np.all(np.any(n1_s != 0, axis=1)) and np.all(np.any(n2_i != 0, axis=1))


@pytest.mark.parametrize("kwargs", [{"variant": "speech_only"}, {"criss_cross": "before"}])
def test_modality_dropout_needs_two_modalities_crossed_after_n2(kwargs):
    with pytest.raises(ValueError, match="modality_dropout needs both modalities"):
        parallelnet.build(modality_dropout=0.3, **{**FAST, **kwargs})
