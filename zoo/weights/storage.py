"""What a release file holds (manifest key ``storage``; absent means ``"full"``), writing and loading it.

- ``"full"``: ``model.save_weights`` of the whole model, loaded strictly
  (:func:`zoo.weights.loading.load_strict`).
- ``"trainable_part"``: the weights of every layer outside the model's frozen encoders
  (:class:`zoo.spec.Frozen` parts of ``ModelSpec.frozen``) whose weights the builder loads from
  a named pre-trained source (``Frozen.source``: gru_bert's frozen text encoder from the offline
  MiniLM package or a keras-hub preset). The file is ``save_weights`` of the trainable part
  (:func:`zoo.frozen.split`, built on the model's own layers); loading builds the model (which
  loads the encoder from its source), checks each encoder against the sha256 of its weights
  recorded in ``storage_details`` (another package version or preset is an error, not silently
  other features), and loads the file strictly into the trainable part. Allowed only when every
  weight of the model is in exactly one of the two.
- ``"float16"``: ``save_weights`` of the whole model with every float32 dataset cast to float16
  (h5py), loaded into the float32 model by casting back (a float32 copy in a temporary folder,
  then the strict load). ``storage_details.max_abs_error`` is the largest ``|w - float32(float16(w))|``
  over all weights; the entry's ``sha256``/``size`` are the float16 file's, and
  ``storage_details.float32_sha256`` that of the float32 file it was cast from.

:func:`choose` (used by :func:`zoo.weights.release.publish`) keeps the full file when it fits the
commit limit, else the trainable part where allowed and small enough, else float16 if that
fits, else the full file in the cache (``command`` rebuilds it).
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from zoo.io import WeightsError
from zoo.weights.loading import h5_layer_names, load_strict
from zoo.weights.manifest import STORAGES

FLOAT16_MAX = float(np.finfo(np.float16).max)

__all__ = ["STORAGES", "StorageRefused", "TrainablePart", "trainable_part", "rebuilt_parts", "build_arguments",
           "encoder_sha256", "full_bytes", "float16_bytes", "write_float16", "load_into", "storage_of", "describe"]


class StorageRefused(ValueError):
    """A storage kind that cannot hold this model (the message says why)."""


def storage_of(entry: dict) -> str:
    return entry.get("storage", "full")


def _release(entry: dict) -> str:
    return f"release {entry['name']!r}"


# ----------------------------------------------------------------------------- sizes
def full_bytes(model) -> int:
    """Bytes of every variable: a lower bound of the full file's size."""
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights)


def float16_bytes(model) -> int:
    """The same with float32 variables at 2 bytes: a lower bound of the float16 file's size."""
    return sum(int(np.prod(v.shape)) * (2 if np.dtype(v.dtype) == np.float32 else np.dtype(v.dtype).itemsize)
               for v in model.weights)


