"""RAVDESS audio (DATA.md §1): ``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav``.

Fields: modality (01 AV, 02 video, 03 audio), vocal channel (01 speech, 02 song), emotion
(01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised),
intensity (01 normal, 02 strong), statement (01 "Kids are talking by the door", 02 "Dogs
are sitting by the door" -> ``transcript``), repetition, actor (odd = male). The actor is
taken from the file name (the folder is kept in ``extra["actor_folder"]``); speaker and
session are ``ravdess_<AA>``. Both distributed zips (``Audio_Speech_Actors_01-24``,
``Audio_Song_Actors_01-24``) may sit under ``root``; ``channel`` picks speech, song or all.

Audio is 48 kHz and a few files are stereo; the loader does not decode audio (the feature
extractors downmix). ``probe_audio=True`` reads headers (rate, channels, duration).

Bad input: a root that is missing or holds no ``Actor_XX/*.wav`` raises ``CorpusError``;
a malformed file name or an unreadable wav (when probing) is a counted skip
(``strict=True`` raises). Other channels and classes outside ``classes`` are counted as
``excluded_channel`` / ``excluded_class``; ``._*`` files as ``appledouble``.
"""
from __future__ import annotations

import os
import re

from .labels import RAVDESS_EMOTIONS, RAVDESS_STATEMENTS, resolve_classes
from .records import CorpusError, LoadResult, Problems, filename_record, require_dir, walk_files

CORPUS = "ravdess"
SAMPLE_RATE = 48000
CHANNELS = {"01": "speech", "02": "song"}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$", re.IGNORECASE)
_ACTOR_DIR = re.compile(r"^Actor_(\d{2})$")


def label_set(classes="all") -> tuple:
    names = resolve_classes(classes)
    return names if names is not None else tuple(RAVDESS_EMOTIONS.values())


def load(root, classes="all", channel: str = "speech", strict: bool = False,
         probe_audio: bool = False) -> LoadResult:
    """Read RAVDESS under ``root``. ``channel``: ``"speech"``, ``"song"`` or ``"all"``."""
    if channel not in ("speech", "song", "all"):
        raise ValueError(f"channel={channel!r}: expected 'speech', 'song' or 'all'")
    root = require_dir(root, CORPUS, "Actor_XX/MM-VV-EE-II-SS-RR-AA.wav")
    keep = resolve_classes(classes)
    problems = Problems(strict)
    wavs = [p for p in walk_files(root, (".wav",), problems)
            if _ACTOR_DIR.match(os.path.basename(os.path.dirname(p)))]
    if not wavs:
        raise CorpusError(root, "no Actor_XX/*.wav files: not a RAVDESS root")
    records = []
    for path in wavs:
        name = os.path.basename(path)
        m = _NAME.match(name)
        if not m:
            problems.bad("malformed_filename", path, "expected MM-VV-EE-II-SS-RR-AA.wav")
            continue
        modality, vocal, emotion, intensity, statement, repetition, actor = m.groups()
        if vocal not in CHANNELS or emotion not in RAVDESS_EMOTIONS or statement not in RAVDESS_STATEMENTS \
                or intensity not in ("01", "02") or not 1 <= int(actor) <= 99:
            problems.bad("malformed_filename", path, f"unknown code in {name}")
            continue
        if channel != "all" and CHANNELS[vocal] != channel:
            problems.skip("excluded_channel", path)
            continue
        record = filename_record(
            path, corpus=CORPUS, label=RAVDESS_EMOTIONS[emotion], keep=keep, speaker_code=actor,
            sample_rate=SAMPLE_RATE, probe_audio=probe_audio, problems=problems,
            gender="M" if int(actor) % 2 else "F", transcript=RAVDESS_STATEMENTS[statement],
            extra={"raw_code": emotion, "modality": modality, "channel": CHANNELS[vocal],
                   "intensity": "strong" if intensity == "02" else "normal",
                   "statement": statement, "repetition": int(repetition),
                   "actor_folder": os.path.basename(os.path.dirname(path))})
        if record is not None:
            records.append(record)
    return LoadResult(records, problems.report)
