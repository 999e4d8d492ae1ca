"""Pre-training an image backbone on labelled faces, once, cached by content (ours).

ParallelNet (Kumar, Malik & Raman, Sec. 3.2) starts its N2 backbones from ImageNet weights. Those
files cannot be fetched everywhere, and a random frozen backbone carries little of a face's
expression: on RAVDESS speech paired with FER-2013 faces, the ``real`` profile's image-only
ParallelNet (random frozen MobileNetV2) stays near chance, and the fusion falls below speech alone.
:class:`FacePretraining` pre-trains zoo's ``face_cnn`` backbone (:func:`zoo.backbones.face_cnn`) as
an expression classifier on labelled faces and hands its weights to the builder
(``image_backbone="face_cnn"``, ``backbone_weights={"image": file}``). In the ``real_fer`` profile
the faces are the FER-2013 faces that the SIER-style pairing left unused
(:func:`zoo.data.ravdess_fer.unpaired_faces`): no face of the paired corpus, of a test part or of a
training part, is seen in pre-training.

Training (ours; no paper gives one): each face resized to ``size`` x ``size`` RGB in [0, 1] as
:class:`zoo.features.vision.Image` reads it; random horizontal flips and shifts of up to
``translate`` of the side; the backbone (BatchNorm momentum ``bn_momentum``) -> global average pooling -> Dropout -> Dense softmax;
Adam, class-balanced sample weights, early stopping on the accuracy of a stratified, seeded
held-out ``validation`` share with the best epoch restored, not before ``start_from_epoch`` (on
FER-2013 a from-scratch CNN stays near chance on held-out faces for the first epochs, while its
BatchNorm statistics settle; patience alone stopped it at epoch 7 with 0.18). The weights file is keyed by the sha256
of the faces (their bytes and labels) and of the configuration; it is written atomically, beside a
JSON record of the run (faces, classes, epochs, validation accuracy, the weights' sha256). A second
call with the same faces reads it; a damaged file is trained again, with a warning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["FacePretraining", "Pretrained", "pretrain_faces", "faces_digest"]


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A pre-trained backbone's weights file and the record of its training (no machine paths)."""

    path: str
    info: dict


