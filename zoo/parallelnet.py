"""ParallelNet: hybrid intermediate + late fusion of speech and image (Kumar, Malik & Raman).

P. Kumar, S. Malik, B. Raman, "Interpretable Multimodal Emotion Recognition using Hybrid Fusion
of Speech and Image Data" (Pattern Recognition Letters 2022 / MTAP 2023). No code was released
(the authors' repository holds a README and a dataset form), so this builder follows the text.

Architecture (Sec. 3.2, Fig. 1)::

    speech (128,128,1) ─ Conv2D(3, 1x1) ─ N2_s = VGG16 ─ BN ─ Flatten ─ Dense(fusion_dim) ┐
    speech ─ N1_s = [Conv3x3 32/64/128 + MaxPool2]   ─ BN ─ Flatten ─ Dense(fusion_dim) ─┼┐
    image (128,128,3) ─ N2_i = VGG19                 ─ BN ─ Flatten ─ Dense(fusion_dim) ─┘│
    image  ─ N1_i = [Conv3x3 32/64/128 + MaxPool2]   ─ BN ─ Flatten ─ Dense(fusion_dim) ──┘
    Eq. 1 (criss-cross after N2):  F_i = N1_i + N2_s,  F_s = N1_s + N2_i,  F_mul = F_i ⊙ F_s
    Sec. 3.2.2: F_s, F_i, F_mul ─ Dense 1024 ─ Dense 1024 ─ Dense classes ─ O_sp, O_img, O_mul
    Eq. 2: O = Σ_k softmax(w)_k O_k  (w: 3 learned scalars, random init);  ŷ = softmax(O)

Layer names: inputs ``speech``/``image``; ``speech_to_rgb``; ``n1_speech_*``, ``n1_image_*``,
``n2_speech`` (the backbone), ``n2_speech_{bn,flatten,dense}`` ...; ``f_speech``, ``f_image``,
``f_mul``; heads ``{speech,image,mul}_head_{dense1,dense2,logits}``; ``late_fusion``
(:class:`zoo.layers.SoftmaxWeightedFusion`); output ``predictions``. :func:`fusion_weights` reads
softmax(w).

Variants (``SPEC.variants``, each with its own Table 1 number; Sec. 4.3): ``default`` (ParallelNet), ``baseline1``
(criss-cross before AND after N2, N2 = EfficientNet), ``baseline2`` (criss-cross before N2),
``baseline3`` (criss-cross after N2), ``speech_only`` (SER only), ``image_only`` (IER only).

Parameters: 125,130,197 for the default (VGG16 14,714,688 + VGG19 20,024,384 + N2 projections
2 x 8,391,680 + N1_s 33,648,640 + N1_i 33,649,216 + heads 3 x 2,103,300 + 1x1 conv 6 + w 3); the
N1 flatten->dense layers dominate because N1's 16x16x128 map is flattened (ours, see below).
``weights="imagenet"`` is shorthand for ``backbone_weights="imagenet"``; offline it fails at once
with :class:`zoo.backbones.ImageNetWeightsUnavailable` naming the file to pass as a path.
N2 may be any :mod:`zoo.backbones` family (the paper's ResNet-34 and Inception 3a/4a are not in
``keras.applications``) or a callable returning a Keras model.

Departures and readings (argument that gives the other reading in brackets):

- N1's layers are ours: the paper only says "convolution & max-pool layers" ending in batch
  normalisation, flatten and dense. Three blocks of 3x3 Conv2D (32/64/128, ReLU, "same") + 2x2
  max-pool (``n1_filters``).
- N1 and N2 must end in dense layers of one width to be added (Eq. 1); the width is not given:
  ``fusion_dim=1024``, ReLU like every hidden layer ("ReLU activation function", Sec. 4.2)
  (``fusion_dim``, ``activation``).
- Eq. 1 as printed reads ``F_s = Add(N1_s, N1_i)``, which leaves N2_i unconnected; the text
  beside it says "the output of N1_s is added with the output of N2_i to get F_s". We follow the
  text (no argument: the printed form would drop the image backbone from the graph).
- Sec. 4.3.2 says "VGG19 as N1_i", Sec. 3.2.1 says N2_i uses VGG19; we follow Sec. 3.2.1.
- Head: hidden Dense layers use ReLU, the third Dense is linear (logits O_k); the only softmax
  over classes is the one after the weighted sum (Eq. 2).
- w is "randomly initialized": RandomNormal(0, 0.05) (``fusion_initializer``).
- Baselines (Sec. 4.3.2 gives only "N1: criss-cross before / after / both, N2: EfficientNet").
  "After" is Eq. 1. "Before" (our reading): each N1's conv trunk is mapped by a 1x1 Conv2D to
  N2's input channels and bilinearly up-sampled to N2's input size, then added to the OTHER
  modality's N2 input: ``F_i = Proj(N2_s(rgb(speech) + map(N1_i)))``,
  ``F_s = Proj(N2_i(image + map(N1_s)))``. "Both" does the two crossings with one N1 trunk.
  EfficientNet's size is not given: B0 (``speech_backbone``/``image_backbone``).
- SER-only / IER-only (Table 1): our reading is the same family on one modality,
  ``F = N1_m + N2_m`` -> head -> softmax, no late fusion.
- Backbones: Sec. 3.2 uses VGG16 / VGG19 pre-trained on ImageNet. The builder's default is
  randomly initialised backbones (``backbone_weights=None``), because ImageNet files cannot be
  fetched everywhere and tests must build offline; the ``paper`` profile asks for
  ``backbone_weights="imagenet"`` (offline: a clear error naming the file to pass as a path).
  The smoke and real profiles use random, frozen MobileNetV2 backbones (their captions say so).
  The ``real_fer`` profile replaces the image one with zoo's small ``face_cnn``
  (:func:`zoo.backbones.face_cnn`) pre-trained as an expression classifier on the FER-2013 faces
  that the SIER-style pairing left unused (:mod:`zoo.pretrain`; no face of the paired corpus is
  seen), then frozen: a stand-in for the paper's ImageNet start, which random frozen weights are
  not. ``image_backbone="vgg19", backbone_weights="imagenet"`` gives the paper's reading.
- Backbones are fine-tuned (the paper does not say; ``trainable_backbones=False`` freezes them,
  and the experiment then computes the image N2 once per utterance: ``SPEC.frozen``).
  ImageNet input preprocessing is not mentioned; ``preprocess_image=True`` inserts the image
  backbone family's ``preprocess_input`` (expects RGB in [0, 255]). The speech branch's 1x1
  conv learns its own mapping to three channels.
- Loss (Sec. 4.2): 1.0 x categorical focal + 0.5 x categorical cross-entropy; γ is not stated
  either: 2, the default of Lin et al. [31] and Keras; α is not stated: Keras' default 0.25 (``zoo.losses.FocalCrossEntropy(alpha=...)``;
  α = 1 equals the ``focal-loss`` package's unweighted form). ReduceLROnPlateau's factor is not
  stated: Keras' 0.1; both callbacks monitor val_loss ("converged in terms of validation loss").
- Classes: the paper's order (anger, happy, hate, sad) with the project's canonical spelling
  "angry"; the group's code orders happy, sad, hate, anger (``classes=GROUP_CODE_CLASS_NAMES``).
  The names travel with the model in its ``predictions`` layer (``zoo.labels_of(model)``).
- Modality dropout (ours; the paper has none, and ``modality_dropout=0``, the default, is its
  graph): with ``modality_dropout=p`` each training pair loses, with probability p, either its
  speech (N1_s and N2_s) or its image (N1_i and N2_i) projections, zeroed before Eq. 1
  (ModDrop, Neverova et al., TPAMI 2016; :class:`zoo.layers.ModalityDropout`), so that no head
  can lean on one modality alone; inference is unchanged.
- Protocol (Sec. 4.2): "train-test split of 70-30, 5-fold cross-validation"; Table 1 reports
  validation accuracies. We read it as five random stratified 70/30 splits: protocol ``random``
  of :mod:`zoo.data.protocols` with ``test=0.3, allow_speaker_leakage=True`` over 5 seeds (the
  speech is synthesised TTS, so "speakers" carry no identity here).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import keras
import numpy as np

from zoo import backbones as _backbones
from zoo.data.labels import SIER_4, SIER_LABEL_NAMES
from zoo.layers.fusion import ModalityDropout, SoftmaxWeightedFusion
from zoo.layers.outputs import Predictions, resolve_classes
from zoo.recipe import FeatureSpec, Paper, Recipe
from zoo.spec import Frozen, ModelSpec, Variant, builder, register_model

__all__ = ["build", "fusion_weights", "RECIPE", "PAPER", "SPEC", "CLASS_NAMES", "GROUP_CODE_CLASS_NAMES"]

CLASS_NAMES = SIER_4  # the paper's order
GROUP_CODE_CLASS_NAMES = SIER_LABEL_NAMES  # the group's code: happy, sad, hate, angry
MODALITIES = ("speech", "image")
CRISS_CROSS = ("after", "before", "both")

def _backbone_weights_for(backbone_weights, modalities) -> dict:
    """None / "imagenet" apply to both backbones; a path needs one modality; else a pair or dict."""
    if backbone_weights is None or backbone_weights == "imagenet":
        return {m: backbone_weights for m in modalities}
    if isinstance(backbone_weights, dict):
        unknown = set(backbone_weights) - set(MODALITIES)
        if unknown:
            raise ValueError(f"backbone_weights keys must be 'speech'/'image', got {sorted(unknown)}")
        return {m: backbone_weights.get(m) for m in modalities}
    if isinstance(backbone_weights, (list, tuple)):
        if len(backbone_weights) != 2:
            raise ValueError("backbone_weights as a sequence must be (speech_weights, image_weights)")
        return {m: backbone_weights[MODALITIES.index(m)] for m in modalities}
    if len(modalities) == 1:
        return {modalities[0]: os.fspath(backbone_weights)}
    raise ValueError("one weights file cannot serve two backbones: pass backbone_weights="
                     "(speech_path, image_path) or {'speech': ..., 'image': ...}")


def _n1_trunk(x, filters, prefix, activation):
    """N1 (ours, see module docstring): 3x3 Conv2D + 2x2 max-pool blocks."""
    for i, f in enumerate(filters, 1):
        x = keras.layers.Conv2D(f, 3, padding="same", activation=activation, name=f"{prefix}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{prefix}_pool{i}")(x)
    return x


def _projection(x, dim, prefix, activation, bn_momentum=0.99):
    """The common ending of N1 and N2 (Sec. 3.2): BatchNormalization -> Flatten -> Dense."""
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{prefix}_bn")(x)
    x = keras.layers.Flatten(name=f"{prefix}_flatten")(x)
    return keras.layers.Dense(dim, activation=activation, name=f"{prefix}_dense")(x)


def _input_map(trunk, target_shape, blocks, prefix):
    """Baseline "criss-cross before N2": N1's trunk as an image the other N2 can take (ours)."""
    x = keras.layers.Conv2D(target_shape[-1], 1, name=f"{prefix}_to_map")(trunk)
    return keras.layers.UpSampling2D(2 ** blocks, interpolation="bilinear", name=f"{prefix}_upsample")(x)


