"""SIER-style speech+image CSV (ParallelNet's corpus).

IIT-R SIER is released only on signed request, with no public schema. The same group's
public text+image set uses a CSV ``label,text,image`` with integer labels 0-3 = happy,
sad, hate, anger. We read ``label,speech,image[,text]`` with paths relative to the CSV.
A header row is optional: when the first row names ``label`` and ``speech`` columns they
are used by name (any order; also ``speaker``, ``split``), otherwise the columns are
positional. Labels are integers (indices into ``label_names``, default
``("happy", "sad", "hate", "angry")`` = the group's order, "anger" written canonically) or
names (canonicalised, must be in ``label_names``).

``classes``: ``"all"`` (default: every name of ``label_names``) or a subset of
``label_names`` such as ``["happy", "sad"]``; rows with another SIER label are
``excluded_class`` skips. A requested name outside ``label_names`` is a ``ValueError``;
so are the IEMOCAP presets ``"4"``/``"7"`` unless ``label_names`` hold all their names
(the default SIER set has ``hate``, not ``neutral``).

``root`` is the CSV file or a folder holding exactly one ``*.csv`` (or ``filename=``),
read as ``encoding`` (default UTF-8).
``utterance_id`` is the speech path relative to the CSV, without extension; speaker and
session come from a ``speaker`` column when there is one. ``sample_rate`` is ``None``
unless ``probe_audio=True``.

Bad input: a missing root / CSV, a folder with several CSVs and no ``filename``, a byte
not valid in ``encoding`` or a CSV syntax error raises ``CorpusError`` naming the file (and
line). A row with too few or too many fields (more than the header, or than
``label,speech,image,text`` without one: ``malformed_row``), an integer label out of range,
a label name outside ``label_names`` (``unknown_label``), a missing speech or image file,
or a duplicate id is a counted skip naming the CSV line (``strict=True`` raises).
"""
from __future__ import annotations

import os

from .labels import SIER_LABEL_NAMES, canonical_label, select_classes
from .manifest import resolve_csv, resolve_path
from .records import CorpusError, LoadResult, Problems, Record, audio_fields, csv_rows

CORPUS = "sier"


def _csv_path(root, filename) -> str:
    root = os.fspath(root)
    if filename is None and os.path.isdir(root):
        csvs = sorted(n for n in os.listdir(root) if n.lower().endswith(".csv") and not n.startswith("._"))
        if len(csvs) != 1:
            raise CorpusError(root, f"expected exactly one .csv (found {csvs}); pass filename=")
        filename = csvs[0]
    if not os.path.exists(root):
        raise CorpusError(root, "sier root does not exist")
    return resolve_csv(root, filename or "", CORPUS)


def label_set(classes="all", label_names=SIER_LABEL_NAMES) -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    names = tuple(canonical_label(n) for n in label_names)
    keep = select_classes(classes, names, CORPUS)
    return names if keep is None else keep


def load(root, classes="all", label_names=SIER_LABEL_NAMES, filename=None, check_paths: bool = True,
         encoding: str = "utf-8", strict: bool = False, probe_audio: bool = False) -> LoadResult:
    """Read a ``label,speech,image[,text]`` CSV (see the module docstring)."""
    csv_path = _csv_path(root, filename)
    base_dir = os.path.dirname(os.path.abspath(csv_path))
    names = tuple(canonical_label(n) for n in label_names)
    if len(set(names)) != len(names):
        raise ValueError(f"label_names={label_names!r}: need distinct names")
    keep = select_classes(classes, names, CORPUS)
    problems = Problems(strict)
    records, seen = [], set()
    rows = csv_rows(csv_path, encoding)
    header = [c.strip().lower() for c in rows[0][1]] if rows else []
    if {"label", "speech"} <= set(header):
        index = {name: header.index(name) for name in ("label", "speech", "image", "text", "speaker", "split")
                 if name in header}
        width, layout = len(header), ",".join(header)
        body = rows[1:]
    else:
        index = {"label": 0, "speech": 1, "image": 2, "text": 3}
        width, layout = None, "label,speech,image[,text]"
        body = rows
    need = max(index[k] for k in ("label", "speech", "image") if k in index) + 1
    for lineno, row in body:
        if not any(c.strip() for c in row):
            continue
        if len(row) < need or len(row) > (width or 4) or (width is not None and len(row) != width):
            problems.bad("malformed_row", csv_path, f"expected {layout}, got {len(row)} fields {row}", lineno)
            continue
        cell = {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}
        raw = cell["label"]
        if raw.lstrip("-").isdigit():
            if not 0 <= int(raw) < len(names):
                problems.bad("unknown_label", csv_path, f"label {raw} outside 0..{len(names) - 1}", lineno)
                continue
            label = names[int(raw)]
        else:
            label = canonical_label(raw)
            if label not in names:
                problems.bad("unknown_label", csv_path, f"label {raw!r} not in {list(names)}", lineno)
                continue
        if keep is not None and label not in keep:
            problems.skip("excluded_class", f"{csv_path}:{lineno} ({label})")
            continue
        if not cell["speech"]:
            problems.bad("malformed_row", csv_path, "empty speech path", lineno)
            continue
        speech = resolve_path(base_dir, cell["speech"])
        image = resolve_path(base_dir, cell["image"]) if cell.get("image") else None
        missing = [(k, p) for k, p in (("audio", speech), ("image", image))
                   if p is not None and check_paths and not os.path.isfile(p)]
        if missing:
            kind, path = missing[0]
            problems.bad(f"missing_{kind}", path, f"{kind} file listed at {csv_path}:{lineno} not found")
            continue
        uid = os.path.splitext(os.path.relpath(speech, base_dir))[0].replace(os.sep, "/")
        if uid in seen:
            problems.bad("duplicate_utterance", csv_path, f"speech file {cell['speech']!r} listed twice", lineno)
            continue
        seen.add(uid)
        audio = audio_fields(speech, None, probe_audio, problems)
        if audio is None:
            continue
        sample_rate, header_info = audio
        speaker = cell.get("speaker") or None
        extra = {"raw_label": raw, **header_info}
        if cell.get("split"):
            extra["split"] = cell["split"]
        records.append(Record(
            utterance_id=uid, corpus=CORPUS, audio_path=speech, sample_rate=sample_rate,
            speaker=speaker, session=speaker, label=label, transcript=cell.get("text") or None,
            image_path=image, extra=extra,
        ))
    return LoadResult(records, problems.report)
