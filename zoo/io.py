"""Files that are either complete or absent: atomic writes, sha256, strict weight loading.

The lowest room of the package: it imports nothing from the rest of ``zoo`` (Keras and h5py
only inside the functions that need them), so every other module may use it.

Atomic writes follow the usual POSIX recipe: write a temporary file in the target's own
folder (same file system, so the rename cannot turn into a copy), ``fsync`` it, move it into
place with ``os.replace`` (atomic: a reader sees the old file or the new one, never a mix),
then ``fsync`` the folder so the rename itself survives a power cut. Any exception on the
way removes the temporary file; a process killed outright (``kill -9``) can leave one behind,
recognisable by :func:`is_temporary` and removed by :func:`remove_temporaries`.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import warnings
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Union

PathLike = Union[str, os.PathLike]

# ".<target name>.<12 hex>.tmp<suffix>": the marker every temporary file of this module carries.
_TEMP = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\..*)?$")
_NAME_LIMIT = 180  # keeps temporary names well under the usual 255-byte limit


class WeightsError(ValueError):
    """A weights file that cannot be used: wrong checksum, truncated, or not this model's."""


# ----------------------------------------------------------------------------- atomic writes
def temporary_name(path: PathLike, suffix: str = "") -> Path:
    """A fresh temporary name beside ``path`` (``.<name>.<random>.tmp<suffix>``)."""
    path = Path(path)
    return path.with_name(f".{path.name[:_NAME_LIMIT]}.{secrets.token_hex(6)}.tmp{suffix}")


def is_temporary(name: Union[str, PathLike]) -> bool:
    """Whether a file name is one of this module's temporary files."""
    return bool(_TEMP.match(Path(name).name))


def remove_temporaries(folder: PathLike) -> List[Path]:
    """Delete temporary files left in ``folder`` by a killed writer; returns what was removed.

    Only for folders with a single writer (a training run folder): in a shared folder another
    process's file being written would be removed too.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if is_temporary(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def fsync_dir(folder: PathLike) -> None:
    """``fsync`` a folder so a rename inside it is durable (best effort: some file systems refuse)."""
    try:
        fd = os.open(os.fspath(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reserve(path: Path, suffix: str, perm: Optional[int]) -> tuple:
    """Create a new, empty temporary file beside ``path``: ``(fd, temporary path)``.

    ``os.open(..., 0o666)`` gives the permissions a plain ``open()`` would (the umask applies),
    unlike ``tempfile.mkstemp``'s 0600; ``perm`` sets them explicitly.
    """
    for _ in range(100):
        tmp = temporary_name(path, suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if perm is not None:
            os.fchmod(fd, perm)
        return fd, tmp
    raise FileExistsError(f"{path.parent}: cannot create a temporary file for {path.name}")


def _commit(tmp: Path, path: Path, sync_dir: bool) -> None:
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", *, encoding: Optional[str] = None,
                 newline: Optional[str] = None, perm: Optional[int] = None,
                 sync_dir: bool = True) -> Iterator[IO]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears complete or not at all.

    ``mode`` is ``"wb"`` or ``"w"`` (text: ``encoding`` defaults to UTF-8). ``perm``: file
    permissions (default: as ``open()`` would create them). ``sync_dir=False`` skips the
    folder ``fsync`` (for caches, where a lost rename only costs a recomputation).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    fd, tmp = _reserve(path, "", perm)
    try:
        if mode == "w":
            handle = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        else:
            handle = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _commit(tmp, path, sync_dir)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str = "", perm: Optional[int] = None,
                sync_dir: bool = True) -> Iterator[Path]:
    """``with atomic_path(path) as tmp: writer(tmp)``: for writers that need a file name.

    ``tmp`` is an empty file beside ``path`` whose name ends with ``suffix`` (Keras'
    ``save_weights`` wants ``.weights.h5``); after the block it is fsynced and renamed to
    ``path``; on an exception it is removed.
    """
    path = Path(path)
    fd, tmp = _reserve(path, suffix, perm)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        _commit(tmp, path, sync_dir)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: PathLike, data: bytes, *, perm: Optional[int] = None, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb", perm=perm, sync_dir=sync_dir) as f:
        f.write(data)


def atomic_write_text(path: PathLike, text: str, *, encoding: str = "utf-8", newline: Optional[str] = None,
                      perm: Optional[int] = None, sync_dir: bool = True) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding, newline=newline, perm=perm, sync_dir=sync_dir) as f:
        f.write(text)


def atomic_write_json(path: PathLike, value, *, indent: Optional[int] = 1, perm: Optional[int] = None,
                      sync_dir: bool = True, **dumps_options) -> None:
    """``json.dumps(value)`` written to ``path`` atomically (the text is made before the file)."""
    atomic_write_text(path, json.dumps(value, indent=indent, **dumps_options), perm=perm, sync_dir=sync_dir)


# ----------------------------------------------------------------------------- digests
def sha256(path: PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- weights files
def h5_layout(path: PathLike, skip: tuple = ("optimizer/",)) -> Dict[str, tuple]:
    """``{dataset path: shape}`` of a ``.weights.h5`` file, leaving out paths starting with ``skip``.

    A file h5py cannot open (truncated, not HDF5) is a :class:`WeightsError` naming it.
    """
    import h5py

    shapes = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Dataset) and not name.startswith(tuple(skip)):
                    shapes[name] = tuple(obj.shape)
            f.visititems(visit)
    except OSError as error:
        raise WeightsError(f"{path}: not a readable .weights.h5 file (truncated or corrupt?): {error}") from None
    return shapes


# What Keras 3 warns when ``load_weights`` leaves variables at their fresh values.
_SKIPPED = ("Skipping", "mismatch", "did not match", "freshly-initialized", "freshly")


def load_weights_strict(model, path: PathLike, what: Optional[str] = None) -> None:
    """``model.load_weights(path)``, but every part of the model must load: Keras 3 only warns
    ("Skipping ... no matching group") and keeps fresh values for what it could not match.

    Raises :class:`WeightsError` naming the file; harmless warnings are re-emitted.
    """
    what = what or repr(getattr(model, "name", "the model"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(os.fspath(path))
        except Exception as error:
            raise WeightsError(f"{path}: cannot load into {what}: {error}") from error
    skipped = [str(w.message) for w in caught if any(k in str(w.message) for k in _SKIPPED)]
    if skipped:
        raise WeightsError(f"{path}: does not fit {what}; Keras skipped parts of it: {skipped[0]}")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
