"""Text formats of IEMOCAP_full_release, written exactly as distributed.

- ``dialog/EmoEvaluation/<dialog>.txt``: a ``%`` header, then per utterance a blank line
  and a TAB-separated block: ``[start - end]<TAB>utt<TAB>code<TAB>[v, a, d]``, ``C-``
  categorical rater lines and ``A-`` attribute lines with TWO spaces before ``dom``.
- ``dialog/transcriptions/<dialog>.txt``: ``utt [006.2901-008.2357]: text``.
- ``sentences/ForcedAlignment/<dialog>/<utt>.wdseg`` / ``.phseg``: the Sphinx-3
  ``sphinx3_align`` output the release ships: a header ``SFrm EFrm SegAScr Word|Phone``,
  one row per segment (start frame, end frame inclusive, 10 ms frames, acoustic score,
  word or phone), and a ``Total score:`` line. Field widths follow sphinx3_align's
  ``"\\t%5d %5d %10d %s"`` (words) and ``"\\t%5d %5d %9d %s"`` (phones); context-dependent
  phones are written ``BASE LEFT RIGHT POS`` (POS = b/i/e/s: word begin/internal/end/single).
"""
from __future__ import annotations

import io

EVAL_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n"

CATEGORY_NAMES = {
    "neu": "Neutral", "ang": "Anger", "hap": "Happiness", "exc": "Excited", "sad": "Sadness",
    "fru": "Frustration", "sur": "Surprise", "fea": "Fear", "dis": "Disgust", "oth": "Other",
}


def eval_block(utt) -> str:
    """One EmoEvaluation block (ends with the blank line that separates blocks)."""
    v, a, d = utt.vad_mean
    lines = [f"[{utt.start:.4f} - {utt.end:.4f}]\t{utt.utterance_id}\t{utt.code}\t"
             f"[{v:.4f}, {a:.4f}, {d:.4f}]"]
    for rater, names, comment in utt.categorical:
        lines.append(f"C-{rater}:\t{' '.join(n + ';' for n in names)}\t({comment})")
    for rater, (rv, ra, rd), comment in utt.attributes:
        lines.append(f"A-{rater}:\tval {rv}; act {ra}; dom  {rd};\t({comment})")
    return "\n".join(lines) + "\n\n"


def eval_file(utterances) -> str:
    return EVAL_HEADER + "\n" + "".join(eval_block(u) for u in utterances)


def transcription_line(utterance_id: str, start: float, end: float, text: str) -> str:
    return f"{utterance_id} [{start:08.4f}-{end:08.4f}]: {text}\n"


def wdseg(rows) -> str:
    """rows: (start_frame, end_frame, score, word)."""
    out = io.StringIO()
    out.write("\t%5s %5s %10s %s\n" % ("SFrm", "EFrm", "SegAScr", "Word"))
    for sf, ef, score, word in rows:
        out.write("\t%5d %5d %10d %s\n" % (sf, ef, score, word))
    out.write(" Total score: %11d\n" % sum(r[2] for r in rows))
    return out.getvalue()


def phseg(rows) -> str:
    """rows: (start_frame, end_frame, score, phone string)."""
    out = io.StringIO()
    out.write("\t%5s %5s %9s %s\n" % ("SFrm", "EFrm", "SegAScr", "Phone"))
    for sf, ef, score, phone in rows:
        out.write("\t%5d %5d %9d %s\n" % (sf, ef, score, phone))
    out.write(" Total score: %11d\n" % sum(r[2] for r in rows))
    return out.getvalue()


def alignment_rows(segments, words, rng):
    """(word rows, phone rows) for the voice segments (see ``voice.plan``).

    Silences become ``<s>`` (first), ``</s>`` (last) and ``<sil>`` (pauses) in the word file
    and ``SIL`` in the phone file; scores are negative ints, about -6,000 to -14,000 per
    frame like the release's. Some words get a pronunciation-variant suffix ``(2)``.
    """
    phone_rows, word_rows = [], []
    scores = [-int(round(s.frames * rng.uniform(6000, 14000))) for s in segments]
    for k, (seg, score) in enumerate(zip(segments, scores)):
        if seg.phone == "SIL":
            phone_rows.append((seg.start, seg.end, score, "SIL"))
            continue
        same = [s for s in segments if s.word_index == seg.word_index]
        pos = same.index(seg)
        left = segments[k - 1].phone if k > 0 else "SIL"
        right = segments[k + 1].phone if k + 1 < len(segments) else "SIL"
        where = "s" if len(same) == 1 else "b" if pos == 0 else "e" if pos == len(same) - 1 else "i"
        phone_rows.append((seg.start, seg.end, score, f"{seg.phone} {left} {right} {where}"))
    k = 0
    while k < len(segments):
        seg = segments[k]
        if seg.phone == "SIL":
            name = "<s>" if k == 0 else "</s>" if k == len(segments) - 1 else "<sil>"
            word_rows.append((seg.start, seg.end, scores[k], name))
            k += 1
            continue
        j = k
        while j + 1 < len(segments) and segments[j + 1].word_index == seg.word_index:
            j += 1
        word = words[seg.word_index].upper()
        if rng.random() < 0.05:
            word += "(2)"
        word_rows.append((seg.start, segments[j].end, sum(scores[k:j + 1]), word))
        k = j + 1
    return word_rows, phone_rows
