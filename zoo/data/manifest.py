"""A generic manifest CSV, so any corpus can be used without new code.

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
The file is read as ``encoding`` (default UTF-8, a byte-order mark is dropped).

Which labels a row may carry (``labels=``):

- ``None`` (default): a known emotion name or alias, i.e. one of
  :data:`zoo.data.labels.KNOWN_LABELS` after canonicalisation (``Anger``, ``joy``,
  ``fear`` ... are fine). Anything else (``angyr``, ``xyz123``) is an ``unknown_label``
  problem naming the CSV line (with the closest known name), never a new class.
- a sequence of names: this manifest's own label set (custom classes such as
  ``["positive", "negative"]``); only those are accepted (compared after canonicalisation
  unless ``canonical_labels=False``).
- ``"any"``: every non-empty label is accepted as written (no typo check).

``classes`` then selects among the accepted labels: ``"all"``, ``"4"`` / ``"7"`` (the
IEMOCAP sets) or a sequence of names. A row whose label is accepted but not selected is an
``excluded_class`` skip (a protocol choice, never an error); asking for a class outside the
accepted labels is a ``ValueError``.

Bad input: a missing root/CSV, a CSV without the required columns, a byte that is not
valid in ``encoding`` or a CSV syntax error (NUL byte, unterminated quote) raises
``CorpusError`` naming the file and line. A row with more or fewer fields than the header
(``malformed_row``), a missing audio/image/video file, an empty path, an unknown label
(``unknown_label``), a non-numeric or out-of-range V/A/D, a bad gender, sample rate or time,
or a duplicate id is a counted skip naming the CSV line (``strict=True`` raises).
"""
from __future__ import annotations

import os

from .labels import KNOWN_LABELS, canonical_label, resolve_classes, suggest_label
from .records import CorpusError, LoadResult, Problems, Record, csv_rows, require_dir, with_audio_fields

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


def _columns(fieldnames, csv_path, line: int = 1) -> dict:
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
        raise CorpusError(csv_path, "manifest needs a 'path' column", line)
    if not ({"label", "valence", "arousal", "dominance"} & set(found)):
        raise CorpusError(csv_path, "manifest needs a 'label' or valence/arousal/dominance column", line)
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


def _fold(name) -> str:
    return str(name).strip().lower()


def label_rule(labels=None, canonical_labels: bool = True):
    """``(accepted names or None = any, key)`` for the ``labels=`` option.

    Labels are compared as ``key(label)``: :func:`canonical_label` (case, aliases), or only
    case-folded when a custom set is given with ``canonical_labels=False``.
    """
    if labels is None:
        return KNOWN_LABELS, canonical_label
    key = canonical_label if canonical_labels else _fold
    if isinstance(labels, str):
        if labels.strip().lower() == "any":
            return None, key
        raise ValueError(f"labels={labels!r}: expected None, 'any' or a sequence of label names")
    names = tuple(key(n) for n in labels)
    if not names or len(set(names)) != len(names) or not all(names):
        raise ValueError(f"labels={labels!r}: need distinct non-empty label names"
                         + ("" if not canonical_labels else " (after alias mapping; canonical_labels=False "
                            "keeps aliases apart)"))
    return frozenset(names), key


def selected_classes(classes, accepted, key):
    """The ``classes`` option as keys; a class that is not an accepted label is a ValueError."""
    keep = resolve_classes(classes)
    if keep is None:
        return None
    if not isinstance(classes, (str, int)):
        keep = tuple(key(c) for c in classes)
    if accepted is not None:
        unknown = [c for c in keep if c not in accepted]
        if unknown:
            hints = "".join(f"; did you mean {h!r} for {c!r}?" for c in unknown
                            if (h := suggest_label(c, accepted)) is not None)
            where = ("known labels (pass labels=[...] for a custom label set)" if accepted is KNOWN_LABELS
                     else f"labels= {sorted(accepted)}")
            raise ValueError(f"classes={classes!r}: {unknown} not among the {where}{hints}")
    return keep


