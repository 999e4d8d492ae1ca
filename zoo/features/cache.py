"""Content-addressed on-disk feature cache.

``FeatureCache(root).get_or_compute(extractor, record)`` returns the extractor's array for
the record, computing it once. The key is the sha256 of

* the source content: the bytes of ``extractor.source_path(record)`` (audio, image,
  video file) or the text of ``extractor.source_text(record)`` (transcripts), plus
  ``extractor.source_extras(record)`` when defined (e.g. a video's start/end times),
* ``extractor.config()`` (every parameter that changes the output),
* the versions of the libraries named in ``extractor.libraries``,

so moving or renaming a corpus keeps its entries, and any change of content, parameters
or library versions gives a new entry. File digests are memoised per process by
(path, size, mtime, inode).

Entries live at ``root/<extractor name>/<key[:2]>/<key>.npy``: a plain ``.npy`` file
followed by a 38-byte trailer (``b"ZOOSUM"`` + sha256 of everything before it).
``np.load(path)`` still reads it; the cache checks the trailer, so a truncated or
corrupted entry is detected, recomputed and counted in ``stats.recomputed``. Entries are
written to a temporary file in the same folder and moved into place with ``os.replace``
(atomic, :mod:`zoo.io`): an exception while computing or writing leaves no file behind.

A cache folder that cannot be written (read-only, full disk, no permission: any ``OSError``
while storing) does not stop extraction: the array is returned uncached, one
:class:`CacheWriteWarning` per cache object names the folder and the error, and every entry
not stored is counted in ``stats.unwritten``. Existing entries are still read.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import warnings
from pathlib import Path
from typing import Dict, Iterable, Tuple

import numpy as np

from zoo import io as _io

from .base import FeatureError

CACHE_FORMAT = 1
_MAGIC = b"ZOOSUM"
_TRAILER = len(_MAGIC) + 32


@functools.lru_cache(maxsize=None)
def library_version(distribution: str) -> str:
    """Installed version of a distribution (``"absent"`` when not installed)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def library_versions(distributions: Iterable[str]) -> Dict[str, str]:
    return {name: library_version(name) for name in sorted(set(distributions))}


class CacheWriteWarning(RuntimeWarning):
    """The cache folder cannot be written: features are computed without being stored."""


@dataclasses.dataclass
class CacheStats:
    """Counts since the cache object was made: hits, misses (computed), recomputed (corrupt
    entries), unwritten (computed entries that could not be stored: read-only or full folder)."""

    hits: int = 0
    misses: int = 0
    recomputed: int = 0
    unwritten: int = 0


class FeatureCache:
    """Reusable ``.npy`` entries keyed by source content + extractor config + library versions."""

    def __init__(self, root):
        self.root = Path(root)
        self.stats = CacheStats()
        self._warned = False
        self._digests: Dict[str, Tuple[Tuple[int, int, int], str]] = {}

    # -- keys -----------------------------------------------------------------------
    def file_digest(self, path) -> str:
        """sha256 of a file's bytes, memoised by (size, mtime_ns, inode)."""
        path = os.fspath(path)
        try:
            st = os.stat(path)
        except OSError as error:
            raise FeatureError(path, f"cannot read source file ({error.strerror})") from error
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        memo = self._digests.get(path)
        if memo is not None and memo[0] == stamp:
            return memo[1]
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        self._digests[path] = (stamp, digest.hexdigest())
        return digest.hexdigest()

    def source_digest(self, extractor, record) -> str:
        if hasattr(extractor, "source_text"):
            return "text:" + hashlib.sha256(extractor.source_text(record).encode("utf-8")).hexdigest()
        path = extractor.source_path(record)
        if path is None:
            raise FeatureError(record.utterance_id, f"{extractor.name}: record has no source file")
        return "file:" + self.file_digest(path)

    def key(self, extractor, record) -> str:
        extras = extractor.source_extras(record) if hasattr(extractor, "source_extras") else None
        payload = {
            "format": CACHE_FORMAT,
            "extractor": extractor.name,
            "config": extractor.config(),
            "source": self.source_digest(extractor, record),
            "extras": extras,
            "versions": library_versions(getattr(extractor, "libraries", ("numpy",))),
        }
        blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    def path(self, extractor, record) -> Path:
        key = self.key(extractor, record)
        return self.root / extractor.name / key[:2] / f"{key}.npy"

    # -- entries --------------------------------------------------------------------
    def get_or_compute(self, extractor, record) -> np.ndarray:
        """The cached array for (extractor, record); computed and stored on a miss."""
        entry = self.path(extractor, record)
        if entry.exists():
            array = self._read(entry)
            if array is not None:
                self.stats.hits += 1
                return array
            self.stats.recomputed += 1
        else:
            self.stats.misses += 1
        array = np.asarray(extractor.extract(record))
        self._write(entry, array)
        return array

    def get(self, extractor, record):
        """The cached array for (extractor, record), or None (a miss, counted; a corrupt entry is
        counted in ``recomputed``). With :meth:`put`, for callers that compute many records at
        once (``zoo.features.frozen.encode``)."""
        entry = self.path(extractor, record)
        array = self._read(entry) if entry.exists() else None
        if array is not None:
            self.stats.hits += 1
        elif entry.exists():
            self.stats.recomputed += 1
        else:
            self.stats.misses += 1
        return array

    def put(self, extractor, record, array) -> None:
        """Store ``array`` as the entry of (extractor, record) (atomically; see :meth:`_write`)."""
        self._write(self.path(extractor, record), np.asarray(array))

    def _read(self, entry: Path):
        """The stored array, or None when the entry is truncated or corrupt."""
        try:
            data = entry.read_bytes()
        except OSError:
            return None
        body, trailer = data[:-_TRAILER], data[-_TRAILER:]
        if len(data) <= _TRAILER or trailer[:len(_MAGIC)] != _MAGIC:
            return None
        if hashlib.sha256(body).digest() != trailer[len(_MAGIC):]:
            return None
        try:
            return np.load(io.BytesIO(body), allow_pickle=False)
        except Exception:
            return None

    def _write(self, entry: Path, array: np.ndarray) -> None:
        """Store the entry; an ``OSError`` (read-only or full folder) leaves it unstored, counted
        in ``stats.unwritten`` and reported once per cache object."""
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        body = buffer.getvalue()
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            # No folder fsync: a lost rename only costs a recomputation (the trailer catches the rest).
            _io.atomic_write_bytes(entry, body + _MAGIC + hashlib.sha256(body).digest(), sync_dir=False)
        except OSError as error:
            self.stats.unwritten += 1
            if not self._warned:
                self._warned = True
                warnings.warn(f"feature cache {self.root}: cannot store entries ({error}); computing "
                              f"features without caching (counted in stats.unwritten)", CacheWriteWarning,
                              stacklevel=3)

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r}, {self.stats})"
