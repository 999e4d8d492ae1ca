"""Vision backbones from ``keras.applications`` (the N2 family of ParallelNet, Sec. 4.3.2).

The ParallelNet paper (Kumar, Malik & Raman, Sec. 4.3.2 and 5.4) tried VGG-16/19, ResNet-34/50/101,
Inception (3a, 4a), MobileNet, DenseNet and EfficientNet as N2. Every family Keras ships is
wrapped here (ResNet-34 and the GoogLeNet "Inception 3a/4a" blocks are not in
``keras.applications``; InceptionV3 stands in for the Inception family)::

    backbone = vision_backbone("vgg16", (128, 128, 3), weights=None)
    x = preprocess_input("vgg16")(images_0_255)

``weights`` is what ``keras.applications`` takes: ``None`` (random), ``"imagenet"`` or a path to
a weights file. Besides Keras' families, :data:`OWN_FAMILIES` holds zoo's own: ``face_cnn``, a small VGG-style
face-expression CNN with no ImageNet weights (``weights`` None or a file, e.g. pre-trained on faces
by :mod:`zoo.pretrain`). ImageNet files are downloaded by Keras into ``$KERAS_HOME/models`` (default
``~/.keras/models``). When the file is not cached and the download host cannot be reached within
:data:`PROBE_TIMEOUT_S` seconds, :class:`ImageNetWeightsUnavailable` is raised at once, naming the
file to fetch elsewhere and pass as ``weights="/path/to/<file>"``; nothing ever waits on a dead
network. Set ``ZOO_OFFLINE=1`` to skip the network probe entirely.
"""
from __future__ import annotations

import dataclasses
import os
import re
import threading
import urllib.parse
import urllib.request
from typing import Callable, Optional

import keras

__all__ = ["small_cnn", "face_cnn", "FAMILIES", "OWN_FAMILIES", "BackbonePreprocessing", "ImageNetWeightsUnavailable", "available_backbones",
           "canonical_name", "imagenet_weights_file", "require_imagenet_weights", "keras_cache_dirs", "preprocess_input",
           "vision_backbone"]

PROBE_TIMEOUT_S = 3.0
_GCS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class BackboneFamily:
    """One ``keras.applications`` constructor, its preprocessing module and smallest input side."""

    constructor: str  # attribute of keras.applications, e.g. "VGG16"
    module: str  # keras.applications submodule holding preprocess_input, e.g. "vgg16"
    min_size: int = 32


def _families() -> dict:
    fams = {
        "vgg16": BackboneFamily("VGG16", "vgg16"),
        "vgg19": BackboneFamily("VGG19", "vgg19"),
        "resnet50": BackboneFamily("ResNet50", "resnet"),
        "resnet101": BackboneFamily("ResNet101", "resnet"),
        "resnet152": BackboneFamily("ResNet152", "resnet"),
        "inceptionv3": BackboneFamily("InceptionV3", "inception_v3", min_size=75),
        "mobilenet": BackboneFamily("MobileNet", "mobilenet"),
        "mobilenetv2": BackboneFamily("MobileNetV2", "mobilenet_v2"),
    }
    for depth in (121, 169, 201):
        fams[f"densenet{depth}"] = BackboneFamily(f"DenseNet{depth}", "densenet")
    for b in range(8):
        fams[f"efficientnetb{b}"] = BackboneFamily(f"EfficientNetB{b}", "efficientnet")
    return fams


FAMILIES = _families()


class ImageNetWeightsUnavailable(OSError):
    """ImageNet weights are neither in the Keras cache nor downloadable from here."""


def canonical_name(family: str) -> str:
    """``"VGG16"``, ``"vgg_16"``, ``"EfficientNet-B0"``, ``"Face-CNN"`` -> ``"vgg16"``,
    ``"efficientnetb0"``, ``"face_cnn"``."""
    key = re.sub(r"[\s_\-]", "", str(family)).lower()
    own = {re.sub(r"_", "", name): name for name in OWN_FAMILIES}
    if key in own:
        return own[key]
    if key not in FAMILIES:
        raise ValueError(f"unknown backbone {family!r}; choose one of {', '.join(available_backbones())}")
    return key


def available_backbones() -> tuple:
    return tuple(FAMILIES) + tuple(OWN_FAMILIES)


def _to_unit_range(x):
    return x / 255.0


def preprocess_input(family: str) -> Callable:
    """The family's ``keras.applications.<module>.preprocess_input`` (expects RGB in [0, 255]); for
    zoo's own families (trained on images in [0, 1]) the division by 255."""
    fam = canonical_name(family)
    if fam in OWN_FAMILIES:
        return _to_unit_range
    return getattr(keras.applications, FAMILIES[fam].module).preprocess_input


@keras.saving.register_keras_serializable(package="zoo")
class BackbonePreprocessing(keras.layers.Layer):
    """The family's ``preprocess_input`` as a layer, so a saved model carries it."""

    def __init__(self, family: str, **kwargs):
        super().__init__(**kwargs)
        self.family = canonical_name(family)

    def call(self, x):
        return preprocess_input(self.family)(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "family": self.family}


