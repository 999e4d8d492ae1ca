"""The one record type shared by every corpus loader, and the load report.

A loader turns a corpus as distributed into a list of :class:`Record` plus a
:class:`LoadReport` that counts (and names a few examples of) everything it skipped.
Nothing is dropped silently: a problem is either a :class:`CorpusError` naming the
file, line and problem, or a counted skip.
"""
from __future__ import annotations

import dataclasses
import os
from collections import Counter
from typing import Any, NamedTuple, Optional


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


class LoadResult(NamedTuple):
    """What every loader returns: the records and the report of what was skipped."""

    records: list
    report: LoadReport


class Problems:
    """How a loader handles bad input: a counted skip by default, a CorpusError when strict.

    ``bad(reason, path, problem, line)`` either raises ``CorpusError(path, problem, line)``
    (``strict=True``) or records a skip under ``reason`` whose example names file, line
    and problem. ``skip`` always just counts (for expected exclusions such as a class
    outside the requested set, which are never errors).
    """

    def __init__(self, strict: bool = False, report: Optional[LoadReport] = None):
        self.strict = bool(strict)
        self.report = report if report is not None else LoadReport()

    def bad(self, reason: str, path, problem: str, line: Optional[int] = None) -> None:
        error = CorpusError(path, problem, line)
        if self.strict:
            raise error
        self.report.skip(reason, str(error))

    def skip(self, reason: str, example) -> None:
        self.report.skip(reason, str(example))


def read_audio_header(path) -> dict:
    """Sample rate, channels, frames and duration from the file header (no decoding).

    Raises ``CorpusError`` when the file cannot be opened as audio.
    """
    import soundfile  # local import: loaders only need it when probing audio

    try:
        info = soundfile.info(str(path))
    except Exception as exc:  # soundfile raises RuntimeError / LibsndfileError
        raise CorpusError(path, f"unreadable audio file ({exc})") from None
    return {
        "sample_rate": int(info.samplerate),
        "channels": int(info.channels),
        "frames": int(info.frames),
        "duration": float(info.frames) / float(info.samplerate) if info.samplerate else 0.0,
    }


def require_dir(root, corpus: str, expected: str) -> str:
    """``root`` as a string; ``CorpusError`` when it is missing or not a directory."""
    import os

    root = os.fspath(root)
    if not os.path.exists(root):
        raise CorpusError(root, f"{corpus} root does not exist (expected {expected})")
    if not os.path.isdir(root):
        raise CorpusError(root, f"{corpus} root is not a directory (expected {expected})")
    return root


def walk_files(root: str, suffixes, problems: "Problems") -> list:
    """Sorted paths under ``root`` ending in one of ``suffixes`` (case-insensitive).

    Stray ``._*`` AppleDouble files are counted as ``appledouble`` skips and left out.
    """
    import os

    suffixes = tuple(s.lower() for s in suffixes)
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if not name.lower().endswith(suffixes):
                continue
            if name.startswith("._"):
                problems.skip("appledouble", os.path.join(folder, name))
                continue
            found.append(os.path.join(folder, name))
    return found


def filename_record(path, *, corpus: str, label: str, keep, speaker_code: str, sample_rate: Optional[int],
                    probe_audio: bool, problems: "Problems", extra: dict, **fields) -> Optional[Record]:
    """The record of a corpus whose labels are in its file names (EmoDB, RAVDESS, CREMA-D).

    A label outside ``keep`` is a counted ``excluded_class`` skip and an unreadable header a
    counted problem (``None`` then); speaker and session are ``<corpus>_<speaker_code>``.
    """
    if keep is not None and label not in keep:
        problems.skip("excluded_class", f"{path} ({label})")
        return None
    audio = audio_fields(path, sample_rate, probe_audio, problems)
    if audio is None:
        return None
    rate, header = audio
    speaker = f"{corpus}_{speaker_code}"
    return Record(utterance_id=os.path.splitext(os.path.basename(path))[0], corpus=corpus, audio_path=path,
                  sample_rate=rate, speaker=speaker, session=speaker, label=label,
                  extra={**extra, **header}, **fields)


def audio_fields(path, default_rate: Optional[int], probe: bool, problems: "Problems"):
    """``(sample_rate, extra)`` for a record: the corpus' documented rate, or the header's.

    With ``probe`` the header is read (``extra`` gets channels and duration); an unreadable
    file is a ``unreadable_audio`` problem and ``None`` is returned.
    """
    if not probe:
        return default_rate, {}
    try:
        header = read_audio_header(path)
    except CorpusError as err:
        problems.bad("unreadable_audio", path, err.problem)
        return None
    return header["sample_rate"], {"channels": header["channels"], "duration": header["duration"]}
