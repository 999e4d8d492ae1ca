"""Find, verify and load released weights; new heads and frozen layer groups for fine-tuning.

Conventions of ``keras.applications``: ``weights=`` names a release (or a file),
``include_top=False`` drops the classifier, a new ``classes`` gets a freshly initialised head.
Every weight of the body is kept; the head is the set of layers the builder adds only with
``include_top=True`` (found by building both graphs, so no per-model list can go stale).

Safety: the file's sha256 is checked before anything is read; the weights go into a freshly
built model whose file layout is compared with the file's first (Keras 3 only warns and keeps
fresh values for what it cannot match); a model is returned only when everything loaded.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

from zoo.io import WeightsError, h5_layout, load_weights_strict, sha256
from zoo.weights import manifest as _manifest


class ChecksumError(WeightsError):
    """The file's sha256 (or size) is not the manifest's."""


def verify(path, entry: dict) -> Path:
    """Check ``path`` against the entry's size and sha256; a :class:`ChecksumError` says which."""
    path = Path(path)
    size = path.stat().st_size
    if size != entry["size"]:
        raise ChecksumError(f"{path}: {size:,} bytes, but release {entry['name']!r} is {entry['size']:,} bytes "
                            f"(truncated or replaced file; delete it and fetch it again)")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise ChecksumError(f"{path}: sha256 {digest} does not match release {entry['name']!r} "
                            f"({entry['sha256']}); the file is corrupt or not this release")
    return path


