"""A generic manifest CSV, so any corpus can be used without new code (DATA.md §1).

Columns (header row required, names case-insensitive):

- ``path`` (or ``audio_path`` / ``audio``): the audio file, relative to the CSV's folder
  unless absolute. Required.
- ``label`` (or ``emotion``) and/or ``valence``/``arousal``/``dominance``: at least one.
  Labels are canonicalised (``anger`` -> ``angry``, ``happiness`` -> ``happy``, see
  :data:`zoo.data.labels.SYNONYMS`) unless ``canonical_labels=False``. V/A/D must lie in
  ``vad_range`` (default [-1, 1]) and are mapped linearly from it to [-1, 1].
- optional: ``speaker``, ``split``, ``session`` (default: the speaker), ``gender``
  (F/M/female/male), ``text`` (or ``transcript``), ``image`` (or ``image_path``),
  ``video`` (or ``video_path``), ``utterance_id`` (or ``id``; default: the audio file
  stem), ``sample_rate``, ``start``, ``end``, ``corpus`` (or ``dataset``; default
  ``"manifest"``; the ``corpus=`` option overrides). Any other column goes to ``extra``.

``root`` is the CSV file or a folder holding ``manifest.csv`` (``filename=`` to change).

Bad input: a missing root/CSV or a CSV without the required columns raises
``CorpusError``. A row with a missing audio/image/video file, an empty or unknown label
(when ``classes`` is a list, labels outside it are ``excluded_class`` skips instead), a
non-numeric or out-of-range V/A/D, a bad gender, sample rate or time, or a duplicate id is a
counted skip naming the CSV line (``strict=True`` raises).
"""
from __future__ import annotations

import csv
import os

from .labels import canonical_label, resolve_classes
from .records import CorpusError, LoadResult, Problems, Record, audio_fields, require_dir

CORPUS = "manifest"
ALIASES = {
    "path": ("path", "audio_path", "audio"),
    "label": ("label", "emotion"),
    "text": ("text", "transcript"),
    "image": ("image", "image_path"),
    "video": ("video", "video_path"),
    "utterance_id": ("utterance_id", "id"),
    "corpus": ("corpus", "dataset"),
}
SIMPLE = ("valence", "arousal", "dominance", "speaker", "split", "session", "gender",
          "sample_rate", "start", "end")
GENDERS = {"f": "F", "female": "F", "w": "F", "m": "M", "male": "M"}


def resolve_csv(root, default_name: str, corpus: str) -> str:
    """The CSV file named by ``root`` (a file, or a folder holding ``default_name``)."""
    path = os.fspath(root)
    if os.path.isdir(path):
        path = os.path.join(path, default_name)
    if not os.path.isfile(path):
        raise CorpusError(path, f"{corpus}: CSV file not found")
    return path


def resolve_path(base_dir: str, value: str) -> str:
    """A path from a CSV cell, relative to the CSV's folder unless absolute."""
    value = value.strip()
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(base_dir, value))


def _columns(fieldnames, csv_path) -> dict:
    """Logical column name -> header as written in the CSV."""
    lower = {}
    for name in fieldnames or ():
        lower.setdefault(name.strip().lower(), name)
    found = {}
    for logical, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower:
                found[logical] = lower[alias]
                break
    for logical in SIMPLE:
        if logical in lower:
            found[logical] = lower[logical]
    if "path" not in found:
        raise CorpusError(csv_path, "manifest needs a 'path' column", 1)
    if not ({"label", "valence", "arousal", "dominance"} & set(found)):
        raise CorpusError(csv_path, "manifest needs a 'label' or valence/arousal/dominance column", 1)
    return found


class _BadRow(ValueError):
    def __init__(self, reason, problem, path=None):
        super().__init__(problem)
        self.reason, self.problem, self.path = reason, problem, path


def _float(value: str, what: str):
    try:
        return float(value)
    except ValueError:
        raise _BadRow("malformed_row", f"{what} {value!r} is not a number") from None


