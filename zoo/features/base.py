"""The extractor contract shared by every feature family, the cache and the pipelines.

An extractor maps one :class:`zoo.data.records.Record` to one ``numpy`` array. It is
configured at construction; ``config()`` returns everything that changes its output (the
cache key is built from it, the audio content hash and the library versions).
"""
from __future__ import annotations

import abc
import os
from typing import Optional, Tuple

import numpy as np


class FeatureError(ValueError):
    """A record whose input cannot give a valid feature. Names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


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

    def __call__(self, record) -> np.ndarray:
        return self.extract(record)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"
