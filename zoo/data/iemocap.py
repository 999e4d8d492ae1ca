"""IEMOCAP_full_release, read exactly as distributed.

Layout (per ``SessionN``)::

    dialog/EmoEvaluation/<dialog>.txt     summary line per utterance + rater lines
    dialog/transcriptions/<dialog>.txt    "<utt> [start-end]: text"
    dialog/avi/DivX/<dialog>.avi          video of both actors
    sentences/wav/<dialog>/<utt>.wav      16 kHz mono PCM (the SER input)
    sentences/ForcedAlignment/<dialog>/<utt>.{wdseg,phseg,syseg}
    sentences/image/<dialog>/<utt>.png    synthetic-corpus extension (face image)
    sentences/video/<dialog>/<utt>.npy    synthetic-corpus extension (face frames)

Parsing rules:

- Only the top level of ``EmoEvaluation`` is read: ``Categorical/``, ``Attribute/`` and
  ``Self-evaluation/`` (where ``*_atr.txt`` lists activation first) are not recursed into.
- Summary line ``[start - end] <utt> <code> [v, a, d]`` (tab separated): V/A/D means on
  1-5 are mapped ``(x - 3) / 2`` and clipped to [-1, 1] (seven utterances have 0.5/5.5);
  the raw means stay in ``extra["vad_raw"]`` and ``extra["vad_clipped"]`` marks a clip.
- Rater lines ``C-E2: Neutral; Anger; (...)`` (several votes per rater allowed) and
  ``A-E3: val 3; act 2; dom  2; (...)`` (two spaces before ``dom``) go to
  ``extra["votes"]`` / ``extra["rater_vad"]`` keyed by rater (E1-E6 external, F1/M1... actors).
- Speaker = session + the LAST id field's letter: ``Ses01F_impro01_M000`` is the MALE
  speaker ``Ses01_M`` (the letter after ``Ses01`` only says who wore the markers).
- Transcripts: tags such as ``[LAUGHTER]`` are removed and whitespace collapsed in
  ``Record.transcript``; the raw line text is kept in ``extra["transcript_raw"]``. Text
  files are read as UTF-8 (the release is ASCII).
  Transcription lines whose speaker field holds ``XX`` (``..._MXX0``) have no label and no
  wav: skipped and counted (``transcript_xx_speaker``).
- ``classes="4"``: ang, hap+exc -> happy, sad, neu (order angry, happy, sad, neutral);
  ``"7"``: the AMH set ang, exc, hap, sad, fru, sur, neu; ``"all"``: every code, ``xxx``
  as ``"no_agreement"``; or a sequence of label names (all-code names, then filtered).
- The loader never decodes audio. ``sample_rate`` is the release's 16 kHz; some copies
  in circulation hold stereo files, which the feature extractors downmix. With
  ``probe_audio=True`` the wav header is read (rate, channels, duration in ``extra``).

Bad input:

- root missing, not a directory, without ``Session1..5`` folders, or a session without
  ``dialog/EmoEvaluation``: always ``CorpusError``.
- malformed summary/rater line, unknown code, duplicate utterance id, missing wav,
  missing transcript (``require_transcript=True``), unreadable wav (when probing), a label
  or transcription line that is not valid UTF-8 (``undecodable_line``; on a transcription
  line the utterance is an ``undecodable_transcript`` skip, never a text with U+FFFD):
  a counted skip naming file+line+problem; ``strict=True`` raises ``CorpusError`` instead.
- ``classes`` naming a label IEMOCAP does not have (e.g. ``["angyr"]``): ``ValueError``.
- a code outside the requested class set (e.g. ``fru`` for 4 classes): counted as
  ``excluded_class`` (a protocol choice, never an error); stray ``._*`` AppleDouble files:
  counted as ``appledouble`` and ignored.
"""
from __future__ import annotations

import os
import re
from typing import Iterable, Optional

from .labels import IEMOCAP_4_CODES, IEMOCAP_7_CODES, IEMOCAP_CODES, select_classes
from .records import CorpusError, LoadResult, Problems, Record, audio_fields, decoded_lines, text_lines

CORPUS = "iemocap"
SAMPLE_RATE = 16000
ALIGNMENT_KINDS = ("wdseg", "phseg", "syseg")