# ----------------------------------------------------------------------------- trainable part
def build_arguments(entry: dict) -> dict:
    """The builder arguments a release is built with: the builder's defaults, its variant's, the entry's."""
    from zoo import registry

    spec = registry.get_spec(entry["model"])
    signature = inspect.signature(inspect.unwrap(spec.build))
    defaults = {k: p.default for k, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
    return {**defaults, **spec.variant(entry["variant"]).build_args, **entry["build"]}


def rebuilt_parts(entry: dict) -> Dict[str, tuple]:
    """``{part name: (Frozen part, source)}``: the model's frozen parts whose weights the builder
    loads from a named source with the entry's arguments. :class:`StorageRefused` saying why when none."""
    from zoo import registry

    spec = registry.get_spec(entry["model"])
    if not spec.frozen:
        raise StorageRefused(f"{spec.name} has no frozen encoder (ModelSpec.frozen)")
    args, found, why = build_arguments(entry), {}, []
    for part in spec.frozen:
        where = f"{spec.name}'s frozen part {part.input} -> {part.into}"
        if part.source is None:
            why.append(f"{where}: its weights are not loaded by the builder from a named pre-trained source "
                       "(random initialisation), so only the file has them")
            continue
        try:
            found[part.name] = (part, part.source(args))
        except ValueError as error:
            why.append(f"{where}: {error}")
    if not found:
        raise StorageRefused("; ".join(why))
    return found


def encoder_sha256(encoder) -> str:
    """sha256 of an encoder's weights (shape, dtype and bytes of each, in order): equal when
    the builder loaded the same pre-trained weights."""
    import keras

    digest = hashlib.sha256()
    for weight in encoder.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _cover_problems(model, split) -> List[str]:
    """Every weight of ``model`` must be in exactly one of the encoders and the trainable part."""
    encoded = {id(w): w for e in split.encoders.values() for w in e.weights}
    rest = {id(w): w for w in split.trainable.weights}
    every = {id(w): w for w in model.weights}
    problems = []
    for label, ids, pool in (("in neither the file nor a rebuilt encoder", every.keys() - encoded.keys() - rest.keys(), every),
                             ("in both the file and a rebuilt encoder", encoded.keys() & rest.keys(), every),
                             ("not the model's", (encoded.keys() | rest.keys()) - every.keys(), {**encoded, **rest})):
        if ids:
            problems.append(f"weights {label}: {sorted(pool[i].path for i in ids)[:3]}")
    return problems


def _split(model, parts, what: str):
    from zoo import frozen

    got = frozen.split(model, parts)
    names = sorted(p.name for p in parts)
    if got is None or sorted(p.name for p in got.parts) != names:
        have = sorted(p.name for p in got.parts) if got is not None else []
        lacking = [f"{p.input} -> {p.into}" for p in parts if p.name not in have]
        raise WeightsError(f"{what}: the model built has no frozen (untrainable, weighted) part {', '.join(lacking)} "
                           f"of model {model.name!r}")
    return got


@dataclasses.dataclass
class TrainablePart:
    """A model cut into its rebuilt encoders and the trainable part the file holds."""

    split: object
    details: dict

    def at_least(self) -> int:
        return full_bytes(self.split.trainable)

    def save(self, path) -> None:
        self.split.trainable.save_weights(path)


def trainable_part(model, entry: dict) -> TrainablePart:
    """The trainable part of ``model`` for release ``entry``; :class:`StorageRefused` saying why not."""
    parts = rebuilt_parts(entry)
    try:
        split = _split(model, [p for p, _ in parts.values()], _release(entry))
    except WeightsError as error:
        raise StorageRefused(str(error)) from None
    problems = _cover_problems(model, split)
    if problems:
        raise StorageRefused(f"{_release(entry)}: " + "; ".join(problems))
    encoders = {}
    for name, (part, source) in parts.items():
        encoder = split.encoders[name]
        encoders[name] = {"input": part.input, "into": part.into, "source": source,
                          "parameters": int(encoder.count_params()), "sha256": encoder_sha256(encoder)}
    return TrainablePart(split, {"encoders": encoders, "parameters_in_file": int(split.trainable.count_params())})


def _load_trainable_part(model, path: Path, entry: dict) -> None:
    from zoo import registry

    what = _release(entry)
    stored = entry.get("storage_details", {}).get("encoders") or {}
    spec = registry.get_spec(entry["model"])
    parts = [p for p in spec.frozen if p.name in stored]
    if len(parts) != len(stored):
        unknown = sorted(set(stored) - {p.name for p in parts})
        raise WeightsError(f"{what}: stored without encoders {unknown} that {spec.name}'s ModelSpec.frozen does not name")
    split = _split(model, parts, what)
    for part in parts:
        digest = encoder_sha256(split.encoders[part.name])
        if digest != stored[part.name]["sha256"]:
            raise WeightsError(f"{what}: the frozen encoder {part.input} -> {part.into} built from "
                               f"{stored[part.name]['source']} has other weights (sha256 {digest[:12]}…) than the "
                               f"one it was trained with ({stored[part.name]['sha256'][:12]}…): another version "
                               "of the package or preset; install the one the release names")
    problems = _cover_problems(model, split)
    if problems:
        raise WeightsError(f"{what}: " + "; ".join(problems))
    load_strict(split.trainable, path, what=f"{what} (the layers outside its frozen encoders)")


# ----------------------------------------------------------------------------- float16
def _copy_h5(source, target, convert) -> None:
    """Copy every group, dataset and attribute of ``source`` to ``target``, datasets through
    ``convert(name, array) -> array``."""
    import h5py

    with h5py.File(source, "r") as src, h5py.File(target, "w") as out:
        for key, value in src.attrs.items():
            out.attrs[key] = value

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                made = out.create_dataset(name, data=convert(name, obj[()]))
            else:
                made = out.require_group(name)
            for key, value in obj.attrs.items():
                made.attrs[key] = value

        src.visititems(visit)


def write_float16(source, target) -> dict:
    """Write ``source`` (a float32 ``.weights.h5``) to ``target`` with every float32 dataset cast
    to float16; the details: ``max_abs_error`` (largest ``|w - float32(float16(w))|``), ``cast``
    (datasets cast). :class:`StorageRefused` when a finite weight is beyond float16's range."""
    error, cast, names = 0.0, 0, h5_layer_names(source)

    def convert(name, value):
        nonlocal error, cast
        value = np.asarray(value)
        if value.dtype != np.float32:
            return value
        with np.errstate(over="ignore"):  # overflow is checked (and refused) just below
            half = value.astype(np.float16)
        back = half.astype(np.float32)
        overflow = np.isfinite(value) & ~np.isfinite(back)
        if overflow.any():
            raise StorageRefused(f"weight {names.get(name, name)!r} ({name}) has values beyond float16's range "
                                 f"(±{FLOAT16_MAX:g}): {float(np.abs(value[overflow]).max()):g}")
        finite = np.isfinite(value)
        if finite.any():
            error = max(error, float(np.abs(value[finite] - back[finite]).max()))
        cast += 1
        return half

    _copy_h5(source, target, convert)
    return {"max_abs_error": error, "cast": cast}


def _load_float16(model, path: Path, entry: dict) -> None:
    import h5py

    what = _release(entry)
    with h5py.File(path, "r") as f:
        wide = []
        f.visititems(lambda name, obj: wide.append(name) if isinstance(obj, h5py.Dataset)
                     and obj.dtype.kind == "f" and obj.dtype.itemsize > 2 else None)
    if wide:
        raise WeightsError(f"{path}: {what} is stored as float16 but holds {len(wide)} dataset(s) of wider "
                           f"floats ({wide[:3]}): not the float16 file of this release")
    with tempfile.TemporaryDirectory(prefix="zoo-float16-") as folder:
        wide_copy = Path(folder) / path.name
        _copy_h5(path, wide_copy, lambda name, v: np.asarray(v).astype(np.float32)
                 if np.asarray(v).dtype == np.float16 else v)
        try:
            load_strict(model, wide_copy, what=f"{what} (float16 file cast to float32)")
        except WeightsError as error:
            raise WeightsError(str(error).replace(str(wide_copy), str(path))) from None


# ----------------------------------------------------------------------------- loading
def load_into(model, path, entry: Optional[dict]) -> None:
    """Load release ``entry``'s verified file ``path`` into ``model`` (built with the entry's
    arguments) as its ``storage`` says; a :class:`WeightsError` naming the release otherwise."""
    path = Path(path)
    kind = "full" if entry is None else storage_of(entry)
    if kind == "full":
        load_strict(model, path, what=None if entry is None else _release(entry))
    elif kind == "trainable_part":
        _load_trainable_part(model, path, entry)
    elif kind == "float16":
        _load_float16(model, path, entry)
    else:
        raise WeightsError(f"{_release(entry)}: unknown storage {kind!r} (known: {', '.join(STORAGES)}); "
                           "a newer zoo wrote it")


def describe(entry: dict) -> str:
    """One line for cards and notes: how the file stores the weights."""
    kind, details = storage_of(entry), entry.get("storage_details", {})
    if kind == "trainable_part":
        sources = "; ".join(e["source"] for e in details.get("encoders", {}).values())
        return f"trainable part only (frozen encoder from {sources})"
    if kind == "float16":
        return f"float16 copy (max rounding error {details.get('max_abs_error', float('nan')):.1e})"
    return "full"
