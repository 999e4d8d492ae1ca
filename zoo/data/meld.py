"""MELD (Poria et al., ACL 2019): the distributed ``{train,dev,test}_sent_emo.csv`` files.

Columns ``Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID, Season,
Episode, StartTime, EndTime`` (quoted where needed; a field may hold commas or newlines).
One record per row: ``transcript`` = ``Utterance``, ``speaker`` (and ``session``) = the
``Speaker`` field as written (``"Chandler"``, ``"The Interviewer"``), ``label`` = the
emotion canonicalised (neutral, joy -> happy, surprise -> surprised, anger -> angry,
sadness -> sad, disgust, fear -> fearful; the raw name in ``extra["raw_emotion"]``),
``utterance_id`` = ``<split>_dia<Dialogue_ID>_utt<Utterance_ID>`` (the release's video
names are ``dia<D>_utt<U>.mp4`` per split; dialogue ids restart in every split).
``extra`` holds ``split``, ``dialog``, ``sentiment``, ``season``, ``episode``,
``start_time``/``end_time`` (the raw ``hh:mm:ss,mmm`` episode times) and ``sr_no``.
Audio and video are not read: ``audio_path`` is ``None``.

The official split is ``extra["split"]`` (train 9,989 / dev 1,109 / test 2,610). It is NOT
speaker-independent: the six main characters speak in every split.

Encoding: files are read as UTF-8 (a BOM is accepted). Some copies of the release hold
Windows-1252 punctuation either as raw bytes (``0x92``, invalid UTF-8) or as C1 control
characters (U+0092, the same byte decoded as Latin-1). With ``repair_cp1252=True`` (the
default) such a field is re-read as Windows-1252 (``0x92`` -> U+2019 ’) and the record is
flagged ``extra["text_repaired"] = "cp1252"`` (countable); a byte or character with no
Windows-1252 meaning, or any of them when ``repair_cp1252=False``, makes the row a counted
``undecodable_text`` skip naming file and line.

Bad input: a missing root or split file, or a header without the ``Utterance, Speaker,
Emotion, Dialogue_ID, Utterance_ID`` columns, raises ``CorpusError``. A row with the wrong
number of fields, an unknown emotion, an empty utterance or speaker, or non-integer ids is a
counted ``malformed_row`` skip; a repeated ``(Dialogue_ID, Utterance_ID)`` in one file a
``duplicate_utterance`` skip; both name the file and line (``strict=True`` raises).
Emotions outside ``classes`` are counted as ``excluded_class``.
"""
from __future__ import annotations

import csv
import io
import os
import re

from .labels import FOUR_BASIC, canonical_label, resolve_classes
from .records import CorpusError, LoadResult, Problems, Record, require_dir

CORPUS = "meld"
SPLITS = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
RAW_EMOTIONS = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
#: The 7 emotions in canonical names, in the order of the MELD README.
MELD_7 = tuple(canonical_label(e) for e in RAW_EMOTIONS)
PRESETS = {"4": FOUR_BASIC, "7": MELD_7}
REQUIRED = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
OPTIONAL = {"Sentiment": "sentiment", "Season": "season", "Episode": "episode",
            "StartTime": "start_time", "EndTime": "end_time", "Sr No.": "sr_no"}
# Lone surrogates from errors="surrogateescape" (undecodable bytes) and C1 controls.
_SUSPECT = re.compile("[\udc80-\udcff\u0080-\u009f]")


def label_set(classes="all") -> tuple:
    names = resolve_classes(classes, PRESETS)
    return names if names is not None else MELD_7


def _splits(split) -> tuple:
    names = tuple(SPLITS) if split in (None, "all") else (split,) if isinstance(split, str) else tuple(split)
    unknown = [s for s in names if s not in SPLITS]
    if unknown or not names:
        raise ValueError(f"split={split!r}: expected 'all', one of {list(SPLITS)} or a sequence of them")
    return names


def fix_cp1252(text: str):
    """``text`` with undecodable bytes / C1 controls re-read as Windows-1252, or ``None``.

    ``None`` when one of them has no Windows-1252 meaning (0x81 0x8D 0x8F 0x90 0x9D).
    """
    def fix(match):
        code = ord(match.group())
        byte = code - 0xDC00 if code >= 0xDC80 else code
        return bytes([byte]).decode("cp1252")

    try:
        return _SUSPECT.sub(fix, text)
    except UnicodeDecodeError:
        return None


