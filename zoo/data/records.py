"""The one record type shared by every corpus loader, and the load report.

A loader turns a corpus as distributed into a list of :class:`Record` plus a
:class:`LoadReport` that counts (and names a few examples of) everything it skipped.
Nothing is dropped silently: a problem is either a :class:`CorpusError` naming the
file, line and problem, or a counted skip.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class Record:
    """One utterance of any corpus.

    Dimensional ratings (``valence``, ``arousal``, ``dominance``) are mapped to
    [-1, 1] by the loader. ``session`` is the group used by protocols (IEMOCAP
    session, or the speaker/actor for corpora without sessions). ``start``/``end``
    are seconds inside the dialog (IEMOCAP) when known. ``extra`` holds
    corpus-specific fields (e.g. ``raw_code``, ``improvised``, ``wdseg``/``phseg``
    paths, ``dialog``).
    """

    utterance_id: str
    corpus: str
    audio_path: Optional[str] = None
    sample_rate: Optional[int] = None
    speaker: Optional[str] = None
    gender: Optional[str] = None  # "F" or "M"
    session: Optional[str] = None
    label: Optional[str] = None
    valence: Optional[float] = None
    arousal: Optional[float] = None
    dominance: Optional[float] = None
    transcript: Optional[str] = None
    image_path: Optional[str] = None
    video_path: Optional[str] = None
    start: Optional[float] = None
    end: Optional[float] = None
    extra: dict = dataclasses.field(default_factory=dict, compare=False, hash=False)

    def replace(self, **changes: Any) -> "Record":
        return dataclasses.replace(self, **changes)


class CorpusError(ValueError):
    """Bad corpus input. The message always names the file (and line when known)."""

    def __init__(self, path, problem: str, line: Optional[int] = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclasses.dataclass
class LoadReport:
    """Counts of skipped items by reason, with up to ``max_examples`` examples each."""

    skipped: Counter = dataclasses.field(default_factory=Counter)
    examples: dict = dataclasses.field(default_factory=dict)
    max_examples: int = 5

    def skip(self, reason: str, example: str) -> None:
        self.skipped[reason] += 1
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < self.max_examples:
            bucket.append(str(example))

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def merge(self, other: "LoadReport") -> "LoadReport":
        for reason, n in other.skipped.items():
            self.skipped[reason] += n
            bucket = self.examples.setdefault(reason, [])
            for ex in other.examples.get(reason, []):
                if len(bucket) < self.max_examples:
                    bucket.append(ex)
        return self

    def to_dict(self) -> dict:
        return {
            "total_skipped": self.total_skipped,
            "skipped": dict(self.skipped),
            "examples": {k: list(v) for k, v in self.examples.items()},
        }