def imagenet_weights_file(family: str, include_top: bool = False, input_shape=None,
                          alpha: float = 1.0) -> tuple:
    """``(file name, origin URL)`` Keras downloads for ``weights="imagenet"`` (mirrors the
    naming inside ``keras.applications``; a test checks it against Keras' own constants)."""
    fam = canonical_name(family)
    rows = int(input_shape[0]) if input_shape is not None and input_shape[0] is not None else 224
    cols = int(input_shape[1]) if input_shape is not None and input_shape[1] is not None else 224
    if fam.startswith("efficientnet"):
        fname = f"{fam}{'' if include_top else '_notop'}.h5"
        return fname, "https://storage.googleapis.com/keras-applications/" + fname
    if fam == "mobilenet":
        rows = rows if rows == cols and rows in (128, 160, 192, 224) else 224
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}.get(float(alpha), "2_5")
        fname = f"mobilenet_{alpha_text}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        return fname, _GCS + "mobilenet/" + fname
    if fam == "mobilenetv2":
        rows = rows if rows == cols and rows in (96, 128, 160, 192, 224) else 224
        fname = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                 f"{'' if include_top else '_no_top'}.h5")
        return fname, _GCS + "mobilenet_v2/" + fname
    stem = "inception_v3" if fam == "inceptionv3" else fam
    folder = {"resnet": "resnet", "densenet": "densenet"}.get(re.sub(r"\d+$", "", fam), stem)
    fname = f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return fname, f"{_GCS}{folder}/{fname}"


def keras_cache_dirs() -> list:
    """Folders where ``keras.utils.get_file`` looks for ``cache_subdir="models"`` files:
    ``$KERAS_HOME`` (or ``~/.keras``) and its ``/tmp/.keras`` fallback."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [os.path.join(home, "models"), os.path.join("/tmp", ".keras", "models")]


def _cached_file(fname: str) -> Optional[str]:
    for folder in keras_cache_dirs():
        path = os.path.join(folder, fname)
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    return None


def _can_reach(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when an HTTP HEAD request for ``url`` answers with a status below 400 within
    ``timeout`` seconds (urllib, like Keras' own downloader, so the same proxy settings apply).

    A bare TCP connect is not enough (sandboxes and captive proxies accept any connection); the
    request runs in a daemon thread so that a hanging DNS lookup or a silent server cannot stall
    the caller beyond ``timeout + 0.5`` seconds.
    """
    if os.environ.get("ZOO_OFFLINE", "").strip() not in ("", "0"):
        return False
    result = []

    def probe():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as reply:
                result.append(reply.status < 400)
        except Exception:  # URLError, HTTPError, ssl errors, socket timeouts: all mean "no"
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def _unavailable_message(family: str, fname: str, url: str, why: str) -> str:
    cache = os.path.join(keras_cache_dirs()[0], fname)
    return (f"ImageNet weights for {FAMILIES[family].constructor} are not available: {why}. "
            f"Download {url} on a machine with internet access and pass the file's path, "
            f"e.g. weights=\"/path/to/{fname}\" (or copy it to {cache}), "
            f"or build with weights=None.")


def _existing_file(weights, what: str, hint: str = "") -> str:
    """``weights`` as a path; a ``FileNotFoundError`` naming ``what`` when there is no such file."""
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} weights file {path!r} does not exist{hint}")
    return path


def _load_weights_strictly(model: keras.Model, path: str, what: str) -> None:
    """``model.load_weights(path)``, but a file that does not fit is an error (a ``ValueError``):
    :func:`zoo.io.load_weights_strict`."""
    from zoo.io import load_weights_strict

    load_weights_strict(model, path, what)


def require_imagenet_weights(family: str, input_shape=None, include_top: bool = False,
                             alpha: float = 1.0) -> Optional[str]:
    """The cached ImageNet file of ``family`` (its path), or ``None`` when Keras can download it;
    :class:`ImageNetWeightsUnavailable` at once, naming the file, when neither (no network wait)."""
    fam = canonical_name(family)
    fname, url = imagenet_weights_file(fam, include_top, input_shape, alpha)
    cached = _cached_file(fname)
    if cached is None and not _can_reach(url):
        raise ImageNetWeightsUnavailable(_unavailable_message(
            fam, fname, url, f"{fname} is not in the Keras cache and {urllib.parse.urlsplit(url).hostname} "
            "cannot be reached from this machine"))
    return cached