def _head(x, units, classes, prefix, activation):
    """Sec. 3.2.2: Dense 1024 -> Dense 1024 -> Dense classes (logits O_k)."""
    for i, u in enumerate(units, 1):
        x = keras.layers.Dense(u, activation=activation, name=f"{prefix}_dense{i}")(x)
    return keras.layers.Dense(classes, name=f"{prefix}_logits")(x)


@builder("parallelnet")
def build(include_top: bool = True, weights=None, classes: Union[int, Sequence[str]] = CLASS_NAMES,
          variant: str = "default", name: Optional[str] = None, *, modalities: Sequence[str] = MODALITIES,
          criss_cross: str = "after", speech_backbone="vgg16", image_backbone="vgg19", backbone_weights=None,
          backbone_kwargs: Optional[dict] = None, trainable_backbones: bool = True, bn_momentum: float = 0.99,
          speech_shape=(128, 128, 1), image_shape=(128, 128, 3), fusion_dim: int = 1024,
          n1_filters: Sequence[int] = (32, 64, 128), head_units: Sequence[int] = (1024, 1024),
          activation: str = "relu", preprocess_image: bool = False,
          fusion_initializer="random_normal", modality_dropout: float = 0.0) -> keras.Model:
    """Build ParallelNet (or a Table 1 variant) as a functional Keras model.

    ``weights``: None or a path to a whole-model ``.weights.h5`` file; ``"imagenet"`` is accepted
    as shorthand for ``backbone_weights="imagenet"``. ``classes``: a count or the label names
    (default :data:`CLASS_NAMES`). ``speech_backbone``/``image_backbone``: any
    :mod:`zoo.backbones` family, or a callable ``f(input_shape, weights=, name=) -> keras.Model``
    giving a feature map; ``backbone_weights`` (None, "imagenet", a (speech, image) pair of
    paths or a dict), ``backbone_kwargs`` (to the keras.applications constructor),
    ``criss_cross`` ("after", "before", "both"), ``modalities``, ``speech_shape``,
    ``image_shape``, ``fusion_dim``, ``n1_filters``, ``head_units``, ``trainable_backbones``,
    ``preprocess_image``, ``fusion_initializer``, ``bn_momentum`` (Keras' 0.99; short CPU runs use
    0.9 so the moving statistics catch up), ``modality_dropout`` (ours, default 0: in training,
    each pair loses its speech or its image branch, N1 and N2 alike, with this probability,
    before Eq. 1; :class:`zoo.layers.ModalityDropout`; bimodal, criss-cross after N2 only).
    With ``include_top=False`` the model returns ``[F_s, F_i, F_mul]`` (bimodal) or ``F`` (unimodal).
    """
    cfg = dict(locals())
    if weights == "imagenet":
        cfg["backbone_weights"], weights = "imagenet", None
    classes, class_names = resolve_classes(classes, CLASS_NAMES)

    modalities = tuple(cfg["modalities"])
    if not modalities or len(set(modalities)) != len(modalities) or set(modalities) - set(MODALITIES):
        raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {modalities}")
    modalities = tuple(m for m in MODALITIES if m in modalities)
    crossing = cfg["criss_cross"]
    if crossing not in CRISS_CROSS:
        raise ValueError(f"criss_cross must be one of {CRISS_CROSS}, got {crossing!r}")
    bimodal = len(modalities) == 2
    rate = float(cfg["modality_dropout"])
    if rate and not (bimodal and crossing == "after"):
        raise ValueError(f"modality_dropout needs both modalities and criss_cross='after' (it drops one "
                         f"modality's N1 and N2 before Eq. 1); got modalities={modalities}, criss_cross={crossing!r}")
    act, dim = cfg["activation"], int(cfg["fusion_dim"])
    filters = tuple(int(f) for f in cfg["n1_filters"])
    shapes = {"speech": tuple(cfg["speech_shape"]), "image": tuple(cfg["image_shape"])}
    if shapes["image"][-1] != 3:
        raise ValueError(f"image_shape must have 3 channels, got {shapes['image']}")
    family = {"speech": cfg["speech_backbone"], "image": cfg["image_backbone"]}
    bb_weights = _backbone_weights_for(cfg["backbone_weights"], modalities)
    before = bimodal and crossing in ("before", "both")
    after = not bimodal or crossing in ("after", "both")
    if before:
        for m in modalities:
            if any(side % 2 ** len(filters) for side in shapes[m][:2]):
                raise ValueError(f"criss_cross={crossing!r} needs {m} sides divisible by "
                                 f"{2 ** len(filters)}, got {shapes[m]}")
        if shapes["speech"][:2] != shapes["image"][:2]:
            raise ValueError("criss_cross before N2 needs speech and image of the same height and width")

    inputs = {m: keras.Input(shapes[m], name=m) for m in modalities}
    n1_trunk = {m: _n1_trunk(inputs[m], filters, f"n1_{m}", act) for m in modalities}
    n2_input = {}
    if "speech" in modalities:  # Sec. 3.2.1: "a convolution layer having three filters of size (1, 1)"
        n2_input["speech"] = keras.layers.Conv2D(3, 1, name="speech_to_rgb")(inputs["speech"])
    if "image" in modalities:
        n2_input["image"] = inputs["image"]
        if cfg["preprocess_image"]:
            n2_input["image"] = _backbones.BackbonePreprocessing(
                family["image"], name="image_preprocess")(n2_input["image"])
    if before:
        other = {"speech": "image", "image": "speech"}
        maps = {m: _input_map(n1_trunk[m], n2_input[other[m]].shape[1:], len(filters), f"n1_{m}")
                for m in modalities}
        n2_input = {m: keras.layers.Add(name=f"n2_{m}_input")([n2_input[m], maps[other[m]]])
                    for m in modalities}

    n2 = {}
    for m in modalities:
        if callable(family[m]):  # any N2 "M" (Fig. 1): f(input_shape, weights=, name=) -> keras.Model
            backbone = family[m](tuple(n2_input[m].shape[1:]), weights=bb_weights[m], name=f"n2_{m}")
        else:
            backbone = _backbones.vision_backbone(
                family[m], n2_input[m].shape[1:], weights=bb_weights[m], include_top=False,
                name=f"n2_{m}", **(cfg["backbone_kwargs"] or {}))
        backbone.trainable = bool(cfg["trainable_backbones"])
        n2[m] = _projection(backbone(n2_input[m]), dim, f"n2_{m}", act, cfg["bn_momentum"])

    if bimodal:
        if after:  # Eq. 1 (text reading): F_i = N1_i + N2_s, F_s = N1_s + N2_i
            n1 = {m: _projection(n1_trunk[m], dim, f"n1_{m}", act, cfg["bn_momentum"]) for m in modalities}
            if rate:  # one modality's N1 and N2 zeroed together for a pair (ours)
                n1["speech"], n2["speech"], n1["image"], n2["image"] = ModalityDropout(
                    rate, groups=(0, 0, 1, 1), name="modality_dropout")(
                    [n1["speech"], n2["speech"], n1["image"], n2["image"]])
            f_speech = keras.layers.Add(name="f_speech")([n1["speech"], n2["image"]])
            f_image = keras.layers.Add(name="f_image")([n1["image"], n2["speech"]])
        else:  # criss-cross before N2 only: N1_i went into N2_s, N1_s into N2_i
            f_speech = keras.layers.Identity(name="f_speech")(n2["image"])
            f_image = keras.layers.Identity(name="f_image")(n2["speech"])
        f_mul = keras.layers.Multiply(name="f_mul")([f_image, f_speech])
        features = [f_speech, f_image, f_mul]
    else:
        m = modalities[0]
        n1 = _projection(n1_trunk[m], dim, f"n1_{m}", act, cfg["bn_momentum"])
        features = [keras.layers.Add(name=f"f_{m}")([n1, n2[m]])]

    model_name = name or ("parallelnet" if variant == "default" else f"parallelnet_{variant}")
    model_inputs = [inputs[m] for m in modalities]
    if not include_top:
        model = keras.Model(model_inputs, features if bimodal else features[0], name=model_name)
    else:
        head_units = tuple(int(u) for u in cfg["head_units"])
        prefixes = ["speech_head", "image_head", "mul_head"] if bimodal else [f"{modalities[0]}_head"]
        logits = [_head(f, head_units, classes, p, act) for f, p in zip(features, prefixes)]
        if bimodal:  # Eq. 2
            fused = SoftmaxWeightedFusion(weights_initializer=cfg["fusion_initializer"],
                                          name="late_fusion")(logits)
        else:
            fused = logits[0]
        output = Predictions(class_names, name="predictions")(fused)
        model = keras.Model(model_inputs, output, name=model_name)
    if weights is not None:
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ParallelNet weights file {path!r} does not exist")
        model.load_weights(path)
    return model