_SUMMARY = re.compile(
    r"^\[\s*(?P<start>[-\d.]+)\s*-\s*(?P<end>[-\d.]+)\s*\]\s+(?P<utt>\S+)\s+(?P<code>\S+)\s+"
    r"\[\s*(?P<v>[^,\]]+?)\s*,\s*(?P<a>[^,\]]+?)\s*,\s*(?P<d>[^,\]]+?)\s*\]\s*$"
)
_RATER = re.compile(
    r"^(?P<kind>[CA])-(?P<rater>[A-Za-z]+\d*):\s*(?P<body>.*?)\s*(?:\((?P<note>.*)\))?\s*$"
)
_RATER_VAD = re.compile(r"\b(val|act|dom)\s+([-\d.]+)")
_UTTERANCE = re.compile(
    r"^(?P<dialog>Ses(?P<session>\d{2})[FM]_(?P<kind>impro|script)\d{2}[a-z]?(?:_\d+[a-z]?)?)"
    r"_(?P<speaker>[FM])(?P<turn>\d{3})$"
)
_TRANSCRIPT = re.compile(
    r"^(?P<utt>\S+)\s+\[\s*(?P<start>[\d.]+)\s*-\s*(?P<end>[\d.]+)\s*\]:\s?(?P<text>.*)$"
)
_TAG = re.compile(r"\[[^\]]*\]")
_SESSION_DIR = re.compile(r"^Session([1-9])$")


ALL_LABELS = tuple(dict.fromkeys(IEMOCAP_CODES.values()))


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    names = select_classes(classes, ALL_LABELS, CORPUS)
    return names if names is not None else ALL_LABELS


def clean_transcript(raw: str) -> str:
    """Drop bracketed tags (``[LAUGHTER]``, ``[BREATHING]``...) and collapse whitespace."""
    return " ".join(_TAG.sub(" ", raw).split())


def _code_map(classes):
    """(code -> label name, label names kept or None)."""
    if isinstance(classes, int) and not isinstance(classes, bool):
        classes = str(classes)
    if isinstance(classes, str) and classes.strip() == "4":
        return IEMOCAP_4_CODES, None
    if isinstance(classes, str) and classes.strip() == "7":
        return IEMOCAP_7_CODES, None
    return IEMOCAP_CODES, select_classes(classes, ALL_LABELS, CORPUS)


def _session_dirs(root: str, sessions: Optional[Iterable]) -> list:
    if not os.path.exists(root):
        raise CorpusError(root, "IEMOCAP root does not exist")
    if not os.path.isdir(root):
        raise CorpusError(root, "IEMOCAP root is not a directory")
    found = {}
    for name in sorted(os.listdir(root)):
        m = _SESSION_DIR.match(name)
        if m and os.path.isdir(os.path.join(root, name)):
            found[int(m.group(1))] = os.path.join(root, name)
    if not found:
        raise CorpusError(root, "no Session1..Session5 folders: not an IEMOCAP_full_release root")
    if sessions is None:
        return [found[k] for k in sorted(found)]
    wanted = []
    for s in sessions:
        digits = re.sub(r"\D", "", str(s))
        if not digits or int(digits) not in found:
            raise CorpusError(root, f"session {s!r} requested but not present (have {sorted(found)})")
        wanted.append(found[int(digits)])
    return wanted


def _listing(path: str, problems: Problems) -> set:
    """File names in ``path`` (empty set if absent); ``._*`` AppleDouble files counted, dropped."""
    if not os.path.isdir(path):
        return set()
    names = set()
    for name in os.listdir(path):
        if name.startswith("._"):
            problems.skip("appledouble", os.path.join(path, name))
        else:
            names.add(name)
    return names


def _parse_rater(entry: dict, m: re.Match, path: str, lineno: int, problems: Problems) -> None:
    rater = m.group("rater")
    body = m.group("body")
    if m.group("kind") == "C":
        votes = [v.strip() for v in body.split(";") if v.strip()]
        if not votes:
            problems.bad("malformed_rater_line", path, "categorical rater line without a vote", lineno)
            return
        entry["votes"][rater] = votes
    else:
        values = {k: float(v) for k, v in _RATER_VAD.findall(body)}
        if set(values) != {"val", "act", "dom"}:
            problems.bad("malformed_rater_line", path, f"attribute rater line needs val/act/dom: {body!r}", lineno)
            return
        entry["rater_vad"][rater] = values