def vision_backbone(family: str, input_shape, weights=None, include_top: bool = False,
                    pooling: Optional[str] = None, name: Optional[str] = None, **kwargs) -> keras.Model:
    """A ``keras.applications`` model of ``family`` (see :data:`FAMILIES`).

    ``weights``: ``None``, ``"imagenet"`` or a path to a weights file (Keras ``.weights.h5`` or the
    legacy ``.h5`` files Keras itself downloads). ``name`` renames the returned model (Keras'
    EfficientNet derives its ImageNet file name from ``name``, so the renaming is done by wrapping).
    Extra ``kwargs`` (``alpha``, ``classes``, ...) go to the constructor.
    """
    fam = canonical_name(family)
    if fam in OWN_FAMILIES:
        return _own_backbone(fam, input_shape, weights, include_top, pooling, name, kwargs)
    spec = FAMILIES[fam]
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"{spec.constructor}: input_shape must be (height, width, channels), got {input_shape}")
    if any(side is not None and side < spec.min_size for side in input_shape[:2]):
        raise ValueError(f"{spec.constructor}: input sides must be >= {spec.min_size}, got {input_shape}")
    constructor = getattr(keras.applications, spec.constructor)
    options = dict(include_top=include_top, input_shape=input_shape, pooling=pooling, **kwargs)

    if weights is None or weights == "imagenet":
        cached_before = None
        if weights == "imagenet":
            fname, url = imagenet_weights_file(fam, include_top, input_shape, kwargs.get("alpha", 1.0))
            cached_before = require_imagenet_weights(fam, input_shape, include_top, kwargs.get("alpha", 1.0))
        try:
            model = constructor(weights=weights, **options)
        except Exception as error:  # keras.utils.get_file raises a bare Exception on download errors
            if weights == "imagenet" and cached_before is None and _cached_file(fname) is None:
                raise ImageNetWeightsUnavailable(_unavailable_message(
                    fam, fname, url, f"the download failed ({error})")) from error
            raise
    else:
        path = _existing_file(weights, spec.constructor,
                              " (weights must be None, 'imagenet' or a path to a weights file)")
        model = constructor(weights=None, **options)
        _load_weights_strictly(model, path, f"{spec.constructor}(include_top={include_top}, "
                                            f"input_shape={input_shape})")
    if name is not None and name != model.name:
        model = keras.Model(model.input, model.output, name=name)
    return model


def small_cnn(input_shape, weights=None, name: str = "small_cnn", filters=(16, 32, 64)) -> keras.Model:
    """Three 3x3 Conv2D (ReLU, "same") + 2x2 max-pool blocks; a feature map like keras.applications'
    ``include_top=False`` models. ``weights`` must be None (there are no pre-trained ones)."""
    if weights is not None:
        raise ValueError(f"small_cnn has no pre-trained weights; got weights={weights!r}")
    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = inputs
    for i, f in enumerate(filters, 1):
        x = keras.layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool{i}")(x)
    return keras.Model(inputs, x, name=name)


def face_cnn(input_shape, weights=None, name: str = "face_cnn", filters=(32, 64, 128, 128),
             bn_momentum: float = 0.99) -> keras.Model:
    """Four blocks of 2 x [3x3 Conv2D (no bias, "same") -> BatchNorm -> ReLU] + 2x2 max-pool, for
    images in [0, 1]: a small VGG-style face-expression CNN (ours; VGG's 3x3 stacks at FER-2013's
    scale, about 0.6 M weights). ``weights``: None (random) or a weights file of this architecture,
    e.g. written by :func:`zoo.pretrain.pretrain_faces`; there are no ImageNet weights.
    ``bn_momentum``: the BatchNorm moving-average momentum (training only)."""
    if weights == "imagenet":
        raise ValueError("face_cnn has no ImageNet weights; pass None or a weights file (zoo.pretrain)")
    path = None if weights is None else _existing_file(weights, "face_cnn")
    sides = [s for s in tuple(input_shape)[:2] if s is not None]
    if len(tuple(input_shape)) != 3 or any(s < 2 ** len(filters) for s in sides):
        raise ValueError(f"face_cnn: input_shape must be (height, width, channels) with sides >= "
                         f"{2 ** len(filters)}, got {tuple(input_shape)}")
    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = inputs
    for i, f in enumerate(filters, 1):
        for j in (1, 2):
            x = keras.layers.Conv2D(int(f), 3, padding="same", use_bias=False, name=f"{name}_block{i}_conv{j}")(x)
            x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_block{i}_bn{j}")(x)
            x = keras.layers.ReLU(name=f"{name}_block{i}_relu{j}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_block{i}_pool")(x)
    model = keras.Model(inputs, x, name=name)
    if path is not None:
        _load_weights_strictly(model, path, f"face_cnn(input_shape={tuple(input_shape)}, filters={tuple(filters)})")
    return model


#: zoo's own backbone families: ``f(input_shape, weights=None, name=..., **kwargs) -> keras.Model``
#: giving a feature map, like ``keras.applications``' ``include_top=False`` models.
OWN_FAMILIES = {"face_cnn": face_cnn}


def _own_backbone(fam, input_shape, weights, include_top, pooling, name, kwargs) -> keras.Model:
    if include_top or pooling is not None:
        raise ValueError(f"{fam} gives a feature map only (include_top=False, pooling=None)")
    return OWN_FAMILIES[fam](tuple(input_shape), weights=weights, name=name or fam, **kwargs)