def fusion_weights(model: keras.Model) -> np.ndarray:
    """softmax(w) of the model's late-fusion layer (Eq. 2), order (speech, image, mul)."""
    for layer in model.layers:
        if isinstance(layer, SoftmaxWeightedFusion):
            return layer.fusion_weights
    raise ValueError(f"model {model.name!r} has no SoftmaxWeightedFusion layer (unimodal or include_top=False?)")


RECIPE = Recipe(
    optimizer="Adam",
    optimizer_options={"learning_rate": 8e-6},
    loss="focal_ce",  # zoo.losses.FocalCrossEntropy(): 1.0 focal (γ=2, α=0.25 Keras default) + 0.5 CE
    batch_size=64,
    epochs=30,
    features={"speech": FeatureSpec("logmel_image"), "image": FeatureSpec("image")},
    label_set=CLASS_NAMES,
    callbacks=(("EarlyStopping", {"monitor": "val_loss", "patience": 5}),
               ("ReduceLROnPlateau", {"monitor": "val_loss", "patience": 2})),
    protocol="random",
    protocol_options={"test": 0.3, "allow_speaker_leakage": True},
    corpus="sier",
    metrics=("overall_accuracy", "macro_f1", "cohen_kappa"),
    notes=("Sec. 4.2: batch 64, Adam lr 8e-6, ReLU, up to 30 epochs (converged in 18-23), loss 1.0 x "
           "categorical focal + 0.5 x categorical CE (γ=2; α not stated, Keras default 0.25), "
           "EarlyStopping patience 5, ReduceLROnPlateau patience 2 (factor not stated, Keras 0.1). "
           "'Train-test split of 70-30, 5-fold cross-validation': read as protocol 'random' with "
           "test=0.3, allow_speaker_leakage=True (protocol_options), repeated over 5 seeds. The "
           "benchmark runner uses a speaker-independent protocol instead unless asked for 'random'. "
           "Metrics: accuracy, macro F1, Cohen's kappa."),
)



