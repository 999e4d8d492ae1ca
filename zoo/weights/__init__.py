"""Released weights: load them, check their preprocessing, fine-tune them, release new ones.

    from zoo import weights
    model = weights.load("blstmatt-synthetic-smoke")                 # verified, ready to predict
    extractors = weights.extractors("blstmatt-synthetic-smoke")     # the features it expects
    tuned = weights.load("blstmatt-synthetic-smoke", classes=2, freeze="body")  # new head, frozen body
    body = weights.load("blstmatt-synthetic-smoke", include_top=False)         # features only
    same = zoo.build("blstmatt", weights="blstmatt-synthetic-smoke")  # once zoo.registry has the hook

    python -m zoo.weights table                  # the README's "Pretrained weights" table
    python -m zoo.weights release csa --corpus synthetic --profile smoke

Releases are listed in ``weights/manifest.json`` (schema: :mod:`zoo.weights.manifest`); files
are looked for in ``weights/``, then ``$ZOO_CACHE_DIR/weights`` (default
``~/.cache/zoo/weights``), then downloaded from the entry's ``url`` when it has one
(``keras.utils.get_file`` with the sha256). Every file is checked against its sha256 and size
before it is read, and goes into a freshly built model that is returned only when all of it
loaded (:mod:`zoo.weights.loading`), as its ``storage`` says (:mod:`zoo.weights.storage`: the
full weights, the trainable part around frozen encoders the builder loads from their preset,
or a float16 copy cast back to float32).

Fine-tuning follows ``keras.applications``: ``include_top=False`` ends at the builder's
headless output, a ``classes`` other than the release's (or dser ``tasks``) gets a new,
freshly initialised head; every body weight is copied. ``freeze="body"`` (a linear probe),
``"all"`` or layer-name prefixes make layer groups non-trainable.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Union

from zoo.weights import manifest
from zoo.weights.loading import (ChecksumError, WeightsError, find_file, freeze, head_layer_names, load_strict,
                                 sha256, transfer, verify)
from zoo.weights.manifest import ManifestError, cache_dir
from zoo.weights.preprocessing import FeatureMismatchError, check_features, extractors
from zoo.weights.storage import load_into

__all__ = [
    "load", "build", "get", "releases", "labels", "normalization", "extractors", "check_features", "freeze",
    "find_file", "verify", "sha256", "table", "cache_dir", "head_layer_names", "transfer",
    "load_strict", "load_into", "WeightsError", "ChecksumError", "FeatureMismatchError", "ManifestError",
]

_freeze_groups = freeze  # load()/build() take an argument named ``freeze``


def releases(manifest_path=None) -> List[str]:
    """Names of every release in the manifest."""
    return list(manifest.entries(manifest_path))


def get(name: str, manifest_path=None) -> dict:
    """The manifest entry of release ``name`` (a dict; see :mod:`zoo.weights.manifest`)."""
    return manifest.find(name, manifest_path)


def labels(name: str, manifest_path=None) -> List[str]:
    """Ordered class labels of a classifier release (output index -> label), or its V/A/D targets."""
    outputs = get(name, manifest_path)["outputs"]
    return list(outputs["labels"] if outputs["kind"] == "classes" else outputs["targets"])


def normalization(name: str, manifest_path=None) -> Optional[str]:
    """How the release's features are normalised beyond their extractors: ``"speaker"`` (each
    speaker's frames standardised by that speaker's statistics, :func:`zoo.features.speaker_cmvn`),
    ``"training"`` (global CMVN: by the training data's mean and std, the entry's
    ``normalization``) or None."""
    return get(name, manifest_path).get("normalize")


def _is_release(weights, manifest_path) -> bool:
    return isinstance(weights, str) and not weights.endswith(".h5") and weights in manifest.entries(manifest_path)


def _check_model_name(model: Optional[str], entry: dict) -> None:
    if model is None:
        return
    name, _, variant = model.partition(":")
    if name != entry["model"] or (variant and variant != entry["variant"]):
        raise ValueError(f"release {entry['name']!r} is {entry['model']}:{entry['variant']}, not {model!r}")


def _outputs_signature(model) -> list:
    """Output layer names and shapes (equal signatures: the release's head fits the new model)."""
    return list(zip(model.output_names, (tuple(t.shape[1:]) for t in model.outputs)))


def load(weights: Union[str, Path], model: Optional[str] = None, *, include_top: bool = True,
         classes: Optional[int] = None, freeze: Union[None, str, Sequence[str]] = None,
         build: Optional[dict] = None, manifest_path=None, search: Optional[Sequence] = None,
         download: bool = True, new_head: bool = False, **kwargs):
    """A model with released (or file) weights.

    Args:
        weights: a release name from the manifest, or a path to a ``.weights.h5`` file (then
            ``model`` and ``build``, the builder arguments the file was saved with, are needed).
        model: ``"model[:variant]"``; optional for a release (checked against it if given).
        include_top: ``False`` returns the body only (the builder's headless output).
        classes: for a release, a number (or list) of classes other than the release's needs
            ``new_head=True``: then the head is new and freshly initialised while the body keeps
            every released weight (without it, a mismatch is an error, as in
            ``keras.applications``); for a user's file, the classes its head was saved with.
        new_head: make a fresh, untrained head for ``classes`` (fine-tuning to a new label set),
            also when it has as many classes as the release's.
        freeze: ``None``, ``"body"`` (only the head trains), ``"all"`` or layer-name prefixes.
        search: extra folders to look in before ``weights/`` and the cache.
        build: for a file, the builder arguments it was saved with (a release has its own).
        kwargs: builder arguments of the new model on top of the release's (e.g. ``dropout``,
            dser ``tasks``); arguments that change the body's shapes make the load fail.
    """
    from zoo import registry

    if _is_release(weights, manifest_path):
        if build is not None:
            raise ValueError(f"release {weights!r} has its own builder arguments; pass changes as keyword arguments")
        entry = manifest.find(weights, manifest_path)
        _check_model_name(model, entry)
        name = f"{entry['model']}:{entry['variant']}"
        path = find_file(entry, manifest_path, search, download)
        release_kwargs = dict(entry["build"])
    else:
        path = Path(weights)
        if model is None:
            raise ValueError(f"{weights!r} is not a release name ({', '.join(releases(manifest_path)) or 'none'}); "
                             "loading a file needs model='name[:variant]' and the builder arguments it was saved with")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: weights file not found")
        entry, name, release_kwargs = None, model, dict(build or {})
    if entry is None and classes is not None:
        release_kwargs["classes"] = classes  # a user's own file: its head has these classes
        classes = None

    def make(**extra):
        return registry.build(name, **{**release_kwargs, **extra})

    source = make()  # the release's own graph, fresh: the file must fit it exactly
    if entry is not None and source.count_params() != entry["parameters"]:
        raise WeightsError(f"release {entry['name']!r}: this code builds {source.count_params():,} parameters, "
                           f"the release has {entry['parameters']:,} (changed builder, or a missing offline "
                           f"package such as the MiniLM text encoder)")
    load_into(source, path, entry)  # as the entry's ``storage`` says (zoo.weights.storage)
    new = {**kwargs, **({"classes": classes} if classes is not None else {})}
    trained = release_kwargs.get("classes", registry.get_spec(name).labels)
    if entry is not None and entry["outputs"]["kind"] == "classes":
        trained = list(entry["outputs"]["labels"])
    if include_top and "classes" in new and not new_head and not _same_classes(new["classes"], trained):
        where = f"release {entry['name']!r}" if entry is not None else str(path)
        raise WeightsError(f"{where} has a head for {_describe_classes(trained)}; classes={new['classes']!r} needs "
                           "a new, untrained head: pass new_head=True (or include_top=False for the body only)")
    if include_top and not new and not new_head:
        target, head = source, None
    else:
        target = make(include_top=include_top, **new)
        if include_top and not new_head and _outputs_signature(target) == _outputs_signature(source):
            transfer(source, target)  # same head: every weight carries over
            head = None
        else:
            head = _head_names(source, target, make, include_top, new)
            transfer(source, target, skip=head)
    if freeze not in (None, "none"):
        if head is None:
            head = _head_names(source, target, make, include_top, new) if freeze == "body" else []
        _freeze_groups(target, freeze, head)
    return target


def _n_classes(classes) -> int:
    return len(classes) if isinstance(classes, (list, tuple)) else int(classes)


def _same_classes(asked, trained) -> bool:
    """Whether the head trained for ``trained`` (names or a count) serves ``asked``: the same
    names in the same order, or the same count where either side has no names."""
    if isinstance(asked, (list, tuple)) and isinstance(trained, (list, tuple)):
        return [str(a) for a in asked] == [str(t) for t in trained]
    return _n_classes(asked) == _n_classes(trained)


def _describe_classes(classes) -> str:
    return ", ".join(map(str, classes)) if isinstance(classes, (list, tuple)) else f"{int(classes)} classes"


def _head_names(source, target, make, include_top, new) -> List[str]:
    """The head of ``target``: its layers that the builder adds only with ``include_top=True``."""
    if not include_top:
        return head_layer_names(source, target)
    headless = make(include_top=False, **{k: v for k, v in new.items() if k != "classes"})
    return head_layer_names(target, headless)


def build(name: str, weights=None, include_top: bool = True, classes=None,
          freeze: Union[None, str, Sequence[str]] = None, new_head: bool = False, **kwargs):
    """``zoo.build`` with ``weights=<release name> | <path>`` and ``freeze=``.

    The hook for :func:`zoo.registry.build`: ``weights=None`` (or a builder's own value such
    as ParallelNet's ``"imagenet"``) builds as usual; a release name or a file goes through
    :func:`load`.
    """
    from zoo import registry

    if weights is not None and _is_release(weights, None):
        return load(weights, name, include_top=include_top, classes=classes, freeze=freeze, new_head=new_head,
                    **kwargs)
    if weights is not None and str(weights).endswith(".h5"):  # keras.applications: this graph, that file
        return load(weights, name, include_top=include_top, classes=classes, freeze=freeze, build=kwargs)
    if isinstance(weights, str) and weights != "imagenet":
        raise ValueError(f"weights={weights!r} is neither a release ({', '.join(releases()) or 'none'}) "
                         "nor a .weights.h5 file")
    extra = {"classes": classes} if classes is not None else {}
    model = registry.build(name, **{**kwargs, **extra}, include_top=include_top, weights=weights)
    if freeze not in (None, "none"):
        head = []
        if freeze == "body" and include_top:
            headless = registry.build(name, **kwargs, include_top=False)
            head = head_layer_names(model, headless)
        _freeze_groups(model, freeze, head)
    return model


def table(manifest_path=None) -> str:
    """The markdown "Pretrained weights" table, generated from the manifest."""
    from zoo.weights.card import markdown_table

    return markdown_table(manifest.read(manifest_path)["releases"])