@dataclasses.dataclass(frozen=True)
class FacePretraining:
    """Pre-train ``family`` on faces, then build the model with it (see the module docstring).

    ``input``: the model input the backbone reads (the pre-training is skipped for variants
    without it, e.g. ParallelNet's speech-only one).
    """

    family: str = "face_cnn"
    input: str = "image"
    size: int = 64
    epochs: int = 40
    patience: int = 8
    start_from_epoch: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    validation: float = 0.1
    dropout: float = 0.4
    translate: float = 0.08
    bn_momentum: float = 0.99
    seed: int = 0

    #: The builder arguments that only carry the pre-trained weights file (a release, which holds
    #: every weight, leaves them out).
    weights_args = ("backbone_weights",)

    def config(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        return (f"the `{self.input}` backbone ({self.family}) pre-trained on the FER-2013 faces the pairing left unused "
                f"(flips, {self.translate:.0%} shifts, early stopping on {self.validation:.0%} of them), then frozen")

    def build_args(self, records, cache_dir, verbose: int = 0) -> Tuple[dict, dict]:
        """``(builder arguments, record of the pre-training)`` for a model trained on ``records``
        (a paired speech + face corpus): the unpaired faces pre-train the backbone (or its cached
        weights are read)."""
        from zoo.data import ravdess_fer

        faces = ravdess_fer.unpaired_faces(records)
        done = pretrain_faces(faces, self, cache_dir, verbose=verbose)
        return {"image_backbone": self.family, "backbone_weights": {self.input: done.path}}, done.info


def faces_digest(faces: Sequence[Tuple[str, str]]) -> str:
    """sha256 over the faces' labels and bytes, in the order given (the paths themselves do not enter)."""
    digest = hashlib.sha256()
    for path, label in faces:
        with open(path, "rb") as fh:
            digest.update(f"{label}\0".encode() + hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()


def _key(digest: str, config: FacePretraining) -> str:
    text = json.dumps({"faces": digest, "config": config.config()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _read_faces(faces, size: int) -> np.ndarray:
    from zoo.features.vision import read_image

    return np.stack([read_image(path, size) for path, _ in faces])


def _cached(weights: Path, record: Path, config: FacePretraining) -> Optional[Pretrained]:
    """The cached run, or None when there is none or it is damaged (then a warning says so)."""
    if not (weights.is_file() and record.is_file()):
        return None
    from zoo import backbones

    try:
        info = json.loads(record.read_text())
        with open(weights, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() != info["weights_sha256"]:
                raise ValueError("its sha256 is not the one recorded")
        backbones.vision_backbone(config.family, (config.size, config.size, 3), weights=str(weights))
    except Exception as error:  # damaged JSON, truncated or foreign weights: train again
        log.warning("pre-trained backbone %s is damaged (%s); training it again", weights, error)
        return None
    return Pretrained(str(weights), info)


def pretrain_faces(faces: Sequence[Tuple[str, str]], config: FacePretraining = FacePretraining(),
                   cache_dir=None, verbose: int = 0) -> Pretrained:
    """Pre-train ``config.family`` on ``faces`` (``[(image path, label)]``), or read the cached run.

    ``cache_dir``: where the weights live (``<cache_dir>/pretrained/``; default
    ``$ZOO_FEATURE_CACHE`` or ``~/.cache/zoo/features``)."""
    import keras
    from sklearn.model_selection import train_test_split
    from sklearn.utils.class_weight import compute_sample_weight

    from zoo import backbones
    from zoo.io import atomic_path, atomic_write_json

    faces = sorted((os.fspath(p), str(label)) for p, label in faces)
    classes = sorted({label for _, label in faces})
    if len(classes) < 2:
        raise ValueError(f"pre-training needs faces of at least 2 classes; got {classes}")
    held_out = int(np.ceil(config.validation * len(faces)))
    if held_out < len(classes) or len(faces) - held_out < len(classes):
        raise ValueError(f"pre-training on {len(faces)} faces of {len(classes)} classes: a validation share of "
                         f"{config.validation} leaves {held_out} held out and {len(faces) - held_out} to train on; "
                         f"each needs at least one face of every class")
    cache_dir = cache_dir or os.environ.get("ZOO_FEATURE_CACHE", os.path.expanduser("~/.cache/zoo/features"))
    folder = Path(cache_dir) / "pretrained"
    digest = faces_digest(faces)
    key = _key(digest, config)
    weights = folder / f"{config.family}-{key}.weights.h5"
    record = folder / f"{config.family}-{key}.json"
    cached = _cached(weights, record, config)
    if cached is not None:
        return cached

    log.info("pre-training %s on %d faces of %d classes (up to %d epochs; cached in %s)", config.family,
             len(faces), len(classes), config.epochs, folder)
    x = _read_faces(faces, config.size)
    y = np.asarray([classes.index(label) for _, label in faces], np.int32)
    train, held = train_test_split(np.arange(len(y)), test_size=config.validation, stratify=y,
                                   random_state=config.seed)
    keras.utils.set_random_seed(config.seed)
    backbone = backbones.vision_backbone(config.family, x.shape[1:], name=config.family,
                                         bn_momentum=config.bn_momentum)
    inputs = keras.Input(x.shape[1:], name="face")
    h = keras.layers.RandomFlip("horizontal", seed=config.seed, name="flip")(inputs)
    h = keras.layers.RandomTranslation(config.translate, config.translate, seed=config.seed, name="shift")(h)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(h))
    h = keras.layers.Dropout(config.dropout, name="dropout")(h)
    model = keras.Model(inputs, keras.layers.Dense(len(classes), activation="softmax", name="expression")(h))
    model.compile(keras.optimizers.Adam(config.learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience, restore_best_weights=True,
                                         start_from_epoch=config.start_from_epoch)
    history = model.fit(x[train], y[train], sample_weight=compute_sample_weight("balanced", y[train]),
                        validation_data=(x[held], y[held]), epochs=config.epochs, batch_size=config.batch_size,
                        callbacks=[stop], verbose=verbose)
    accuracy = history.history["val_accuracy"]
    watched = accuracy[config.start_from_epoch:]
    if stop.best_weights is not None and watched:  # Keras restores them only when it stops early
        model.set_weights(stop.best_weights)
        best = config.start_from_epoch + int(np.argmax(watched))  # the first best, as Keras keeps
    else:  # no epoch was watched: the last one's weights
        best = len(accuracy) - 1
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(weights, suffix=".weights.h5") as tmp:
        backbone.save_weights(tmp)
    with open(weights, "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    info = {"family": config.family, "config": config.config(), "faces": len(faces), "classes": classes,
            "faces_per_class": {c: int((y == i).sum()) for i, c in enumerate(classes)},
            "faces_sha256": digest, "epochs_run": len(accuracy), "best_epoch": best + 1,
            "validation_accuracy": round(float(accuracy[best]), 4), "weights_sha256": sha}
    atomic_write_json(record, info)
    log.info("pre-trained %s on %d faces: validation accuracy %.3f (epoch %d of %d)", config.family, len(faces),
             accuracy[best], best + 1, len(accuracy))
    return Pretrained(str(weights), info)
