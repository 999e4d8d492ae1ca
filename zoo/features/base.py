"""The extractor contract shared by every feature family, the cache and the pipelines.

An extractor maps one :class:`zoo.data.records.Record` to one ``numpy`` array. It is
configured at construction; ``config()`` returns everything that changes its output (the
cache key is built from it, the audio content hash and the library versions). Audio
extractors also take a file path or a sample array (``extract("a.wav")``,
``extract(samples, sample_rate=16000)``; see :mod:`zoo.features.audio`);
:func:`as_record` turns a path into the Record the others read.

Errors: :class:`FeatureError` names the file and the problem; a subclass may set
``reason``, the skip reason ``zoo.pipeline.compute_features(on_error="skip")`` counts it
under (e.g. :class:`TooShortError`: ``"too short"``).
"""
from __future__ import annotations

import abc
import os
from typing import Optional, Tuple

import numpy as np


class FeatureError(ValueError):
    """A record whose input cannot give a valid feature. Names the file and the problem."""

    #: Skip reason for ``compute_features(on_error="skip")``; ``None``: the generic one.
    reason: Optional[str] = None

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # picklable across worker processes (args are not the message)
        return type(self), (self.path, self.problem)


class TooShortError(FeatureError):
    """Audio shorter than an extractor's minimum duration (counted as ``"too short"``)."""

    reason = "too short"

    def __init__(self, path, problem: str, duration: float, min_duration: float):
        super().__init__(path, problem)
        self.duration, self.min_duration = float(duration), float(min_duration)

    def __reduce__(self):  # picklable across worker processes
        return type(self), (self.path, self.problem, self.duration, self.min_duration)


def as_record(source, field: str = "audio_path"):
    """``source`` as a Record: a Record is returned as is; a path (``str`` / ``os.PathLike``)
    becomes ``Record(utterance_id=<file stem>, corpus="file", <field>=<path>)``."""
    from zoo.data.records import Record

    if isinstance(source, Record):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        return Record(utterance_id=os.path.splitext(os.path.basename(path))[0], corpus="file", **{field: path})
    raise TypeError(f"expected a Record or a file path, got {type(source).__name__}")


def require_source_file(path, kind: str) -> str:
    """``path`` as a string, or a :class:`FeatureError` if the ``kind`` file (``"audio"``,
    ``"image"``, ``"video"``) is missing or empty."""
    path = str(path)
    if not os.path.exists(path):
        raise FeatureError(path, f"{kind} file does not exist")
    if os.path.getsize(path) == 0:
        raise FeatureError(path, f"{kind} file is empty (0 bytes)")
    return path


class Extractor(abc.ABC):
    """Base class of every feature extractor.

    Attributes:
        name: registry name (e.g. ``"mfcc"``).
        shape: output shape with ``None`` for a variable (time / token) axis,
            e.g. ``(None, 40)`` for an MFCC frame sequence or ``(68,)`` for HSF.
        dtype: ``"float32"`` or ``"int32"`` (token ids; 0 is padding).
        pad_value: value used by pipelines when padding the variable axis.
    """

    name: str = ""
    dtype: str = "float32"
    pad_value: float = 0.0

    @property
    @abc.abstractmethod
    def shape(self) -> Tuple[Optional[int], ...]:
        """Output shape, ``None`` where the length varies per record."""

    @abc.abstractmethod
    def config(self) -> dict:
        """JSON-serialisable configuration: everything that changes the output."""

    @abc.abstractmethod
    def extract(self, record) -> np.ndarray:
        """Compute the feature for one record; raise :class:`FeatureError` on bad input."""

    def source_path(self, record) -> Optional[str]:
        """The file whose content the feature depends on (for the cache key)."""
        return record.audio_path

    def __call__(self, source, **options) -> np.ndarray:
        return self.extract(source, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"