def _download(url: str, entry: dict, target: Path) -> Path:
    """Fetch ``url`` with ``keras.utils.get_file`` (which checks the sha256) into a temporary
    folder beside ``target``, check the size too, then rename it into place; the folder goes
    whatever happens (get_file keeps a file whose hash failed: it must not reach the cache)."""
    import keras

    target.parent.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=".download-", dir=target.parent)
    try:
        try:
            fetched = keras.utils.get_file(fname=target.name, origin=url, file_hash=entry["sha256"],
                                           hash_algorithm="sha256", cache_dir=folder, cache_subdir="")
        except ValueError as error:
            if "hash" not in str(error):
                raise
            raise ChecksumError(f"{url}: the downloaded file's sha256 does not match release {entry['name']!r} "
                                f"({entry['sha256']}); nothing was kept ({error})") from None
        verify(fetched, entry)
        os.replace(fetched, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return target


def find_file(entry: dict, manifest_path=None, search: Optional[Sequence] = None, download: bool = True) -> Path:
    """The verified file of a release: ``search`` folders, the manifest's folder, the cache
    (``$ZOO_CACHE_DIR/weights``), else the entry's ``url`` downloaded into the cache."""
    dirs = _manifest.search_dirs(manifest_path, list(search or []))
    for folder in dirs:
        path = folder / entry["file"]
        if path.is_file():
            return verify(path, entry)
    where = ", ".join(str(d) for d in dirs)
    if entry.get("url") and download:
        try:
            return _download(entry["url"], entry, _manifest.cache_dir() / entry["file"])
        except ChecksumError:
            raise
        except Exception as error:
            raise FileNotFoundError(f"release {entry['name']!r}: {entry['file']} is not in {where} and "
                                    f"downloading {entry['url']} failed: {error}") from error
    hint = f"recreate it with: {entry['command']}" if not entry.get("url") else "downloads are off"
    raise FileNotFoundError(f"release {entry['name']!r}: {entry['file']} is not in {where}; {hint}")


# ----------------------------------------------------------------------------- strict loading
def model_layout(model) -> Dict[str, tuple]:
    """The layout ``model.save_weights`` writes (what a file must hold to load exactly)."""
    return _model_file(model)[0]


def _model_file(model):
    """``(layout, layer names)`` of the file ``model.save_weights`` writes."""
    with tempfile.TemporaryDirectory(prefix="zoo-layout-") as folder:
        path = os.path.join(folder, "probe.weights.h5")
        model.save_weights(path)
        return h5_layout(path), h5_layer_names(path)


def h5_layer_names(path) -> Dict[str, str]:
    """``{dataset path: layer name}`` of a ``.weights.h5`` file: Keras stores each layer's name
    in the ``name`` attribute of its ``vars`` group (the dataset paths use class-based names such
    as ``layers/dense_1``); nested layers read ``outer/inner``."""
    import h5py

    names = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if not isinstance(obj, h5py.Dataset):
                    return
                parts, found = name.split("/"), []
                for i in range(1, len(parts)):
                    group = "/".join(parts[:i]) + "/vars"
                    if parts[i - 1] != "vars" and group in f and "name" in f[group].attrs:
                        label = f[group].attrs["name"]
                        label = label.decode() if isinstance(label, bytes) else str(label)
                        if not found or found[-1] != label:
                            found.append(label)
                names[name] = "/".join(found) or name
            f.visititems(visit)
    except OSError as error:
        raise WeightsError(f"{path}: not a readable .weights.h5 file (truncated or corrupt?): {error}") from None
    return names


def describe_layout_difference(expected: Dict[str, tuple], found: Dict[str, tuple],
                               names: Dict[str, str]) -> str:
    """What is missing, unexpected or shaped otherwise, by layer name (and dataset path)."""
    def label(key):
        return f"{names[key]!r} ({key})" if key in names else key

    def listed(what, keys):
        keys = sorted(keys)
        more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
        return f"{what} layer {', '.join(label(k) for k in keys[:3])}{more}" if keys else ""

    shapes = [f"{label(k)}: file {found[k]} vs model {expected[k]}"
              for k in expected if k in found and found[k] != expected[k]]
    return "; ".join(part for part in (listed("missing", set(expected) - set(found)),
                                       listed("unexpected", set(found) - set(expected)),
                                       f"shape {'; '.join(shapes[:3])}" if shapes else "") if part)


def load_strict(model, path, what: Optional[str] = None) -> None:
    """``model.load_weights(path)`` that fails unless the file holds exactly the model's weights.
    ``what`` (e.g. ``"release 'x'"``) goes into the error messages."""
    path = Path(path)
    expected, expected_names = _model_file(model)
    found = h5_layout(path)
    if expected != found:
        names = {**h5_layer_names(path), **expected_names}
        raise WeightsError(f"{path}: does not fit model {model.name!r}" + (f" of {what}" if what else "") + ": "
                           + describe_layout_difference(expected, found, names))
    load_weights_strict(model, path, what or repr(model.name))


# ----------------------------------------------------------------------------- heads and freezing
def _weighted_layers(model) -> Dict[str, object]:
    return {layer.name: layer for layer in model.layers if layer.weights}


def _auto_stem(name: str) -> str:
    return re.sub(r"_\d+$", "", name)


def pair_layers(source, target) -> Dict[str, object]:
    """``{target layer name: source layer}`` for the top-level layers of two builds of one graph.

    Same names pair first. Layers Keras names itself get a per-process counter (a keras-hub
    backbone is ``bert_backbone`` in one build, ``bert_backbone_2`` in the next), so the rest
    pair by class and name without the ``_<n>`` suffix, in graph order.
    """
    src = [layer for layer in source.layers]
    pairs, used = {}, set()
    by_name = {layer.name: layer for layer in src}
    for layer in target.layers:
        if layer.name in by_name:
            pairs[layer.name] = by_name[layer.name]
            used.add(layer.name)
    for layer in target.layers:
        if layer.name in pairs:
            continue
        key = (type(layer).__name__, _auto_stem(layer.name))
        match = next((s for s in src if s.name not in used and (type(s).__name__, _auto_stem(s.name)) == key), None)
        if match is not None:
            pairs[layer.name] = match
            used.add(match.name)
    return pairs


def head_layer_names(full, headless) -> List[str]:
    """Layers of ``full`` (include_top=True) that ``headless`` (include_top=False) lacks."""
    body = {source.name for source in pair_layers(full, headless).values()}
    return [layer.name for layer in full.layers if layer.name not in body]


def transfer(source, target, skip: Iterable[str] = ()) -> List[str]:
    """Copy every weighted layer of ``target`` from its counterpart in ``source``
    (:func:`pair_layers`), except ``skip`` (the new head's names in ``target``). Any other
    layer that has no counterpart or is shaped differently is an error."""
    skip = set(skip)
    pairs = pair_layers(source, target)
    problems, copied = [], []
    for name, layer in _weighted_layers(target).items():
        if name in skip:
            continue
        if name not in pairs or not pairs[name].weights:
            problems.append(f"{name} (not in the release)")
            continue
        values = pairs[name].get_weights()
        shapes = [tuple(v.shape) for v in values]
        wanted = [tuple(w.shape) for w in layer.get_weights()]
        if shapes != wanted:
            problems.append(f"{name} (release {shapes} vs model {wanted})")
            continue
        layer.set_weights(values)
        copied.append(name)
    if problems:
        raise WeightsError("the model's body does not match the release's: " + "; ".join(problems[:5]))
    return copied


def freeze(model, spec: Union[None, str, Sequence[str]], head: Iterable[str] = ()) -> List[str]:
    """Make layer groups non-trainable; returns the frozen layer names.

    ``spec``: ``None``/``"none"`` (nothing), ``"body"`` (every weighted layer outside ``head``:
    a linear probe / head-only fine-tuning), ``"all"``, or layer-name prefixes such as
    ``["blstm_1", "attention"]`` (each prefix must match a layer). Compile after freezing.
    """
    if spec is None or spec == "none":
        return []
    layers = _weighted_layers(model)
    head = set(head)
    if spec == "body":
        chosen = [n for n in layers if n not in head]
    elif spec == "all":
        chosen = list(layers)
    elif isinstance(spec, str):
        raise ValueError(f"freeze must be None, 'none', 'body', 'all' or a list of layer-name prefixes; got {spec!r}")
    else:
        prefixes = list(spec)
        unmatched = [p for p in prefixes if not any(n.startswith(p) for n in layers)]
        if unmatched:
            raise ValueError(f"freeze prefixes {unmatched} match no weighted layer of {model.name!r}; "
                             f"layers: {', '.join(layers)}")
        chosen = [n for n in layers if any(n.startswith(p) for p in prefixes)]
    for name in chosen:
        layers[name].trainable = False
    return chosen
