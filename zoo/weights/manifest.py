"""The weights manifest: one JSON entry per released weight, its schema and atomic updates.

Like torchvision's ``Weights.meta`` / keras-hub presets, a release is a file plus metadata:
what to build (``model``, ``variant``, ``build``), the file (``file``, ``sha256``, ``size``,
``committed``, ``url``; ``storage``, absent meaning ``"full"``, and ``storage_details``: what the
file holds, :mod:`zoo.weights.storage`), what it outputs (ordered class labels or V/A/D targets), the
features it expects (extractor name, options and ``config()`` per input), where its numbers
come from (``corpus``, ``protocol``, ``metrics`` mean ± std over the CV folds, ``recipe``,
``command``), ``licence`` (weights and training data), ``date`` and ``versions``.

:func:`validate_entry` lists every problem of an entry (the schema test runs it on each);
:func:`update` replaces or adds one entry under a file lock and writes the manifest
atomically (temporary file + rename), so a reader never sees a half-written manifest.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from zoo import io as _io

SCHEMA_VERSION = 1
REPO_WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_MANIFEST = REPO_WEIGHTS_DIR / "manifest.json"
COMMIT_LIMIT_BYTES = 25 * 1024 * 1024  # files above this are produced by the release command, not committed
WEIGHTS_SUFFIX = ".weights.h5"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
REQUIRED = {
    "name": str, "model": str, "variant": str, "build": dict, "file": str, "sha256": str, "size": int,
    "committed": bool, "parameters": int, "outputs": dict, "features": dict, "corpus": dict,
    "protocol": dict, "metrics": dict, "recipe": dict, "command": str, "licence": dict, "date": str,
    "versions": dict, "notes": str,
}
OPTIONAL = {"url": (str, type(None)), "paper": str, "inference": str, "normalize": str, "normalization": dict,
            "storage": str, "storage_details": dict}
STORAGES = ("full", "trainable_part", "float16")  # what the file holds: zoo.weights.storage
KEY_ORDER = ("name", "model", "variant", "paper", "build", "file", "sha256", "size", "committed", "url", "storage",
             "storage_details",
             "parameters", "outputs", "features", "normalize", "normalization", "inference", "corpus", "protocol", "metrics", "recipe",
             "command", "licence", "date", "versions", "notes")


class ManifestError(ValueError):
    """A manifest (or one of its entries) that does not follow the schema."""


def cache_dir() -> Path:
    """Downloaded / large release files: ``$ZOO_CACHE_DIR/weights`` (default ``~/.cache/zoo/weights``)."""
    return Path(os.environ.get("ZOO_CACHE_DIR", Path.home() / ".cache" / "zoo")) / "weights"


def read(path=None) -> dict:
    """The manifest at ``path`` (default ``weights/manifest.json``); an absent file is empty."""
    path = Path(path or DEFAULT_MANIFEST)
    if not path.exists():
        return {"schema": SCHEMA_VERSION, "releases": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}: not valid JSON (line {error.lineno}): {error.msg}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION or not isinstance(data.get("releases"), list):
        raise ManifestError(f"{path}: expected {{'schema': {SCHEMA_VERSION}, 'releases': [...]}}")
    return data


def entries(path=None) -> Dict[str, dict]:
    """``{release name: entry}`` of a manifest, in file order."""
    return {e["name"]: e for e in read(path)["releases"]}


# ----------------------------------------------------------------------------- schema
def _check_metrics(metrics: dict, problems: List[str]) -> None:
    if not metrics:
        problems.append("metrics is empty")
    for key, value in metrics.items():
        if not isinstance(value, dict) or not {"mean", "std", "n", "values"} <= set(value):
            problems.append(f"metrics.{key} must hold mean, std, n, values")
            continue
        values = value["values"]
        if not isinstance(values, list) or len(values) != value["n"] or value["n"] < 1:
            problems.append(f"metrics.{key}: n={value['n']} but {len(values) if isinstance(values, list) else '?'} values")
        elif abs(sum(values) / len(values) - value["mean"]) > 1e-6:
            problems.append(f"metrics.{key}: mean {value['mean']} is not the mean of its values")


def _check_storage(entry: dict, problems: List[str]) -> None:
    storage, details = entry.get("storage", "full"), entry.get("storage_details", {})
    if storage not in STORAGES:
        problems.append(f"storage {storage!r} must be one of {', '.join(STORAGES)}")
    elif storage == "float16":
        error = details.get("max_abs_error")
        if not isinstance(error, (int, float)) or isinstance(error, bool) or not error >= 0:
            problems.append("storage float16 needs storage_details.max_abs_error (a number >= 0)")
        if not _SHA.match(str(details.get("float32_sha256", ""))):
            problems.append("storage float16 needs storage_details.float32_sha256 (of the file it was cast from)")
    elif storage == "trainable_part":
        encoders = details.get("encoders")
        if not isinstance(encoders, dict) or not encoders:
            problems.append("storage trainable_part needs storage_details.encoders (the rebuilt frozen encoders)")
        else:
            for name, encoder in encoders.items():
                if not isinstance(encoder, dict) or not isinstance(encoder.get("source"), str) \
                        or not _SHA.match(str(encoder.get("sha256", ""))):
                    problems.append(f"storage_details.encoders.{name} needs its source and the sha256 of its weights")


def validate_entry(entry: dict) -> List[str]:
    """Every schema problem of one entry (empty list: valid). Needs no model build."""
    from zoo import registry

    problems = []
    for key, kind in REQUIRED.items():
        if key not in entry:
            problems.append(f"missing {key!r}")
        elif not isinstance(entry[key], kind) or (kind is int and isinstance(entry[key], bool)):
            problems.append(f"{key!r} must be {kind.__name__}, got {type(entry[key]).__name__}")
    for key, kind in OPTIONAL.items():
        if key in entry and not isinstance(entry[key], kind):
            problems.append(f"{key!r} has the wrong type {type(entry[key]).__name__}")
    unknown = set(entry) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    if problems:
        return problems
    if not _NAME.match(entry["name"]):
        problems.append(f"name {entry['name']!r} must be lowercase letters, digits, '_', '.', '-'")
    try:
        variants = registry.get_spec(entry["model"]).variants
        if entry["variant"] not in variants:
            problems.append(f"variant {entry['variant']!r} is not one of {sorted(variants)}")
    except ValueError as error:
        problems.append(str(error))
    if {"weights", "include_top", "variant"} & set(entry["build"]):
        problems.append("build must not set weights, include_top or variant")
    if not entry["file"].endswith(WEIGHTS_SUFFIX) or "/" in entry["file"] or "\\" in entry["file"]:
        problems.append(f"file {entry['file']!r} must be a bare '*{WEIGHTS_SUFFIX}' name")
    if not _SHA.match(entry["sha256"]):
        problems.append("sha256 must be 64 lowercase hex digits")
    if entry["size"] <= 0 or entry["parameters"] <= 0:
        problems.append("size and parameters must be > 0")
    if entry["committed"] and entry["size"] > COMMIT_LIMIT_BYTES:
        problems.append(f"committed file of {entry['size']:,} bytes is over the {COMMIT_LIMIT_BYTES:,}-byte limit")
    _check_storage(entry, problems)
    outputs = entry["outputs"]
    if outputs.get("kind") == "classes":
        labels = outputs.get("labels")
        if not isinstance(labels, list) or len(labels) < 2 or len(set(labels)) != len(labels):
            problems.append("outputs.labels must be >= 2 distinct class names")
        elif isinstance(entry["build"].get("classes"), list):
            if entry["build"]["classes"] != labels:
                problems.append(f"build.classes={entry['build']['classes']} but outputs.labels={labels}")
        elif entry["build"].get("classes", len(labels)) != len(labels):
            problems.append(f"build.classes={entry['build'].get('classes')} but {len(labels)} labels")
    elif outputs.get("kind") == "regression":
        targets = outputs.get("targets")
        if not targets or set(targets) - {"valence", "arousal", "dominance"}:
            problems.append("outputs.targets must name valence/arousal/dominance")
        if outputs.get("range") != [-1, 1]:
            problems.append("outputs.range must be [-1, 1]")
    else:
        problems.append("outputs.kind must be 'classes' or 'regression'")
    for name, spec in entry["features"].items():
        if not isinstance(spec, dict) or not {"extractor", "options", "config"} <= set(spec):
            problems.append(f"features.{name} must hold extractor, options, config")
        elif spec["extractor"] == "word_ids" and not isinstance(spec.get("vocabulary"), list):
            problems.append(f"features.{name}: word_ids needs its vocabulary (list of words)")
    if not entry["features"]:
        problems.append("features is empty")
    _check_normalization(entry, problems)
    for key in ("name", "description"):
        if not isinstance(entry["corpus"].get(key), str):
            problems.append(f"corpus.{key} missing")
    for key in ("name", "folds", "seeds", "release_rule"):
        if key not in entry["protocol"]:
            problems.append(f"protocol.{key} missing")
    _check_metrics(entry["metrics"], problems)
    for key in ("profile", "optimizer", "loss", "batch_size", "epochs"):
        if key not in entry["recipe"]:
            problems.append(f"recipe.{key} missing")
    if not entry["command"].startswith("python -m zoo.weights release "):
        problems.append("command must be the 'python -m zoo.weights release ...' line that produced it")
    for key in ("weights", "training_data"):
        if not isinstance(entry["licence"].get(key), str) or not entry["licence"][key]:
            problems.append(f"licence.{key} missing")
    try:
        datetime.date.fromisoformat(entry["date"])
    except ValueError:
        problems.append(f"date {entry['date']!r} is not YYYY-MM-DD")
    return problems


def _check_normalization(entry: dict, problems: list) -> None:
    """``normalize`` is one of the profiles' modes; global CMVN (``"training"``) carries its
    ``normalization`` statistics, for inputs of ``features`` only; nothing else does."""
    from zoo.features.normalize import PROFILE_MODES, TRAINING, statistics_from_json

    mode = entry.get("normalize")
    if mode is not None and mode not in PROFILE_MODES:
        problems.append(f"normalize {mode!r} is not one of {list(PROFILE_MODES)}")
    if (mode == TRAINING) != ("normalization" in entry):
        problems.append(f"normalize={TRAINING!r} needs its normalization statistics, and only it has them")
    elif mode == TRAINING:
        stored = entry["normalization"]
        if not stored or set(stored) - set(entry["features"]):
            problems.append(f"normalization must name inputs of features, got {sorted(stored)}")
        else:
            try:
                statistics_from_json(stored, f"release {entry.get('name')!r}")
            except ValueError as error:
                problems.append(str(error))


def validate(data: dict, where="manifest") -> None:
    """Raise :class:`ManifestError` listing the problems of every entry (and duplicate names/files)."""
    problems = []
    names, files = set(), set()
    for i, entry in enumerate(data.get("releases", [])):
        label = entry.get("name", f"#{i}") if isinstance(entry, dict) else f"#{i}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: not an object")
            continue
        problems += [f"{label}: {p}" for p in validate_entry(entry)]
        if label in names:
            problems.append(f"{label}: duplicate release name")
        if entry.get("file") in files:
            problems.append(f"{label}: file {entry.get('file')!r} used by two releases")
        names.add(label)
        files.add(entry.get("file"))
    if problems:
        raise ManifestError(f"{where}: " + "; ".join(problems))


# ----------------------------------------------------------------------------- writing
@contextlib.contextmanager
def locked(path) -> Iterator[None]:
    """An exclusive lock on ``<manifest>.lock`` (two release commands never interleave updates)."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, rename it into place."""
    # 0644 whatever the umask: the manifest is a shared, committed file.
    _io.atomic_write_text(path, text, perm=0o644)


