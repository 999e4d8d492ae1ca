"""CREMA-D, by file name: ``AudioWAV/1001_DFA_ANG_XX.wav``.

Fields: actor (1001-1091), sentence (12 codes -> ``transcript``), emotion (ANG DIS FEA HAP
NEU SAD), level (LO MD HI, XX unspecified). Speaker and session are ``cremad_<actor>``.
Gender comes from the release's ``VideoDemographics.csv`` (``ActorID,Age,Sex,...``) when
it sits in ``root`` (or next to ``AudioWAV``); without it ``gender`` is ``None``.
``root`` is the repository folder (with ``AudioWAV/``) or the wav folder itself.

Audio is 16 kHz (``probe_audio=True`` reads headers instead); no audio is decoded.

``classes``: ``"all"`` (the six emotions), ``"4"`` (angry, happy, sad, neutral) or a
sequence of CREMA-D emotion names; a name CREMA-D does not have is a ``ValueError``.

Bad input: a missing root, one without CREMA-D-named wavs, or a demographics file that is
not valid UTF-8 raises ``CorpusError``. Counted problems (``strict=True`` raises): a wav
in a sub-folder of the wav folder (``outside_wav_folder``), a malformed file name, a
malformed demographics row, identical bytes under two names or one name twice
(``duplicate_audio`` / ``duplicate_audio_conflict`` / ``duplicate_utterance``, see
:func:`zoo.data.records.finish_records`; ``check_duplicates=False`` skips them), an
unreadable wav when probing. Classes outside ``classes`` are counted as
``excluded_class``; ``._*`` files as ``appledouble``.
"""
from __future__ import annotations

import csv
import io
import os
import re

from .labels import CREMAD_EMOTIONS, CREMAD_LEVELS, CREMAD_SENTENCES, select_classes
from .records import (CorpusError, LoadResult, Problems, filename_record, finish_records, read_text,
                      require_dir, walk_files)

CORPUS = "cremad"
SAMPLE_RATE = 16000
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$")
_LOOSE = re.compile(r"^\d{4}_[A-Za-z]{3}_[A-Za-z]{3}_", re.IGNORECASE)


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    every = tuple(dict.fromkeys(CREMAD_EMOTIONS.values()))
    names = select_classes(classes, every, CORPUS)
    return names if names is not None else every


def _demographics(root: str, wav_dir: str, problems: Problems) -> dict:
    """``{actor: "F"|"M"}`` from VideoDemographics.csv, or ``{}`` when absent."""
    for folder in (root, os.path.dirname(wav_dir)):
        path = os.path.join(folder, "VideoDemographics.csv")
        if os.path.isfile(path):
            break
    else:
        return {}
    genders = {}
    with io.StringIO(read_text(path), newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"ActorID", "Sex"} <= set(reader.fieldnames or ()):
            raise CorpusError(path, "VideoDemographics.csv needs ActorID and Sex columns")
        for lineno, row in enumerate(reader, start=2):
            sex = (row.get("Sex") or "").strip().lower()
            if sex not in ("male", "female") or not (row.get("ActorID") or "").strip().isdigit():
                problems.bad("malformed_demographics_row", path, f"bad ActorID/Sex {row}", lineno)
                continue
            genders[row["ActorID"].strip()] = "M" if sex == "male" else "F"
    return genders


def load(root, classes="all", strict: bool = False, probe_audio: bool = False,
         check_duplicates: bool = True) -> LoadResult:
    """Read CREMA-D under ``root`` (``root/AudioWAV/*.wav`` or ``root/*.wav``)."""
    root = require_dir(root, CORPUS, "AudioWAV/1001_DFA_ANG_XX.wav")
    wav_dir = os.path.join(root, "AudioWAV") if os.path.isdir(os.path.join(root, "AudioWAV")) else root
    keep = select_classes(classes, label_set(), CORPUS)
    problems = Problems(strict)
    found = walk_files(wav_dir, (".wav",), problems)
    wavs = [p for p in found if os.path.dirname(p) == wav_dir]
    if not any(_LOOSE.match(os.path.basename(p)) for p in wavs):
        raise CorpusError(root, "no CREMA-D-named wavs (e.g. AudioWAV/1001_DFA_ANG_XX.wav)")
    for path in found:
        if os.path.dirname(path) != wav_dir:
            problems.bad("outside_wav_folder", path, f"wav in a sub-folder of {wav_dir}")
    genders = _demographics(root, wav_dir, problems)
    records = []
    for path in wavs:
        name = os.path.basename(path)
        m = _NAME.match(name)
        if not m or m.group(2) not in CREMAD_SENTENCES or m.group(3) not in CREMAD_EMOTIONS \
                or m.group(4) not in CREMAD_LEVELS:
            problems.bad("malformed_filename", path, "expected AAAA_SSS_EEE_LL.wav with known codes")
            continue
        actor, sentence, code, level = m.groups()
        records.append(filename_record(
            path, corpus=CORPUS, label=CREMAD_EMOTIONS[code], speaker_code=actor,
            sample_rate=SAMPLE_RATE, gender=genders.get(actor), transcript=CREMAD_SENTENCES[sentence],
            extra={"raw_code": code, "sentence": sentence, "level": level}))
    records = finish_records(records, keep=keep, probe_audio=probe_audio, problems=problems,
                             check_duplicates=check_duplicates)
    return LoadResult(records, problems.report)