def load(root, classes="all", filename: str = "manifest.csv", corpus=None, split=None,
         vad_range=(-1.0, 1.0), labels=None, canonical_labels: bool = True, check_paths: bool = True,
         encoding: str = "utf-8", strict: bool = False, probe_audio: bool = False) -> LoadResult:
    """Read a manifest CSV (see the module docstring for columns and options).

    Args:
        classes: ``"all"``, ``"4"``/``"7"`` or a sequence of label names (others become
            ``excluded_class``); every name must be an accepted label (``labels``).
        labels: the accepted labels: ``None`` = known emotion names and aliases,
            a sequence = this manifest's own label set, ``"any"`` = no check.
        split: keep only rows whose ``split`` equals this (others ``excluded_split``).
        vad_range: the scale of the V/A/D columns, mapped linearly to [-1, 1].
        check_paths: skip rows whose audio/image/video file does not exist.
        encoding: the CSV's text encoding.
    """
    if not os.path.exists(os.fspath(root)):
        require_dir(root, CORPUS, "a manifest CSV or a folder holding one")
    csv_path = resolve_csv(root, filename, CORPUS)
    base_dir = os.path.dirname(os.path.abspath(csv_path))
    accepted, key = label_rule(labels, canonical_labels)
    keep = selected_classes(classes, accepted, key)
    lo, hi = (float(v) for v in vad_range)
    problems = Problems(strict)
    records, seen = [], set()
    rows = csv_rows(csv_path, encoding)
    if not rows:
        raise CorpusError(csv_path, "empty manifest (no header row)", 1)
    header_line, header = rows[0]
    cols = _columns(header, csv_path, header_line)
    used = set(cols.values())
    for lineno, fields in rows[1:]:
        if len(fields) != len(header):
            problems.bad("malformed_row", csv_path,
                         f"{len(fields)} fields, the header has {len(header)} ({','.join(header)})", lineno)
            continue
        row = dict(zip(header, fields))
        cell = {k: (row.get(v) or "").strip() for k, v in cols.items()}
        try:
            record = _row_record(cell, row, used, base_dir, keep, (lo, hi), corpus, split,
                                 (accepted, key, canonical_labels), check_paths, seen, problems)
        except _BadRow as bad:
            problems.bad(bad.reason, bad.path or csv_path,
                         bad.problem if bad.path is None else f"{bad.problem} (at {csv_path}:{lineno})",
                         lineno if bad.path is None else None)
            continue
        if record is None:
            continue
        record = with_audio_fields(record, probe_audio, problems)
        if record is not None:
            records.append(record)
    return LoadResult(records, problems.report)


def _label(raw: str, rule) -> tuple:
    """``(key, label as stored)`` of a row's label; ``_BadRow("unknown_label")`` when the
    ``labels=`` rule does not accept it."""
    accepted, key, canonical_labels = rule
    name = key(raw)
    if accepted is not None and name not in accepted:
        hint = suggest_label(raw, accepted)
        raise _BadRow("unknown_label", f"unknown label {raw!r}"
                      + (f" (did you mean {hint!r}?)" if hint else "")
                      + ("; pass labels=[...] to declare this manifest's own label set"
                         if accepted is KNOWN_LABELS else f"; accepted: {sorted(accepted)}"))
    return name, (canonical_label(raw) if canonical_labels else str(raw).strip())


def _row_record(cell, row, used, base_dir, keep, vad_range, corpus, split, label_rule,
                check_paths, seen, problems):
    if not cell["path"]:
        raise _BadRow("malformed_row", "empty path")
    label_key, label = _label(cell["label"], label_rule) if cell.get("label") else (None, None)
    audio_path = resolve_path(base_dir, cell["path"])
    if check_paths and not os.path.isfile(audio_path):
        raise _BadRow("missing_audio", "audio file not found", audio_path)
    uid = cell.get("utterance_id") or os.path.splitext(os.path.basename(audio_path))[0]

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
    if keep is not None and label_key not in keep:
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