def _read_rows(csv_path: str):
    """``(header, [(line, row), ...])`` with the line where each row starts."""
    with open(csv_path, "rb") as fh:
        raw = fh.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    reader = csv.reader(io.StringIO(raw.decode("utf-8", errors="surrogateescape"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CorpusError(csv_path, "empty file (expected a MELD header row)") from None
    except csv.Error as err:
        raise CorpusError(csv_path, f"unreadable CSV header ({err})", 1) from None
    rows, line = [], reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. a quoted field left open up to the end of the file
            raise CorpusError(csv_path, f"CSV syntax error ({err})", line) from None
        rows.append((line, row))
        line = reader.line_num + 1
    return [h.strip() for h in header], rows


def load(root, split="all", classes="all", repair_cp1252: bool = True, strict: bool = False,
         probe_audio: bool = False) -> LoadResult:
    """Read MELD's CSVs under ``root`` (the folder holding ``train_sent_emo.csv`` ...).

    Args:
        split: ``"all"`` (train, dev, test), ``"train"``, ``"dev"``, ``"test"`` or a sequence.
        classes: ``"all"``/``"7"``, ``"4"`` (angry happy sad neutral) or label names.
        repair_cp1252: re-read Windows-1252 punctuation (see the module docstring).
        probe_audio: accepted for the common loader signature; MELD here has no audio.
    """
    root = require_dir(root, CORPUS, "train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv")
    names = _splits(split)
    keep = resolve_classes(classes, PRESETS)
    if keep is not None and set(keep) - set(MELD_7):
        raise ValueError(f"classes={classes!r}: MELD has no {sorted(set(keep) - set(MELD_7))}; "
                         f"its emotions are {list(MELD_7)}")
    problems = Problems(strict)
    records = []
    for name in names:
        csv_path = os.path.join(root, SPLITS[name])
        if not os.path.isfile(csv_path):
            raise CorpusError(csv_path, f"MELD {name} file not found")
        records.extend(_load_file(csv_path, name, keep, repair_cp1252, problems))
    return LoadResult(records, problems.report)


def _load_file(csv_path, split, keep, repair, problems):
    header, rows = _read_rows(csv_path)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CorpusError(csv_path, f"header lacks MELD column(s) {missing} (has {header})", 1)
    col = {h: i for i, h in reversed(list(enumerate(header)))}
    out, seen = [], set()
    for line, row in rows:
        if not row:  # a blank line (csv gives []): nothing to read, nothing lost
            continue
        if len(row) != len(header):
            problems.bad("malformed_row", csv_path, f"{len(row)} fields, header has {len(header)}", line)
            continue
        cells = {h: row[col[h]].strip() for h in col}
        repaired = False
        suspect = [h for h, v in cells.items() if _SUSPECT.search(v)]
        if suspect:
            fixed = {h: fix_cp1252(cells[h]) for h in suspect} if repair else {}
            bad = [h for h in suspect if fixed.get(h) is None]
            if bad:
                problems.bad("undecodable_text", csv_path,
                              f"field(s) {bad} hold bytes that are not UTF-8"
                              + (" nor Windows-1252" if repair else " (repair_cp1252=False)"), line)
                continue
            cells.update(fixed)
            repaired = True
        raw_emotion = cells["Emotion"].lower()
        if raw_emotion not in RAW_EMOTIONS:
            problems.bad("malformed_row", csv_path, f"unknown emotion {cells['Emotion']!r}", line)
            continue
        if not cells["Utterance"]:
            problems.bad("malformed_row", csv_path, "empty Utterance", line)
            continue
        if not cells["Speaker"]:
            problems.bad("malformed_row", csv_path, "empty Speaker", line)
            continue
        dia, utt = cells["Dialogue_ID"], cells["Utterance_ID"]
        if not (dia.isdigit() and utt.isdigit()):
            problems.bad("malformed_row", csv_path, f"Dialogue_ID {dia!r} / Utterance_ID {utt!r} not integers", line)
            continue
        key = (int(dia), int(utt))
        uid = f"{split}_dia{key[0]}_utt{key[1]}"
        if key in seen:
            problems.bad("duplicate_utterance", csv_path, f"{uid} listed twice", line)
            continue
        seen.add(key)
        label = canonical_label(raw_emotion)
        if keep is not None and label not in keep:
            problems.skip("excluded_class", f"{uid} ({raw_emotion})")
            continue
        extra = {"split": split, "dialog": f"{split}_dia{key[0]}", "raw_emotion": cells["Emotion"],
                 "line": line}
        extra.update({key_: cells[h] for h, key_ in OPTIONAL.items() if cells.get(h)})
        if repaired:
            extra["text_repaired"] = "cp1252"
        out.append(Record(utterance_id=uid, corpus=CORPUS, speaker=cells["Speaker"], session=cells["Speaker"],
                          label=label, transcript=cells["Utterance"], extra=extra))
    return out
