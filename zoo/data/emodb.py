"""EmoDB (Berlin Database of Emotional Speech), by file name.

``wav/03a01Fa.wav``: characters 1-2 speaker (10 speakers), 3-5 text (a01..b10, the German
sentence -> ``transcript``), 6 emotion (W anger, L boredom, E disgust, A fear,
F happiness, T sadness, N neutral), 7 version. Male speakers 03 10 11 12 15, female
08 09 13 14 16. Speaker and session are ``emodb_<NN>`` (the naming of the processed copy's
``manifest.csv``). ``root`` is the corpus folder (with ``wav/``) or the wav folder itself.

The release is 16 kHz; ``sample_rate`` says so unless ``probe_audio=True`` reads the header
(processed copies differ, e.g. a 22,050 Hz copy). No audio is decoded.

Bad input: a missing root or one without EmoDB-named wavs raises ``CorpusError``; a wav
whose name does not follow the code, or an unknown speaker, is a counted skip
(``malformed_filename``, ``strict=True`` raises); classes outside ``classes`` are counted
as ``excluded_class``; ``._*`` files as ``appledouble``.
"""
from __future__ import annotations

import os
import re

from .labels import EMODB_EMOTIONS, EMODB_FEMALE, EMODB_MALE, EMODB_TEXTS, select_classes
from .records import CorpusError, LoadResult, Problems, filename_record, finish_records, require_dir, walk_files

CORPUS = "emodb"
SAMPLE_RATE = 16000
SPEAKER_AGES = {"03": 31, "08": 34, "09": 21, "10": 32, "11": 26,
                "12": 30, "13": 32, "14": 35, "15": 25, "16": 31}
_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])\.wav$")
_LOOSE = re.compile(r"^\d{2}[ab]\d{2}[A-Za-z][a-z]\.wav$", re.IGNORECASE)


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    every = tuple(dict.fromkeys(EMODB_EMOTIONS.values()))
    names = select_classes(classes, every, CORPUS)
    return names if names is not None else every


def load(root, classes="all", strict: bool = False, probe_audio: bool = False,
         check_duplicates: bool = True) -> LoadResult:
    """Read EmoDB under ``root`` (``root/wav/*.wav`` or ``root/*.wav``)."""
    root = require_dir(root, CORPUS, "wav/03a01Fa.wav")
    wav_dir = os.path.join(root, "wav") if os.path.isdir(os.path.join(root, "wav")) else root
    keep = select_classes(classes, label_set(), CORPUS)
    problems = Problems(strict)
    found = walk_files(wav_dir, (".wav",), problems)
    wavs = [p for p in found if os.path.dirname(p) == wav_dir]
    if not any(_LOOSE.match(os.path.basename(p)) for p in wavs):
        raise CorpusError(root, "no EmoDB-named wavs (e.g. wav/03a01Fa.wav): not an EmoDB root")
    for path in found:
        if os.path.dirname(path) != wav_dir:
            problems.bad("outside_wav_folder", path, f"wav in a sub-folder of {wav_dir}")
    records = []
    for path in wavs:
        name = os.path.basename(path)
        m = _NAME.match(name)
        if not m or m.group(3) not in EMODB_EMOTIONS:
            problems.bad("malformed_filename", path, "expected SSTTTEV.wav with E in W L E A F T N")
            continue
        speaker_code, text_id, code, version = m.groups()
        if speaker_code not in SPEAKER_AGES:
            problems.bad("malformed_filename", path, f"unknown EmoDB speaker {speaker_code!r}")
            continue
        records.append(filename_record(
            path, corpus=CORPUS, label=EMODB_EMOTIONS[code], speaker_code=speaker_code,
            sample_rate=SAMPLE_RATE,
            gender="M" if speaker_code in EMODB_MALE else "F" if speaker_code in EMODB_FEMALE else None,
            transcript=EMODB_TEXTS.get(text_id),
            extra={"raw_code": code, "text_id": text_id, "version": version, "age": SPEAKER_AGES[speaker_code]}))
    records = finish_records(records, keep=keep, probe_audio=probe_audio, problems=problems,
                             check_duplicates=check_duplicates)
    return LoadResult(records, problems.report)
