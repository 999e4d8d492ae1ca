"""MSP-Podcast: ``Labels/labels_consensus.csv`` + ``Audios/<FileName>``.

CSV columns ``FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set``. EmoClass
codes: A angry, S sad, H happy, U surprised, F fearful, D disgust, C contempt, N neutral,
O other, X no agreement. Attributes on 1-7 are mapped ``(x - 4) / 3`` and clipped to
[-1, 1] (``EmoAct`` is arousal). ``Split_Set`` (Train, Development, Test1...) is in
``extra["split"]``; ``split=`` keeps one of them. Speaker and session are
``msp_podcast_<SpkrID>`` (``None`` for ``Unknown``); gender Male/Female -> M/F, else None.
Transcripts are read from ``Transcripts/<stem>.txt`` when that folder exists. Older
releases name the audio folder ``Audio/``; both are accepted.

Audio is 16 kHz (``probe_audio=True`` reads headers instead); no audio is decoded.

``classes``: ``"all"``, ``"4"`` (angry, happy, sad, neutral) or a sequence of the names
above; a name MSP-Podcast does not have is a ``ValueError``.

Bad input: a missing root, no label CSV, a CSV without the required columns or that is
not valid UTF-8 (naming the line), or no audio folder raises ``CorpusError``; a row with
a bad class code or a non-numeric attribute, a duplicate file name, a missing wav, a
transcript that is not valid UTF-8 (``undecodable_transcript``, naming its line) or an
unreadable wav (when probing) is a counted skip naming the file and line
(``strict=True`` raises); classes/splits outside the request are counted as
``excluded_class`` / ``excluded_split``.
"""
from __future__ import annotations

import csv
import io
import os

from .labels import MSP_PODCAST_CODES, select_classes
from .records import CorpusError, LoadResult, Problems, Record, audio_fields, read_text, require_dir

CORPUS = "msp_podcast"
SAMPLE_RATE = 16000
COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set")
GENDERS = {"male": "M", "female": "F"}


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return (class id = index)."""
    every = tuple(dict.fromkeys(MSP_PODCAST_CODES.values()))
    names = select_classes(classes, every, CORPUS)
    return names if names is not None else every


def attribute(x: float) -> float:
    """A 1-7 attribute mean mapped to [-1, 1]: ``(x - 4) / 3``, clipped."""
    return min(1.0, max(-1.0, (x - 4.0) / 3.0))


def _find(root: str, candidates) -> str:
    for rel in candidates:
        if os.path.exists(os.path.join(root, rel)):
            return os.path.join(root, rel)
    return ""


def load(root, classes="all", split=None, strict: bool = False, probe_audio: bool = False,
         transcripts: bool = True) -> LoadResult:
    """Read MSP-Podcast under ``root``. ``split``: keep only that ``Split_Set`` value."""
    root = require_dir(root, CORPUS, "Labels/labels_consensus.csv and Audios/")
    csv_path = _find(root, ("Labels/labels_consensus.csv", "labels_consensus.csv"))
    if not csv_path:
        raise CorpusError(root, "no Labels/labels_consensus.csv: not an MSP-Podcast root")
    audio_dir = _find(root, ("Audios", "Audio"))
    if not audio_dir:
        raise CorpusError(root, "no Audios/ (or Audio/) folder")
    keep = select_classes(classes, label_set(), CORPUS)
    problems = Problems(strict)
    wavs = set()
    for name in os.listdir(audio_dir):
        if name.startswith("._"):
            problems.skip("appledouble", os.path.join(audio_dir, name))
        else:
            wavs.add(name)
    transcript_dir = os.path.join(root, "Transcripts")
    have_transcripts = transcripts and os.path.isdir(transcript_dir)

    records, seen = [], set()
    with io.StringIO(read_text(csv_path), newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise CorpusError(csv_path, f"missing columns {missing}", 1)
        for lineno, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                problems.bad("malformed_row", csv_path, f"{len(reader.fieldnames)} columns in the header, "
                             f"{'more' if None in row else 'fewer'} in this row", lineno)
                continue
            name = (row["FileName"] or "").strip()
            code = (row["EmoClass"] or "").strip().upper()
            if not name:
                problems.bad("malformed_row", csv_path, "empty FileName", lineno)
                continue
            if code not in MSP_PODCAST_CODES:
                problems.bad("unknown_code", csv_path, f"{name}: unknown EmoClass {code!r}", lineno)
                continue
            try:
                raw = tuple(float(row[c]) for c in ("EmoVal", "EmoAct", "EmoDom"))
            except (TypeError, ValueError):
                problems.bad("malformed_row", csv_path, f"{name}: non-numeric EmoVal/EmoAct/EmoDom", lineno)
                continue
            if name in seen:
                problems.bad("duplicate_utterance", csv_path, f"{name} listed twice", lineno)
                continue
            seen.add(name)
            split_set = (row["Split_Set"] or "").strip()
            if split is not None and split_set != split:
                problems.skip("excluded_split", f"{name} ({split_set})")
                continue
            label = MSP_PODCAST_CODES[code]
            if keep is not None and label not in keep:
                problems.skip("excluded_class", f"{name} ({code})")
                continue
            audio_path = os.path.join(audio_dir, name)
            if name not in wavs:
                problems.bad("missing_audio", audio_path, f"wav listed at {csv_path}:{lineno} not found")
                continue
            audio = audio_fields(audio_path, SAMPLE_RATE, probe_audio, problems)
            if audio is None:
                continue
            sample_rate, header = audio
            transcript = None
            stem = os.path.splitext(name)[0]
            transcript_path = os.path.join(transcript_dir, stem + ".txt")
            if have_transcripts and os.path.isfile(transcript_path):
                try:
                    transcript = " ".join(read_text(transcript_path).split())
                except CorpusError as err:
                    problems.bad("undecodable_transcript", transcript_path, err.problem, err.line)
                    continue
            speaker_id = (row["SpkrID"] or "").strip()
            speaker = None if speaker_id.lower() in ("", "unknown") else f"{CORPUS}_{speaker_id}"
            records.append(Record(
                utterance_id=stem, corpus=CORPUS, audio_path=audio_path, sample_rate=sample_rate,
                speaker=speaker, gender=GENDERS.get((row["Gender"] or "").strip().lower()),
                session=speaker, label=label, valence=attribute(raw[0]), arousal=attribute(raw[1]),
                dominance=attribute(raw[2]), transcript=transcript,
                extra={"raw_code": code, "split": split_set, "vad_raw": raw,
                       "vad_clipped": any(not 1.0 <= x <= 7.0 for x in raw), **header},
            ))
    return LoadResult(records, problems.report)
