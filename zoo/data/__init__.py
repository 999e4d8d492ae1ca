"""Corpus loaders: each corpus as distributed -> ``LoadResult(records, report)``.

``load(corpus_name, root, **options)`` dispatches to ``LOADERS[corpus_name]`` (the module's
``load``); ``summarize(result)`` counts records per label / session / speaker / gender
(what ``python -m zoo.data describe`` prints).

Every loader takes the :data:`COMMON_OPTIONS`:

- ``classes``: which labels to keep, ``"all"`` (default) or a sequence of label names; the
  presets ``"4"`` (angry, happy, sad, neutral; IEMOCAP merges excited into happy) and
  ``"7"`` (IEMOCAP's AMH set) where the corpus has those labels. Records with another label
  are counted as ``excluded_class``; a requested name the corpus does not have is a
  ``ValueError`` (no silently empty class). Each module's docstring says what its labels are.
- ``strict``: raise ``CorpusError`` (file, line, problem) on the first bad item instead of
  a counted skip.
- ``probe_audio``: read audio headers (rate, channels, duration); no loader decodes audio.

See each module's docstring for its layout, other options and bad-input policy.
"""
from __future__ import annotations

from collections import Counter

from . import cremad, emodb, iemocap, manifest, meld, msp_improv, msp_podcast, ravdess, ravdess_fer, sier
from .records import CorpusError, LoadReport, LoadResult, Record

LOADERS = {
    "iemocap": iemocap.load,
    "ravdess": ravdess.load,
    "emodb": emodb.load,
    "cremad": cremad.load,
    "msp_improv": msp_improv.load,
    "msp_podcast": msp_podcast.load,
    "sier": sier.load,
    "manifest": manifest.load,
    "meld": meld.load,
    "ravdess_fer": ravdess_fer.load,  # RAVDESS speech + FER-2013 faces of the same emotion (faces=)
}

#: Keyword options every loader accepts, with the same meaning (see the module docstring).
COMMON_OPTIONS = ("classes", "strict", "probe_audio")

__all__ = ["LOADERS", "COMMON_OPTIONS", "load", "summarize", "Record", "LoadReport", "LoadResult", "CorpusError"]


def load(corpus_name: str, root, **options) -> LoadResult:
    """Load corpus ``corpus_name`` (a key of :data:`LOADERS`) from ``root``."""
    try:
        loader = LOADERS[corpus_name]
    except KeyError:
        raise ValueError(f"unknown corpus {corpus_name!r}; known: {sorted(LOADERS)}") from None
    return loader(root, **options)


def _counts(values) -> dict:
    counter = Counter("null" if v is None else str(v) for v in values)
    return dict(sorted(counter.items()))


def summarize(result: LoadResult) -> dict:
    """JSON-ready counts of a load: total, per label/session/speaker/gender, skips."""
    records, report = result
    out = {
        "total": len(records),
        "per_label": _counts(r.label for r in records),
        "per_session": _counts(r.session for r in records),
        "per_speaker": _counts(r.speaker for r in records),
        "per_gender": _counts(r.gender for r in records),
    }
    sessions = sorted({r.session for r in records if r.session is not None})
    if 1 < len(sessions) <= 20:
        out["per_session_label"] = {
            s: _counts(r.label for r in records if r.session == s) for s in sessions
        }
    if any("improvised" in r.extra for r in records):
        out["improvised"] = sum(1 for r in records if r.extra.get("improvised") is True)
        out["scripted"] = sum(1 for r in records if r.extra.get("improvised") is False)
    if any("split" in r.extra for r in records):
        out["per_split"] = _counts(r.extra.get("split") for r in records)
    with_vad = [r for r in records if r.valence is not None]
    if with_vad:
        out["with_vad"] = len(with_vad)
        out["vad_clipped"] = sum(1 for r in with_vad if r.extra.get("vad_clipped"))
    out["with_transcript"] = sum(1 for r in records if r.transcript is not None)
    out["with_image"] = sum(1 for r in records if r.image_path is not None)
    out["with_video"] = sum(1 for r in records if r.video_path is not None)
    out["report"] = report.to_dict()
    return out
