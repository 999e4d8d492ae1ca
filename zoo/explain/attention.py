"""Attention weights over time, aligned to words and phones (Jalal, Milner, Hain 2020, Sec. 5.1).

Sec. 5.1 plots BLSTMATT's attention weights of test utterances against the forced-aligned
phones and words and finds the attention higher on vowels than on consonants. Here:

- :func:`attention_weights` gets per-utterance weights over the input frames from any model
  whose module has an ``attention_model`` (blstmatt: one curve; gru_bert: one per audio
  stream; amh: one per hop, over the hop's target modality);
- :func:`read_alignment` reads IEMOCAP's ``.phseg`` / ``.wdseg`` (Sphinx-3, 10 ms frames,
  inclusive end frames; paths in ``record.extra``);
- :func:`frame_timing` gives the time of each model frame from its extractor, because the
  frame rates differ: alignment frames are 10 ms; ``fbank``/``mfcc_deltas`` frames are
  25 ms windows every 10 ms starting at sample 0 (centre = 10 ms * t + 12.5 ms); gru_bert's
  librosa frames hop 512 samples at 22,050 Hz (23.2 ms) and are centred (centre = t * hop);
- :func:`phones_of_frames` assigns each model frame to the phone (and word) that holds the
  frame's centre;
- :func:`vowel_consonant_attention` pools the weights of a data set by phone class.

Relative attention: a weight times the utterance's number of valid frames (1 = uniform), so
that utterances of different lengths are comparable; the raw mean weight is reported too.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from zoo.model_inputs import check_batch

__all__ = ["Segment", "read_alignment", "frame_timing", "frame_centres", "phones_of_frames",
           "phone_class", "attention_weights", "attention_inputs", "vowel_consonant_attention",
           "VOWELS", "ALIGNMENT_FRAME_S"]

ALIGNMENT_FRAME_S = 0.010  # Sphinx-3 forced alignment: 10 ms frames
#: ARPAbet vowels (CMU dictionary / Sphinx phone set of IEMOCAP's alignments), stress-free.
VOWELS = frozenset(("AA", "AE", "AH", "AO", "AW", "AX", "AXR", "AY", "EH", "ER", "EY", "IH", "IX",
                    "IY", "OW", "OY", "UH", "UW"))
_SILENCES = frozenset(("SIL", "SP", "<S>", "</S>", "<SIL>", "++GARBAGE++"))


@dataclasses.dataclass(frozen=True)
class Segment:
    """One aligned phone or word: frames ``start..end`` inclusive (10 ms each)."""

    start: int
    end: int
    label: str

    @property
    def start_s(self) -> float:
        return self.start * ALIGNMENT_FRAME_S

    @property
    def end_s(self) -> float:
        return (self.end + 1) * ALIGNMENT_FRAME_S


_ROW = re.compile(r"^\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(\S.*?)\s*$")


def read_alignment(path) -> List[Segment]:
    """Segments of a Sphinx-3 ``.phseg`` / ``.wdseg`` file (header, rows, ``Total score:``).

    Phones are reduced to their base phone (``"AA SIL F b"`` -> ``AA``), words lose the
    pronunciation-variant suffix (``ROOM(2)`` -> ``ROOM``). A malformed row raises an error
    naming the file and line.
    """
    from zoo.data.records import CorpusError

    segments = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            text = line.strip()
            if not text or text.startswith("SFrm") or text.lower().startswith("total score"):
                continue
            m = _ROW.match(line)
            if not m:
                raise CorpusError(str(path), f"not an alignment row: {text!r}", line=lineno)
            start, end, label = int(m.group(1)), int(m.group(2)), m.group(4).split()[0]
            if end < start:
                raise CorpusError(str(path), f"end frame {end} before start frame {start}", line=lineno)
            segments.append(Segment(start, end, re.sub(r"\(\d+\)$", "", label)))
    return segments


def phone_class(label: str) -> str:
    """``"vowel"``, ``"consonant"`` or ``"other"`` (silence, fillers like ``+BREATH+``)."""
    base = re.sub(r"\d$", "", label.upper())  # stress digits of CMU-dict phones
    if base in VOWELS:
        return "vowel"
    if base in _SILENCES or base.startswith("+") or base.startswith("<") or not base.isalpha():
        return "other"
    return "consonant"


def frame_timing(extractor) -> Tuple[float, float]:
    """``(hop_s, first_centre_s)`` of an audio extractor's frames (``zoo.features``).

    Short-term features (``fbank``, ``mfcc_deltas``, ``paa_frames``): hop ``hop_ms``, frames
    start at sample 0, centre = half a window (when not centred). STFT features
    (``logmel``/``mfcc``/``chroma``): hop ``hop_length / sr``, librosa centres frames
    (centre of frame 0 = 0 s) unless ``center=False``.
    """
    if hasattr(extractor, "hop_ms"):
        hop = extractor.hop_ms / 1000.0
        offset = 0.0 if getattr(extractor, "center", False) else getattr(extractor, "win_ms", 0.0) / 2000.0
        return hop, offset
    if hasattr(extractor, "hop_length") and getattr(extractor, "sr", None):
        hop = extractor.hop_length / float(extractor.sr)
        window = getattr(extractor, "win_length", None) or getattr(extractor, "n_fft", 0)
        offset = 0.0 if getattr(extractor, "center", True) else window / 2.0 / extractor.sr
        return hop, offset
    raise ValueError(f"{extractor!r}: no frame timing (needs hop_ms, or hop_length and sr)")


def frame_centres(n_frames: int, hop_s: float, offset_s: float = 0.0) -> np.ndarray:
    """Centre time (s) of each of ``n_frames`` model frames."""
    return offset_s + hop_s * np.arange(int(n_frames))


def phones_of_frames(centres_s: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    """Index into ``segments`` of the segment holding each frame centre (-1: none)."""
    centres_s = np.asarray(centres_s, dtype=np.float64)
    out = np.full(len(centres_s), -1, dtype=np.int64)
    # A frame centre at time t lies in alignment frame floor(t / 10 ms).
    align_frame = np.floor(centres_s / ALIGNMENT_FRAME_S + 1e-9).astype(np.int64)
    for k, seg in enumerate(segments):
        out[(align_frame >= seg.start) & (align_frame <= seg.end)] = k
    return out


# ----------------------------------------------------------------------------- weights
def attention_inputs(model, spec) -> Dict[str, str]:
    """``{attention output name: input name it attends over}`` from the model's spec."""
    if spec.attention is None:
        raise ValueError(f"{spec.name} has no attention over time to explain")
    return dict(spec.attention.over(model))