def _dump(value, indent: int) -> str:
    """JSON with one key per line, but lists of plain values (labels, vocabularies) on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(f"{inner}{_dump(v, indent + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


def dumps(data: dict) -> str:
    return _dump(data, 0) + "\n"


def update(entry: dict, path=None) -> None:
    """Add ``entry`` (or replace the one of the same name), validate, write atomically."""
    path = Path(path or DEFAULT_MANIFEST)
    problems = validate_entry(entry)
    if problems:
        raise ManifestError(f"release {entry.get('name')!r}: " + "; ".join(problems))
    entry = {**{k: entry[k] for k in KEY_ORDER if k in entry}, **entry}  # readable key order
    with locked(path):
        data = read(path)
        releases = [e for e in data["releases"] if e.get("name") != entry["name"]]
        position = next((i for i, e in enumerate(data["releases"]) if e.get("name") == entry["name"]), len(releases))
        releases.insert(position, entry)
        data = {"schema": SCHEMA_VERSION, "releases": releases}
        validate(data, str(path))
        atomic_write_text(path, dumps(data))


def find(name: str, path=None) -> dict:
    """The entry of release ``name``; a KeyError naming the known ones otherwise."""
    known = entries(path)
    if name not in known:
        raise KeyError(f"unknown release {name!r}; known: {', '.join(known) or '(none)'} "
                       f"(manifest {Path(path or DEFAULT_MANIFEST)})")
    return known[name]


def repo_weights_dir(manifest_path=None) -> Path:
    """The folder of committed weight files: the manifest's folder."""
    return Path(manifest_path or DEFAULT_MANIFEST).resolve().parent


def search_dirs(manifest_path=None, extra: Optional[List] = None) -> List[Path]:
    """Where release files are looked for, in order: ``extra``, the manifest's folder, the cache."""
    return [Path(p) for p in (extra or [])] + [repo_weights_dir(manifest_path), cache_dir()]