def load(root, classes="all", filename: str = "manifest.csv", corpus=None, split=None,
         vad_range=(-1.0, 1.0), canonical_labels: bool = True, check_paths: bool = True,
         strict: bool = False, probe_audio: bool = False) -> LoadResult:
    """Read a manifest CSV (see the module docstring for columns and options).

    Args:
        classes: ``"all"`` or a sequence of label names (others become ``excluded_class``).
        split: keep only rows whose ``split`` equals this (others ``excluded_split``).
        vad_range: the scale of the V/A/D columns, mapped linearly to [-1, 1].
        check_paths: skip rows whose audio/image/video file does not exist.
    """
    if not os.path.exists(os.fspath(root)):
        require_dir(root, CORPUS, "a manifest CSV or a folder holding one")
    csv_path = resolve_csv(root, filename, CORPUS)
    base_dir = os.path.dirname(os.path.abspath(csv_path))
    keep = resolve_classes(classes)
    lo, hi = (float(v) for v in vad_range)
    problems = Problems(strict)
    records, seen = [], set()
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = _columns(reader.fieldnames, csv_path)
        used = set(cols.values())
        for lineno, row in enumerate(reader, start=2):
            cell = {k: (row.get(v) or "").strip() for k, v in cols.items()}
            try:
                record = _row_record(cell, row, used, base_dir, keep, (lo, hi), corpus,
                                     split, canonical_labels, check_paths, seen, problems)
            except _BadRow as bad:
                problems.bad(bad.reason, bad.path or csv_path,
                             bad.problem if bad.path is None else f"{bad.problem} (at {csv_path}:{lineno})",
                             lineno if bad.path is None else None)
                continue
            if record is None:
                continue
            audio = audio_fields(record.audio_path, record.sample_rate, probe_audio, problems)
            if audio is None:
                continue
            sample_rate, header = audio
            record.extra.update(header)
            records.append(record.replace(sample_rate=sample_rate))
    return LoadResult(records, problems.report)


def _row_record(cell, row, used, base_dir, keep, vad_range, corpus, split, canonical_labels,
                check_paths, seen, problems):
    if not cell["path"]:
        raise _BadRow("malformed_row", "empty path")
    audio_path = resolve_path(base_dir, cell["path"])
    if check_paths and not os.path.isfile(audio_path):
        raise _BadRow("missing_audio", "audio file not found", audio_path)
    uid = cell.get("utterance_id") or os.path.splitext(os.path.basename(audio_path))[0]

    label = cell.get("label") or None
    if label is not None and canonical_labels:
        label = canonical_label(label)
    lo, hi = vad_range
    vad = {}
    for dim in ("valence", "arousal", "dominance"):
        if cell.get(dim):
            x = _float(cell[dim], dim)
            if not lo <= x <= hi:
                raise _BadRow("malformed_row", f"{dim} {x} outside {list(vad_range)}")
            vad[dim] = 2.0 * (x - lo) / (hi - lo) - 1.0
    if label is None and not vad:
        raise _BadRow("malformed_row", f"{uid}: neither a label nor V/A/D")
    gender = None
    if cell.get("gender"):
        gender = GENDERS.get(cell["gender"].lower())
        if gender is None:
            raise _BadRow("malformed_row", f"gender {cell['gender']!r} is not F/M/female/male")
    sample_rate = None
    if cell.get("sample_rate"):
        sample_rate = _float(cell["sample_rate"], "sample_rate")
        if sample_rate <= 0 or sample_rate != int(sample_rate):
            raise _BadRow("malformed_row", f"sample_rate {cell['sample_rate']!r} is not a positive integer")
        sample_rate = int(sample_rate)
    start = _float(cell["start"], "start") if cell.get("start") else None
    end = _float(cell["end"], "end") if cell.get("end") else None
    media = {}
    for kind in ("image", "video"):
        if cell.get(kind):
            media[kind] = resolve_path(base_dir, cell[kind])
            if check_paths and not os.path.exists(media[kind]):
                raise _BadRow(f"missing_{kind}", f"{kind} file not found", media[kind])
    if uid in seen:
        raise _BadRow("duplicate_utterance", f"utterance id {uid!r} listed twice")
    seen.add(uid)
    if split is not None and cell.get("split") != split:
        problems.skip("excluded_split", f"{uid} ({cell.get('split')})")
        return None
    if keep is not None and label not in keep:
        problems.skip("excluded_class", f"{uid} ({label})")
        return None

    extra = {k.strip(): v.strip() for k, v in row.items() if k not in used and k and v and v.strip()}
    if cell.get("split"):
        extra["split"] = cell["split"]
    speaker = cell.get("speaker") or None
    return Record(
        utterance_id=uid, corpus=corpus or cell.get("corpus") or CORPUS, audio_path=audio_path,
        sample_rate=sample_rate, speaker=speaker, gender=gender,
        session=cell.get("session") or speaker, label=label, transcript=cell.get("text") or None,
        image_path=media.get("image"), video_path=media.get("video"), start=start, end=end,
        extra=extra, **vad,
    )