def attention_weights(model, spec, inputs: Mapping[str, np.ndarray], probe=None) -> Dict[str, np.ndarray]:
    """Attention weights of ONE utterance: ``{name: (T,)}`` over the frames of the input it
    attends to (``attention_inputs``). ``inputs`` has no batch axis and no padding.

    ``probe``: ``spec.attention.probe(model)``, built once by the caller for many utterances
    (it is built here otherwise); its compiled call is kept on it and serves every length.
    """
    import keras

    attention = probe if probe is not None else spec.attention.probe(model)
    names = [t.name.split(":")[0] for t in attention.inputs]
    from zoo.pipeline import LENGTH_SUFFIX

    check_batch(attention, {n: inputs[n] for n in names if n in inputs}, batched=False, where="attention_weights",
                owner=f"{spec.name}'s attention probe")
    # A length input (``<name>_length``) not given is the unpadded utterance's own length.
    feed = {n: (np.asarray(inputs[n])[None] if n in inputs or not n.endswith(LENGTH_SUFFIX) else
                np.array([len(inputs[n[:-len(LENGTH_SUFFIX)]])], np.int32)) for n in names}
    call = getattr(attention, "_zoo_explain_call", None)
    if call is None:  # one graph for every length (reduce_retracing relaxes the time axis)
        import tensorflow as tf

        call = tf.function(lambda x: attention(x, training=False), reduce_retracing=True)
        attention._zoo_explain_call = call
    out = call(feed)
    return {k: np.asarray(keras.ops.convert_to_numpy(v))[0].astype(np.float64) for k, v in dict(out).items()}


def vowel_consonant_attention(items: Iterable[Tuple[np.ndarray, np.ndarray, Sequence[Segment]]]) -> dict:
    """Sec. 5.1 over a data set: mean attention on vowel, consonant and other frames.

    ``items``: per utterance ``(weights (T,), frame centres (T,) in s, phone segments)``.
    Frames are classed by the phone holding their centre; frames outside every phone count
    as "other". Returns per class the number of frames, the mean raw weight and the mean
    relative weight (weight x T: 1 = uniform attention), and ``vowel_over_consonant``
    (ratio of the relative means).
    """
    pooled = {"vowel": [], "consonant": [], "other": []}
    pooled_rel = {"vowel": [], "consonant": [], "other": []}
    utterances = 0
    for weights, centres, segments in items:
        weights = np.asarray(weights, dtype=np.float64)
        if len(weights) != len(centres):
            raise ValueError(f"{len(weights)} weights but {len(centres)} frame times")
        index = phones_of_frames(centres, segments)
        classes = np.array([phone_class(segments[i].label) if i >= 0 else "other" for i in index])
        for name in pooled:
            chosen = weights[classes == name]
            pooled[name].append(chosen)
            pooled_rel[name].append(chosen * len(weights))
        utterances += 1
    out = {"utterances": utterances}
    for name in pooled:
        raw = np.concatenate(pooled[name]) if pooled[name] else np.zeros(0)
        rel = np.concatenate(pooled_rel[name]) if pooled_rel[name] else np.zeros(0)
        out[name] = {"frames": int(raw.size), "mean_weight": float(raw.mean()) if raw.size else float("nan"),
                     "mean_relative": float(rel.mean()) if rel.size else float("nan")}
    c = out["consonant"]["mean_relative"]
    out["vowel_over_consonant"] = out["vowel"]["mean_relative"] / c if c and np.isfinite(c) else float("nan")
    return out
