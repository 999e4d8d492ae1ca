"""MSP-IMPROV: one consensus label file for the whole corpus.

::

    Evaluation.txt   (some copies spell it Evalution.txt)
        UTD-IMPROV-S01A-F01-S-FM01.avi; N; A:3.000000; V:3.500000; D:3.000000; N:3.000000;
    Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav

Label lines name the video (``UTD-IMPROV-``), audio files say ``MSP-IMPROV-``: they are
matched on the id without that prefix, and ``utterance_id`` is the audio name. Field 2 is
the consensus class (A angry, H happy, S sad, N neutral, O other, X no agreement); after
it ``A:`` is AROUSAL (not the class A), ``V:`` valence, ``D:`` dominance, ``N:``
naturalness (``extra``). Means on 1-5 are mapped ``(x - 3) / 2`` and clipped to [-1, 1].
Id fields: sentence + target emotion (``S01A``), speaker (``F01``: gender + session
number), condition code (``extra["condition"]``, one letter, kept uninterpreted), turn.
Speaker ``msp_improv_F01``; session ``session1`` (one actor pair per session). Other
non-empty lines of the label file (per-rater detail) are not interpreted.

No audio is decoded; ``sample_rate`` is ``None`` unless ``probe_audio=True`` reads headers
(the rate differs between copies).

``classes``: ``"all"``, ``"4"`` (angry, happy, sad, neutral) or a sequence of the names
above; a name MSP-IMPROV does not have is a ``ValueError``.

Bad input: a missing root or one without the label file raises ``CorpusError``; a
malformed label line, a label line that is not valid UTF-8 (``undecodable_line``), an
unknown class code, a duplicate id, a missing wav or an
unreadable wav (when probing) is a counted skip (``strict=True`` raises); classes outside
``classes`` are counted as ``excluded_class``; ``._*`` files as ``appledouble``.
"""
from __future__ import annotations

import os
import re

from .labels import MSP_IMPROV_CODES, select_classes
from .records import CorpusError, LoadResult, Problems, Record, audio_fields, require_dir, text_lines, walk_files

CORPUS = "msp_improv"
LABEL_FILES = ("Evaluation.txt", "Evalution.txt")
_ID = re.compile(
    r"^(?:UTD|MSP)-IMPROV-(?P<key>S(?P<sentence>\d{2})(?P<target>[A-Z])-(?P<gender>[FM])(?P<num>\d{2})"
    r"-(?P<condition>[A-Z])-(?P<turn>[A-Z]{1,2}\d{2,3}))$"
)
_PREFIX = re.compile(r"^(?:UTD|MSP)-IMPROV-", re.IGNORECASE)


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    every = tuple(dict.fromkeys(MSP_IMPROV_CODES.values()))
    names = select_classes(classes, every, CORPUS)
    return names if names is not None else every


def _label_file(root: str) -> str:
    for folder in (root, *sorted(os.path.join(root, d) for d in os.listdir(root))):
        for name in LABEL_FILES:
            if os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
    raise CorpusError(root, "no Evaluation.txt (or Evalution.txt): not an MSP-IMPROV root")


def _parse_fields(fields: list) -> dict:
    """``["A:3.0", "V:3.5", ...]`` -> ``{"A": 3.0, "V": 3.5}``; ValueError when malformed."""
    values = {}
    for field in fields:
        key, sep, value = field.partition(":")
        if not sep:
            raise ValueError(f"expected KEY:value, got {field!r}")
        values[key.strip().upper()] = float(value)
    return values


def load(root, classes="all", strict: bool = False, probe_audio: bool = False) -> LoadResult:
    """Read MSP-IMPROV under ``root`` (label file in ``root`` or one folder below)."""
    root = require_dir(root, CORPUS, "Evaluation.txt and Audio/session*/")
    label_path = _label_file(root)
    keep = select_classes(classes, label_set(), CORPUS)
    problems = Problems(strict)
    audio_root = os.path.join(root, "Audio") if os.path.isdir(os.path.join(root, "Audio")) else root
    wavs = {}
    for path in walk_files(audio_root, (".wav",), problems):
        stem = os.path.splitext(os.path.basename(path))[0]
        wavs.setdefault(_PREFIX.sub("", stem).upper(), path)

    records, seen = [], set()
    for lineno, line in text_lines(label_path, problems):
        text = line.strip()
        if not text:
            continue
        if not _PREFIX.match(text):
            continue  # per-rater detail lines: not interpreted
        fields = [f.strip() for f in text.split(";") if f.strip()]
        clip = os.path.splitext(fields[0])[0]
        m = _ID.match(clip)
        if not m or len(fields) < 5:
            problems.bad("malformed_label_line", label_path, f"unparsable line {text!r}", lineno)
            continue
        code = fields[1].upper()
        try:
            values = _parse_fields(fields[2:])
            raw_vad = (values["V"], values["A"], values["D"])
        except (ValueError, KeyError) as exc:
            problems.bad("malformed_label_line", label_path, f"{clip}: bad A/V/D fields ({exc})", lineno)
            continue
        if code not in MSP_IMPROV_CODES:
            problems.bad("unknown_code", label_path, f"{clip}: unknown class code {code!r}", lineno)
            continue
        key = m.group("key")
        if key in seen:
            problems.bad("duplicate_utterance", label_path, f"{clip} listed twice", lineno)
            continue
        seen.add(key)
        label = MSP_IMPROV_CODES[code]
        if keep is not None and label not in keep:
            problems.skip("excluded_class", f"{clip} ({code})")
            continue
        audio_path = wavs.get(key)
        if audio_path is None:
            problems.bad("missing_audio", label_path, f"no wav for {clip} (MSP-IMPROV-{key}.wav)", lineno)
            continue
        audio = audio_fields(audio_path, None, probe_audio, problems)
        if audio is None:
            continue
        sample_rate, header = audio
        mapped = tuple((x - 3.0) / 2.0 for x in raw_vad)
        valence, arousal, dominance = (min(1.0, max(-1.0, x)) for x in mapped)
        speaker_code = m.group("gender") + m.group("num")
        records.append(Record(
            utterance_id=os.path.splitext(os.path.basename(audio_path))[0], corpus=CORPUS,
            audio_path=audio_path, sample_rate=sample_rate, speaker=f"{CORPUS}_{speaker_code}",
            gender=m.group("gender"), session=f"session{int(m.group('num'))}", label=label,
            valence=valence, arousal=arousal, dominance=dominance,
            extra={"raw_code": code, "label_id": clip, "sentence": m.group("sentence"),
                   "target_emotion": m.group("target"), "condition": m.group("condition"),
                   "turn": m.group("turn"), "naturalness": values.get("N"),
                   "vad_raw": raw_vad, "vad_clipped": (valence, arousal, dominance) != mapped,
                   **header},
        ))
    return LoadResult(records, problems.report)
