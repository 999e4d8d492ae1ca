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


def filename_record(path, *, corpus: str, label: str, speaker_code: str, sample_rate: Optional[int],
                    extra: dict, **fields) -> Record:
    """The record of a corpus whose labels are in its file names (EmoDB, RAVDESS, CREMA-D).

    Speaker and session are ``<corpus>_<speaker_code>``; ``utterance_id`` is the file stem.
    Class selection, duplicate checks and header probing are :func:`finish_records`' job.
    """
    speaker = f"{corpus}_{speaker_code}"
    return Record(utterance_id=os.path.splitext(os.path.basename(path))[0], corpus=corpus, audio_path=path,
                  sample_rate=sample_rate, speaker=speaker, session=speaker, label=label,
                  extra=dict(extra), **fields)


def finish_records(records, *, keep, probe_audio: bool, problems: "Problems",
                   check_duplicates: bool = True) -> list:
    """Duplicates, then class selection, then header probing, for file-name-labelled corpora.

    1. ``check_duplicates``: files with identical bytes (:func:`duplicate_groups`). Copies
       that agree on label and speaker keep the first (sorted path) and count the others
       as ``duplicate_audio``; copies that disagree are all ``duplicate_audio_conflict``
       (which label is right cannot be known). Then a file name seen twice (different
       bytes, e.g. two copies of one actor folder) is a ``duplicate_utterance`` for the
       later one. Both are problems (``strict=True`` raises).
    2. labels outside ``keep`` are ``excluded_class`` skips (done after 1, so what a class
       keeps does not depend on which other classes were asked for).
    3. ``probe_audio``: header read; an unreadable file is an ``unreadable_audio`` problem.
    """
    records = list(records)
    if check_duplicates:
        dropped = set()
        for group in duplicate_groups([r.audio_path for r in records]):
            members = [r for r in records if r.audio_path in group]
            if len({(r.label, r.speaker) for r in members}) == 1:
                for r in members[1:]:
                    dropped.add(r.audio_path)
                    problems.bad("duplicate_audio", r.audio_path, f"same bytes as {members[0].audio_path}")
            else:
                for r in members:
                    dropped.add(r.audio_path)
                    others = ", ".join(f"{o.audio_path} ({o.label}, {o.speaker})" for o in members if o is not r)
                    problems.bad("duplicate_audio_conflict", r.audio_path,
                                 f"same bytes as {others} but labelled ({r.label}, {r.speaker})")
        records = [r for r in records if r.audio_path not in dropped]
        first = {}
        unique = []
        for r in records:
            if r.utterance_id in first:
                problems.bad("duplicate_utterance", r.audio_path,
                              f"file name {r.utterance_id!r} already read from {first[r.utterance_id]}")
                continue
            first[r.utterance_id] = r.audio_path
            unique.append(r)
        records = unique
    out = []
    for r in records:
        if keep is not None and r.label not in keep:
            problems.skip("excluded_class", f"{r.audio_path} ({r.label})")
            continue
        probed = with_audio_fields(r, probe_audio, problems)
        if probed is not None:
            out.append(probed)
    return out


def file_digest(path, chunk: int = 1 << 20) -> str:
    """SHA-1 of a file's bytes."""
    import hashlib

    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def duplicate_groups(paths) -> list:
    """Groups (sorted lists, in input order) of paths whose files have identical bytes.

    Only files of equal size are hashed, so a corpus without size collisions costs one
    ``stat`` per file. Unreadable files are left out (probing reports them).
    """
    by_size = {}
    for path in paths:
        try:
            by_size.setdefault(os.path.getsize(path), []).append(path)
        except OSError:
            continue
    groups = []
    for same_size in by_size.values():
        if len(same_size) < 2:
            continue
        by_digest = {}
        for path in same_size:
            try:
                by_digest.setdefault(file_digest(path), []).append(path)
            except OSError:
                continue
        groups.extend(g for g in by_digest.values() if len(g) > 1)
    order = {p: i for i, p in enumerate(paths)}
    return sorted((sorted(g, key=order.__getitem__) for g in groups), key=lambda g: order[g[0]])


def _decode_problem(data: bytes, error: UnicodeDecodeError, encoding: str) -> tuple:
    """(line, problem) of a decode error at byte ``error.start`` of ``data``."""
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    bad = data[error.start:error.end]
    return line, (f"not valid {encoding} text: byte{'s' if len(bad) > 1 else ''} "
                  f"{bad.hex(' ')} at column {column} ({error.reason})")


def read_text(path, encoding: str = "utf-8") -> str:
    """The whole text of ``path`` (a UTF-8 byte-order mark dropped); undecodable bytes raise
    ``CorpusError`` naming the file, line and column (never a bare codec error)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line, problem = _decode_problem(data, err, encoding)
        raise CorpusError(path, problem + "; re-save it as UTF-8 or pass encoding=", line) from None


def decoded_lines(path, encoding: str = "utf-8"):
    """``(line_number, text, problem)`` per line of ``path``, without line ends.

    ``problem`` is ``None`` for a line that decodes; otherwise ``text`` is the line decoded
    with U+FFFD replacements (only to find e.g. an utterance id in it) and ``problem`` says
    which byte failed: the caller counts or raises it, never keeps the replaced text.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for lineno, raw in enumerate(data.splitlines(), start=1):
        try:
            yield lineno, raw.decode(encoding), None
        except UnicodeDecodeError as err:
            _, problem = _decode_problem(raw, err, encoding)
            yield lineno, raw.decode(encoding, errors="replace"), problem


def text_lines(path, problems: "Problems", encoding: str = "utf-8"):
    """``(line_number, text)`` of the lines of ``path`` that decode; the others are
    ``undecodable_line`` problems naming file and line (``strict=True`` raises)."""
    for lineno, text, problem in decoded_lines(path, encoding):
        if problem is not None:
            problems.bad("undecodable_line", path, problem, lineno)
            continue
        yield lineno, text


def csv_rows(path, encoding: str = "utf-8") -> list:
    """``[(first_line_number, fields)]`` of a CSV file; blank lines are left out.

    The line number is where the row starts (a quoted cell may span lines). Undecodable
    bytes and CSV syntax errors (NUL byte, unterminated quote) raise ``CorpusError``
    naming the line.
    """
    import csv
    import io

    text = read_text(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return rows
        except csv.Error as err:
            raise CorpusError(path, f"CSV syntax error ({err})", start) from None
        if fields:
            rows.append((start, fields))


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


def with_audio_fields(record: Record, probe: bool, problems: "Problems") -> Optional[Record]:
    """``record`` with :func:`audio_fields` of its file: the header's sample rate, channels and
    duration (in ``extra``) with ``probe``, else as it is; None when the file is unreadable
    (an ``unreadable_audio`` problem)."""
    audio = audio_fields(record.audio_path, record.sample_rate, probe, problems)
    if audio is None:
        return None
    sample_rate, header = audio
    record.extra.update(header)
    return record.replace(sample_rate=sample_rate)