def parse_evaluation(path: str, problems: Problems) -> list:
    """Entries (dicts) of one ``EmoEvaluation/<dialog>.txt``, in file order."""
    entries, current = [], None
    for lineno, line in text_lines(path, problems):
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        if text.startswith("["):
            current = None
            m = _SUMMARY.match(text)
            if not m:
                problems.bad("malformed_label_line", path, f"unparsable summary line {text!r}", lineno)
                continue
            try:
                start, end = float(m.group("start")), float(m.group("end"))
                vad = tuple(float(m.group(k)) for k in ("v", "a", "d"))
            except ValueError:
                problems.bad("malformed_label_line", path, f"non-numeric time or V/A/D in {text!r}", lineno)
                continue
            current = {"utt": m.group("utt"), "code": m.group("code"), "start": start, "end": end,
                       "vad": vad, "votes": {}, "rater_vad": {}, "line": lineno}
            entries.append(current)
            continue
        m = _RATER.match(text)
        if m:
            if current is not None:
                _parse_rater(current, m, path, lineno, problems)
            continue
        problems.bad("malformed_label_line", path, f"unrecognised line {text!r}", lineno)
    return entries


class Undecodable(str):
    """A transcription line that is not valid UTF-8: the problem, reported with the utterance."""

    def __new__(cls, problem: str, line: int):
        obj = super().__new__(cls, problem)
        obj.line = line
        return obj


def parse_transcription(path: str, problems: Problems) -> dict:
    """``{utt: (raw_text, start, end)}`` of one transcription file; ``XX`` speakers skipped.

    A line that is not valid UTF-8 maps its utterance to an :class:`Undecodable` (the
    utterance is then an ``undecodable_transcript`` problem, never a text with U+FFFD).
    """
    out = {}
    for lineno, line, problem in decoded_lines(path):
        text = line.strip()
        if not text:
            continue
        m = _TRANSCRIPT.match(text)
        if not m:
            if problem is not None:
                problems.bad("undecodable_line", path, problem, lineno)
            else:
                problems.bad("malformed_transcript_line", path, f"unparsable line {text!r}", lineno)
            continue
        utt = m.group("utt")
        if "XX" in utt.rsplit("_", 1)[-1]:
            problems.skip("transcript_xx_speaker", f"{path}:{lineno}: {utt}")
            continue
        if problem is not None:
            out.setdefault(utt, Undecodable(problem, lineno))
            continue
        out.setdefault(utt, (m.group("text").strip(), float(m.group("start")), float(m.group("end"))))
    return out


def _map_vad(raw: tuple) -> tuple:
    mapped = tuple((x - 3.0) / 2.0 for x in raw)
    clipped = tuple(min(1.0, max(-1.0, x)) for x in mapped)
    return clipped, clipped != mapped


class _Dialog:
    """Per-dialog file listings, read once."""

    def __init__(self, session_dir: str, dialog: str, problems: Problems):
        self.dialog = dialog
        sentences = os.path.join(session_dir, "sentences")
        self.wav_dir = os.path.join(sentences, "wav", dialog)
        self.wavs = _listing(self.wav_dir, problems)
        self.align_dir = os.path.join(sentences, "ForcedAlignment", dialog)
        self.alignments = _listing(self.align_dir, problems)
        self.image_dir = os.path.join(sentences, "image", dialog)
        self.images = _listing(self.image_dir, problems)
        self.video_dir = os.path.join(sentences, "video", dialog)
        self.videos = _listing(self.video_dir, problems)
        avi = os.path.join(session_dir, "dialog", "avi", "DivX", dialog + ".avi")
        self.avi = avi if os.path.isfile(avi) else None
        self.transcript_path = os.path.join(session_dir, "dialog", "transcriptions", dialog + ".txt")
        self.transcripts = (parse_transcription(self.transcript_path, problems)
                            if os.path.isfile(self.transcript_path) else {})


