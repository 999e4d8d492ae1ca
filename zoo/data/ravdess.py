"""RAVDESS audio: ``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav``.

Fields: modality (01 AV, 02 video, 03 audio), vocal channel (01 speech, 02 song), emotion
(01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised),
intensity (01 normal, 02 strong), statement (01 "Kids are talking by the door", 02 "Dogs
are sitting by the door" -> ``transcript``), repetition, actor (odd = male). Speaker and
session are ``ravdess_<AA>`` (the folder is kept in ``extra["actor_folder"]``). Both
distributed zips (``Audio_Speech_Actors_01-24``, ``Audio_Song_Actors_01-24``) may sit under
``root``; ``channel`` picks speech, song or all.

``classes``: ``"all"`` (the eight emotions), ``"4"`` (angry, happy, sad, neutral) or a
sequence of RAVDESS emotion names; a name RAVDESS does not have is a ``ValueError``.

Audio is 48 kHz and a few files are stereo; the loader does not decode audio (the feature
extractors downmix). ``probe_audio=True`` reads headers (rate, channels, duration).

Bad input: a root that is missing or holds no ``Actor_XX/*.wav`` raises ``CorpusError``.
Counted problems (``strict=True`` raises), each naming the file:

- ``outside_actor_folder``: a wav that is not inside an ``Actor_XX`` folder;
- ``malformed_filename``: a name that is not ``MM-VV-EE-II-SS-RR-AA.wav`` with known codes;
- ``actor_folder_mismatch``: the name's actor differs from its ``Actor_XX`` folder. Copies
  in circulation hold such files, and one seen was the byte copy of another actor's take
  with another intensity: neither its name nor its folder can be trusted;
- ``duplicate_audio`` / ``duplicate_audio_conflict`` / ``duplicate_utterance``: identical
  bytes under two names (first kept when labels agree, all dropped when they do not), or
  one file name twice (``check_duplicates=False`` skips these checks, which hash the files
  of equal size);
- ``unreadable_audio`` (when probing).

Other channels and classes outside ``classes`` are counted as ``excluded_channel`` /
``excluded_class``; ``._*`` files as ``appledouble``.
"""
from __future__ import annotations

import os
import re

from .labels import RAVDESS_EMOTIONS, RAVDESS_STATEMENTS, select_classes
from .records import CorpusError, LoadResult, Problems, filename_record, finish_records, require_dir, walk_files

CORPUS = "ravdess"
SAMPLE_RATE = 48000
CHANNELS = {"01": "speech", "02": "song"}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$", re.IGNORECASE)
_ACTOR_DIR = re.compile(r"^Actor_(\d{2})$")


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    every = tuple(dict.fromkeys(RAVDESS_EMOTIONS.values()))
    names = select_classes(classes, every, CORPUS)
    return names if names is not None else every


def load(root, classes="all", channel: str = "speech", strict: bool = False,
         probe_audio: bool = False, check_duplicates: bool = True) -> LoadResult:
    """Read RAVDESS under ``root``. ``channel``: ``"speech"``, ``"song"`` or ``"all"``."""
    if channel not in ("speech", "song", "all"):
        raise ValueError(f"channel={channel!r}: expected 'speech', 'song' or 'all'")
    root = require_dir(root, CORPUS, "Actor_XX/MM-VV-EE-II-SS-RR-AA.wav")
    keep = select_classes(classes, label_set(), CORPUS)
    problems = Problems(strict)
    found = walk_files(root, (".wav",), problems)
    wavs = [p for p in found if _ACTOR_DIR.match(os.path.basename(os.path.dirname(p)))]
    if not wavs:
        raise CorpusError(root, "no Actor_XX/*.wav files: not a RAVDESS root")
    for path in sorted(set(found) - set(wavs)):
        problems.bad("outside_actor_folder", path, "wav not inside an Actor_XX folder")
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
        folder = os.path.basename(os.path.dirname(path))
        if _ACTOR_DIR.match(folder).group(1) != actor:
            problems.bad("actor_folder_mismatch", path, f"the name says actor {actor}, the folder is {folder}")
            continue
        if channel != "all" and CHANNELS[vocal] != channel:
            problems.skip("excluded_channel", path)
            continue
        records.append(filename_record(
            path, corpus=CORPUS, label=RAVDESS_EMOTIONS[emotion], speaker_code=actor,
            sample_rate=SAMPLE_RATE, gender="M" if int(actor) % 2 else "F",
            transcript=RAVDESS_STATEMENTS[statement],
            extra={"raw_code": emotion, "modality": modality, "channel": CHANNELS[vocal],
                   "intensity": "strong" if intensity == "02" else "normal",
                   "statement": statement, "repetition": int(repetition), "actor_folder": folder}))
    records = finish_records(records, keep=keep, probe_audio=probe_audio, problems=problems,
                             check_duplicates=check_duplicates)
    return LoadResult(records, problems.report)