def _recipe(modalities=MODALITIES) -> Recipe:
    """The RECIPE of a variant (the absent modality's feature dropped)."""
    return RECIPE.replace(features={k: v for k, v in RECIPE.features.items() if k in modalities})


_CITATION = ("P. Kumar, S. Malik, B. Raman. Interpretable Multimodal Emotion Recognition using Hybrid "
             "Fusion of Speech and Image Data. Pattern Recognition Letters (2022) / Multimedia Tools and "
             "Applications (2023).")
_URL = "https://github.com/MIntelligence-Group/SpeechImg_EmoRec"


def _paper(accuracy: float, what: str) -> Paper:
    return Paper(
        citation=_CITATION, short="ParallelNet", dataset="IIT-R SIER (4 classes, 80,893 samples)",
        protocol="random 70/30, 5 folds", reported={"overall_accuracy": accuracy},
        paper_names={"overall_accuracy": "Accuracy"},
        metric_notes=(f"{what}. Table 1 gives validation accuracies; macro F1 and Cohen's kappa were "
                      "'analysed' but no values are printed. Table 2 (not mapped): 89.68 % 3-class "
                      "sentiment accuracy on B-T4SA."),
        url=_URL)


PAPER = _paper(0.8329, "Abstract, Sec. 5.1 and Table 1: ParallelNet 83.29 % accuracy")
_EFFICIENTNET = dict(speech_backbone="efficientnetb0", image_backbone="efficientnetb0")
# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 125_130_197,
    "baseline1": 123_663_009,
    "baseline2": 56_551_073,
    "baseline3": 123_662_235,
    "speech_only": 58_858_314,
    "image_only": 64_168_580,
}
SPEC = register_model(ModelSpec(
    name="parallelnet", module=__name__, build=build, parameters=PARAMETERS, labels=CLASS_NAMES,
    variants={
        "default": Variant({}, RECIPE, PAPER,
                           description="ParallelNet: criss-cross after N2 + late fusion (VGG16/VGG19)"),
        "baseline1": Variant(dict(criss_cross="both", **_EFFICIENTNET), RECIPE,
                             _paper(0.6393, "Table 1: Baseline 1 63.93 %"), description="criss-cross before and after N2, EfficientNet"),
        "baseline2": Variant(dict(criss_cross="before", **_EFFICIENTNET), RECIPE,
                             _paper(0.6181, "Table 1: Baseline 2 61.81 %"), description="criss-cross before N2, EfficientNet"),
        "baseline3": Variant(dict(criss_cross="after", **_EFFICIENTNET), RECIPE,
                             _paper(0.6770, "Table 1: Baseline 3 67.70 %"), description="criss-cross after N2, EfficientNet"),
        "speech_only": Variant(dict(modalities=("speech",)), _recipe(("speech",)),
                               _paper(0.6017, "Table 1: SER only 60.17 %"), description="speech only (SER)"),
        "image_only": Variant(dict(modalities=("image",)), _recipe(("image",)),
                              _paper(0.6693, "Table 1: IER only 66.93 %"), description="image only (IER)"),
    },
    # trainable_backbones=False: the image N2 reads the image alone and is computed once per
    # utterance (the speech N2 reads the trainable 1x1 conv's output, so it runs every step).
    frozen=(Frozen("image", "n2_image_bn"),),
    tiny=dict(speech_backbone=_backbones.small_cnn, image_backbone=_backbones.small_cnn, backbone_kwargs=None, speech_shape=(32, 32, 1),
              image_shape=(32, 32, 3), fusion_dim=8, n1_filters=(4,), head_units=(8,)),
))