def load(
    root,
    classes="all",
    sessions: Optional[Iterable] = None,
    strict: bool = False,
    require_transcript: bool = True,
    probe_audio: bool = False,
) -> LoadResult:
    """Read IEMOCAP_full_release at ``root`` into Records (see the module docstring).

    Args:
        classes: ``"4"``, ``"7"``, ``"all"`` or a sequence of label names.
        sessions: subset such as ``[1, 2]`` or ``["Session5"]``; ``None`` = all present.
        strict: raise ``CorpusError`` on the first bad item instead of skipping it.
        require_transcript: skip (count) utterances without a transcription line; when
            False they are kept with ``transcript=None``.
        probe_audio: read each wav header for its sample rate / channels / duration.
    """
    root = os.fspath(root)
    problems = Problems(strict)
    code_map, keep = _code_map(classes)
    records, seen = [], set()
    for session_dir in _session_dirs(root, sessions):
        eval_dir = os.path.join(session_dir, "dialog", "EmoEvaluation")
        if not os.path.isdir(eval_dir):
            raise CorpusError(session_dir, "missing dialog/EmoEvaluation: not an IEMOCAP session folder")
        _listing(os.path.join(session_dir, "dialog", "transcriptions"), problems)  # count ._*
        dialogs = {}
        for name in sorted(_listing(eval_dir, problems)):
            path = os.path.join(eval_dir, name)
            if os.path.isdir(path) or not name.endswith(".txt"):
                continue  # Categorical/, Attribute/, Self-evaluation/ and non-label files
            for entry in parse_evaluation(path, problems):
                record = _record(entry, path, session_dir, dialogs, code_map, keep, seen,
                                 problems, require_transcript, probe_audio)
                if record is not None:
                    records.append(record)
    return LoadResult(records, problems.report)


def _record(entry, path, session_dir, dialogs, code_map, keep, seen, problems,
            require_transcript, probe_audio) -> Optional[Record]:
    utt, code, lineno = entry["utt"], entry["code"], entry["line"]
    m = _UTTERANCE.match(utt)
    if not m:
        problems.bad("malformed_label_line", path, f"unexpected utterance id {utt!r}", lineno)
        return None
    if code not in IEMOCAP_CODES:
        problems.bad("unknown_code", path, f"{utt}: unknown emotion code {code!r}", lineno)
        return None
    if utt in seen:
        problems.bad("duplicate_utterance", path, f"{utt} listed twice", lineno)
        return None
    seen.add(utt)
    label = code_map.get(code)
    if label is None or (keep is not None and label not in keep):
        problems.skip("excluded_class", f"{utt} ({code})")
        return None
    dialog = m.group("dialog")
    if dialog not in dialogs:
        dialogs[dialog] = _Dialog(session_dir, dialog, problems)
    d = dialogs[dialog]

    transcript_raw = d.transcripts.get(utt)
    if isinstance(transcript_raw, Undecodable):
        problems.bad("undecodable_transcript", d.transcript_path, f"{utt}: {transcript_raw}", transcript_raw.line)
        return None
    if transcript_raw is None and require_transcript:
        problem = (f"no transcription line for {utt}" if os.path.isfile(d.transcript_path)
                   else f"transcription file missing (needed for {utt})")
        problems.bad("missing_transcript", d.transcript_path, problem)
        return None
    wav_name = utt + ".wav"
    audio_path = os.path.join(d.wav_dir, wav_name)
    if wav_name not in d.wavs:
        problems.bad("missing_audio", audio_path, f"wav of {utt} not found", None)
        return None

    (valence, arousal, dominance), clipped = _map_vad(entry["vad"])
    extra = {
        "raw_code": code,
        "improvised": m.group("kind") == "impro",
        "dialog": dialog,
        "vad_raw": entry["vad"],
        "vad_clipped": clipped,
        "votes": entry["votes"],
        "rater_vad": entry["rater_vad"],
        "label_file": path,
    }
    for kind in ALIGNMENT_KINDS:
        if f"{utt}.{kind}" in d.alignments:
            extra[kind] = os.path.join(d.align_dir, f"{utt}.{kind}")
    transcript = None
    if transcript_raw is not None:
        extra["transcript_raw"] = transcript_raw[0]
        transcript = clean_transcript(transcript_raw[0])
    audio = audio_fields(audio_path, SAMPLE_RATE, probe_audio, problems)
    if audio is None:
        return None
    sample_rate, header = audio
    extra.update(header)

    video_path = d.avi
    if utt + ".npy" in d.videos:
        video_path = os.path.join(d.video_dir, utt + ".npy")
    image_path = os.path.join(d.image_dir, utt + ".png") if utt + ".png" in d.images else None
    session = f"Ses{m.group('session')}"
    speaker_letter = m.group("speaker")
    return Record(
        utterance_id=utt, corpus=CORPUS, audio_path=audio_path, sample_rate=sample_rate,
        speaker=f"{session}_{speaker_letter}", gender=speaker_letter, session=session,
        label=label, valence=valence, arousal=arousal, dominance=dominance,
        transcript=transcript, image_path=image_path, video_path=video_path,
        start=entry["start"], end=entry["end"], extra=extra,
    )
