"""One-call prediction with a released model::

    import zoo
    zoo.predict("speech.wav")                                   # -> {"path", "label", "probabilities"}
    zoo.predict(["a.wav", samples], sample_rate=44100, model="csa-emodb-smoke")   # -> one result per input
    python -m zoo predict a.wav b.flac --json                   # the same from the shell (zoo.__main__)

Input: audio file paths (anything :func:`zoo.features.audio.decode` reads: wav, flac, ogg, ...
through libsndfile, other containers through librosa/audioread), sample arrays ``(n,)`` or
``(n, channels)`` with ``sample_rate=`` (float in [-1, 1] or integer PCM), or
:class:`zoo.data.records.Record`\\ s. Any rate and channel count: the signal is decoded and
downmixed once (mean of the channels) and resampled once per rate the release's extractors
use (``librosa.resample``, soxr_hq), exactly as :mod:`zoo.features.audio` does for training.

Output, per input: ``{"path", "duration", "label", "probabilities": {label: p}}`` for a
classifier, ``{"path", "duration", "values": {target: v}}`` for a regression release (DSER's
valence/arousal/dominance). ``path`` is ``None`` for an array.

Windows: a recording longer than :data:`LONG_INPUT_SECONDS` (10 s) is cut into
:data:`WINDOW_SECONDS` (4 s) windows every :data:`HOP_SECONDS` (2 s); ``window=`` / ``hop=``
(seconds) override (``window=S`` cuts every recording longer than S, ``hop`` then defaults to
half the window; ``hop`` alone changes the default hop), ``window=0`` never cuts. Every window
has the same length; when the hops do not end exactly at the end of the recording, one last
window is aligned to its end (so the whole recording is covered). The result then has
``"windows": [{"start", "end", "label", "probabilities"}]`` (seconds) and its ``label`` /
``probabilities`` are the utterance-level summary: the mean of the window posteriors (the mean
of the window values for regression). A window whose features fail (e.g. a stretch of digital
silence) is listed as ``{"start", "end", "error"}`` and left out of the mean; when every window
fails, the input fails.

Chunked inference (a spec with ``chunking``, CSA: Jalal et al. 2020 Sec. 4.3.2): each window
(or the whole recording) is cut into the spec's fixed-length chunks
(:func:`zoo.features.spectral.chunk_frames`) whose posteriors are averaged
(:func:`zoo.features.spectral.average_chunk_posteriors`), as :mod:`zoo.experiment` evaluates;
a recording shorter than one chunk is a :class:`~zoo.features.base.TooShortError`, as it is
too short for the extractors' minimum (0.25 s). The recipe's ``truncate`` (AMH) is applied.

Text: a release with a text input (``word_ids`` / ``bert_tokens``) needs ``texts=`` (one
transcript per input; a Record's own ``transcript`` is used when ``texts`` is not given); such
releases predict whole recordings (the transcript belongs to the whole recording), so
``window=`` with them is an error.

Speaker normalisation: a release trained with features standardised per speaker (``normalize:
"speaker"`` in its manifest entry, the ``real_sn`` profile) gets the same at prediction: the
inputs of one speaker (``speakers=``, one name per input; default: every input of the call is one
speaker) are standardised by the mean and std, per dimension, of every frame of that speaker's
whole recordings (:func:`zoo.features.speaker_cmvn`). Pass several recordings of each speaker:
with one recording the statistics are its own, which removes its level (a warning says so).
A release trained with global CMVN (``normalize: "training"``, the ``real_gn_trim_peak``
profile) standardises every input by the mean and std of its training data, stored in its
entry (``normalization``): one recording is predicted on its own, as in training.

Fine-tuned models: ``model=`` also takes a ``my.weights.h5`` written by ``python -m zoo finetune``
(its ``my.weights.json`` sidecar beside it): the file is checked against the sidecar's sha256,
loaded into the graph the sidecar describes (:func:`zoo.finetune.load`), and predicted with the
release's features, labels in the sidecar's order, and the release's speaker normalisation.

The loaded model and extractors are cached per release for the life of the process
(:func:`load`, :func:`clear_cache`). Items of equal feature shape are batched together
(``batch_size``) across windows and inputs, never padded, so a window's posterior does not
depend on what else was predicted with it.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import types
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from zoo.model_inputs import InputShapeError, check_batch, expected_shapes

#: The release :func:`predict` uses when none is named: gru_bert's audio branches (Kumar et al.
#: 2021) trained with the `real_gn_trim_peak` profile on all ten EmoDB speakers, real acted German
#: speech, 4 classes (angry, happy, sad, neutral): silence trimmed, peak-normalised, standardised
#: by its training data's statistics, so it predicts one recording at a time at any gain (CV 0.690
#: mean class recall; 0.416 on RAVDESS, against 0.333 for the `real` release it replaces);
#: research use only, as EmoDB is.
DEFAULT_MODEL = "gru_bert-audio_only-emodb-real_gn_trim_peak"
#: Recordings longer than this (seconds) are cut into windows by default.
LONG_INPUT_SECONDS = 10.0
#: Default window length and hop (seconds) for long recordings.
WINDOW_SECONDS = 4.0
HOP_SECONDS = 2.0
#: Extractors that read a transcript rather than audio.
TEXT_EXTRACTORS = ("word_ids", "bert_tokens")
#: Errors of one input that ``on_error="report"`` turns into ``{"path", "error"}``.
INPUT_ERRORS = (ValueError, OSError, TypeError)


class InputError(InputShapeError):
    """An input :func:`predict` cannot use (empty, wrong shape, no rate, ...); names the input.
    A :class:`zoo.model_inputs.InputShapeError` (so a ``ValueError``)."""


@dataclasses.dataclass
class Predictor:
    """A loaded release: the model, its extractors and what the outputs mean."""

    release: str
    model: object
    extractors: Dict[str, object]
    input_names: List[str]
    kind: str                      # "classes" or "regression"
    names: List[str]               # class labels, or regression targets (output order)
    output_names: List[str]
    chunking: Optional[tuple]      # (frames, overlap, drop_short) or None
    truncate: Dict[str, int]
    text_inputs: List[str]
    normalize: Optional[str] = None  # "speaker" / "training": see the module docstring
    #: Global CMVN (``normalize="training"``): ``{input: (mean, std)}`` of the release's training data.
    statistics: Optional[dict] = None
    #: Inputs whose true length the model takes as ``<name>_length``: the items are never padded,
    #: so it is each item's own number of steps.
    length_inputs: List[str] = dataclasses.field(default_factory=list)
    _fn: object = dataclasses.field(default=None, repr=False)

    @property
    def normalized_inputs(self) -> List[str]:
        """The float frame / vector inputs that speaker normalisation standardises."""
        from zoo.features.normalize import is_speaker_normalised

        return [n for n in self.audio_inputs
                if is_speaker_normalised(self.extractors[n].shape, self.extractors[n].dtype)]

    @property
    def audio_inputs(self) -> List[str]:
        return [n for n in self.input_names if n not in self.text_inputs]

    def expected_shape(self, name: str) -> tuple:
        """The model input's shape without the batch axis (``None``: any length)."""
        return expected_shapes(self.model)[name]

    def check(self, batch, *, batched: bool = True, where: str = "batch") -> None:
        """:class:`InputError` naming ``where``, the input and the shapes unless ``batch`` (or one
        item, ``batched=False``) fits the model (:func:`zoo.model_inputs.check_batch`)."""
        try:
            check_batch(self.model, batch, batched=batched, where=where, owner=f"release {self.release!r}")
        except InputShapeError as error:
            raise InputError(*error.__reduce__()[1]) from None

    def feeds(self, batch: Mapping[str, np.ndarray]) -> list:
        """The model's inputs in its order: the batch's features and, for each length input, the
        batch's (unpadded) number of steps on every row."""
        from zoo.pipeline import LENGTH_SUFFIX

        out = []
        for tensor in self.model.inputs:
            name = tensor.name.split(":")[0]
            if name in batch:
                out.append(np.asarray(batch[name]))
            else:
                x = np.asarray(batch[name[:-len(LENGTH_SUFFIX)]])
                out.append(np.full(len(x), x.shape[1], np.int32))
        return out

    def __call__(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(B, C)`` posteriors, or ``(B, targets)`` values, of a batch of equal-shape items
        (:class:`InputError` when the batch does not fit the model, see :meth:`check`)."""
        import tensorflow as tf

        self.check(batch)
        if self._fn is None:
            model = self.model
            self._fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        x = [tf.constant(v) for v in self.feeds(batch)]
        out = self._fn(x[0] if len(x) == 1 else x)
        if isinstance(out, (list, tuple)):  # in the model's output order: mapped by name
            out = dict(zip(self.model.output_names, out))
        if isinstance(out, dict):
            out = [out[n] for n in self.output_names]
            return np.concatenate([np.asarray(o, dtype=np.float64).reshape(len(o), -1) for o in out], axis=1)
        return np.asarray(out, dtype=np.float64)


_CACHE: Dict[str, Predictor] = {}


def _needs_text(entry: dict) -> List[str]:
    return [name for name, spec in entry["features"].items() if spec["extractor"] in TEXT_EXTRACTORS]


def is_finetuned_file(model) -> bool:
    """Whether ``model`` names a fine-tuned weights file (``my.weights.h5``, or its ``.json``
    sidecar, as ``python -m zoo finetune`` writes them) rather than a release name."""
    return isinstance(model, os.PathLike) or str(model).endswith((".weights.h5", ".weights.json"))


def release_entry(model) -> dict:
    """The manifest entry of release ``model``, or for a fine-tuned file the same keys read from its
    sidecar (model, variant, build, outputs, features, normalize, inference). A ValueError names an
    unknown release, a missing file or a bad sidecar."""
    from zoo import finetune, weights

    if is_finetuned_file(model):
        try:
            data = finetune.info(model)
        except OSError as error:
            raise ValueError(str(error)) from None
        return {"name": os.fspath(model), "model": data["model"], "variant": data["variant"], "build": data["build"],
                "outputs": {"kind": "classes", "labels": [str(x) for x in data["labels"]]},
                "features": data["features"], "inference": data.get("inference"),
                **{k: data[k] for k in ("normalize", "normalization") if data.get(k) is not None}}
    try:
        return weights.get(model)
    except KeyError as error:
        raise ValueError(error.args[0]) from None


def _cache_key(release):
    """A release's name, or a fine-tuned file's absolute path with its size and time of change
    (a file written again is loaded again)."""
    if not is_finetuned_file(release):
        return release
    path = os.path.abspath(os.fspath(release))
    try:
        stat = os.stat(path)
    except OSError:
        return path
    return (path, stat.st_size, stat.st_mtime_ns)


def load(release: str = DEFAULT_MODEL) -> Predictor:
    """The :class:`Predictor` of ``release`` (loaded, verified, cached for the process): a release
    name, or a fine-tuned ``.weights.h5`` with its sidecar (:func:`zoo.finetune.load`)."""
    key = _cache_key(release)
    if key in _CACHE:
        return _CACHE[key]
    from zoo import finetune, registry, weights

    entry = release_entry(release)
    if is_finetuned_file(release):
        try:
            model, extractors, _ = finetune.load(release)
        except OSError as error:
            raise ValueError(str(error)) from None
        release = entry["name"]
    else:
        model = weights.load(release)
        extractors = weights.extractors(release)
    spec = registry.get_spec(entry["model"])
    from zoo.pipeline import length_inputs

    input_names, lengths = length_inputs([t.name.split(":")[0] for t in model.inputs])
    missing = sorted(set(input_names) - set(extractors))
    if missing:
        raise ValueError(f"release {release!r}: model inputs {missing} have no extractor in the manifest")
    outputs = entry["outputs"]
    kind = "classes" if outputs["kind"] == "classes" else "regression"
    names = list(outputs["labels"] if kind == "classes" else outputs["targets"])
    chunking = spec.chunking.options(entry["build"]) if spec.chunking is not None else None
    truncate = {k: int(v) for k, v in spec.variant(entry["variant"]).recipe.truncate.items() if k in input_names}
    predictor = Predictor(release, model, {n: extractors[n] for n in input_names}, input_names, kind, names,
                          list(model.output_names), chunking, truncate,
                          [n for n in input_names if extractors[n].name in TEXT_EXTRACTORS], lengths)
    if kind == "regression":  # one output per target, mapped by name (the model's order may differ)
        missing = sorted(set(names) - set(model.output_names))
        if missing:
            raise ValueError(f"release {release!r}: targets {missing} are not outputs of the model "
                             f"({model.output_names})")
        predictor.output_names = list(names)
    predictor.normalize = entry.get("normalize")
    if predictor.normalize == "training":
        from zoo.features.normalize import statistics_from_json

        predictor.statistics = statistics_from_json(entry.get("normalization") or {}, f"release {release!r}")
        if not predictor.statistics:
            raise ValueError(f"release {release!r}: normalize 'training' without its normalization statistics")
    _CACHE[key] = predictor
    return predictor


def clear_cache() -> None:
    """Forget every loaded release (frees the models)."""
    _CACHE.clear()


# ----------------------------------------------------------------------------- inputs
def _input_name(source, index: int) -> str:
    from zoo.data.records import Record

    if isinstance(source, Record):
        return str(source.audio_path or source.utterance_id)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"<array {index}>"


def _named(name: str, error: Exception) -> str:
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return message if name in message else f"{name}: {message}"


def _signal(source, name: str, sample_rate):
    """Mono float32 signal at the source's own rate, checked: ``(signal, rate, path or None)``."""
    from zoo.data.records import Record
    from zoo.features import audio

    if isinstance(source, Record):
        if not source.audio_path:
            raise InputError(f"{name}: record has no audio_path")
        source = source.audio_path
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        samples, rate = audio.decode(path)
        signal, rate = audio.prepare_signal(samples, rate, None, path)
        return signal, rate, path
    if not isinstance(source, np.ndarray):
        raise InputError(f"{name}: expected an audio file path, a numpy sample array or a Record, "
                         f"got {type(source).__name__}")
    if source.size == 0:
        raise InputError(f"{name}: empty input of shape {source.shape}; expected audio samples of shape "
                         "(n,) or (n, channels) with n > 0")
    try:
        samples, rate = audio.array_samples(source, sample_rate)
    except ValueError as error:
        raise InputError(_named(name, error)) from None
    signal, rate = audio.prepare_signal(samples, rate, None, name)
    return signal, rate, None


def check_window(window: Optional[float], hop: Optional[float]) -> None:
    """``ValueError`` for a negative window or a hop that is not positive."""
    if window is not None and (isinstance(window, bool) or not math.isfinite(float(window)) or float(window) < 0):
        raise ValueError(f"window must be >= 0 seconds (0: never cut), got {window!r}")
    if hop is not None and (isinstance(hop, bool) or not math.isfinite(float(hop)) or not float(hop) > 0):
        raise ValueError(f"hop must be > 0 seconds, got {hop!r}")


def spans(duration: float, window: Optional[float] = None, hop: Optional[float] = None):
    """The ``[(start, end), ...]`` windows (seconds) of a recording, or ``None`` when it is not
    cut (see the module docstring for the defaults)."""
    check_window(window, hop)
    if window is None:
        if duration <= LONG_INPUT_SECONDS:
            return None
        window, hop = WINDOW_SECONDS, (HOP_SECONDS if hop is None else hop)
    window = float(window)
    if window == 0 or duration <= window:
        return None
    hop = window / 2 if hop is None else float(hop)
    out, start = [], 0.0
    while start + window <= duration + 1e-9:
        out.append((start, start + window))
        start = round(start + hop, 9)
    if out[-1][1] < duration - 1e-9:
        out.append((duration - window, duration))  # the tail, aligned to the end
    return out


def _renamed(error, name: str):
    """A :class:`FeatureError` about ``<array>`` (a piece cut from an input) about ``name`` instead."""
    cls, args = error.__reduce__()[:2]
    return cls(name, *args[1:])


def _chunk_min_seconds(extractor, frames: int) -> float:
    win, hop = getattr(extractor, "win_ms", None), getattr(extractor, "hop_ms", None)
    return (win + (frames - 1) * hop) / 1000.0 if win and hop else float("nan")


def _items(predictor: Predictor, name: str, signals: Dict, rate: int, start: float, end: float, text):
    """The model items (``{input: array}``) of one window (or the whole recording)."""
    from zoo.data.records import Record
    from zoo.features.base import FeatureError, TooShortError
    from zoo.features.spectral import chunk_frames

    arrays = {}
    for input_name in predictor.audio_inputs:
        extractor = predictor.extractors[input_name]
        sr = extractor.sr or rate
        signal = signals[sr]
        piece = signal[int(round(start * sr)):int(round(end * sr))]
        try:
            arrays[input_name] = extractor.extract(piece, sample_rate=sr)
        except FeatureError as error:
            raise _renamed(error, name) from None
    for input_name in predictor.text_inputs:
        arrays[input_name] = predictor.extractors[input_name].extract(
            Record(utterance_id=name, corpus="file", transcript=text))
    for input_name, steps in predictor.truncate.items():
        arrays[input_name] = arrays[input_name][:steps]
    if predictor.chunking is None:
        items = [arrays]
    else:
        frames, overlap, drop_short = predictor.chunking
        variable = [n for n in predictor.audio_inputs if predictor.extractors[n].shape[0] is None]
        chunks = {n: chunk_frames(arrays[n], frames, overlap, drop_short=drop_short) for n in variable}
        count = len(chunks[variable[0]])
        if count == 0:
            extractor = predictor.extractors[variable[0]]
            need = _chunk_min_seconds(extractor, frames)
            raise TooShortError(name, f"audio too short for {predictor.release}: {end - start:.3f} s gives "
                                f"{len(arrays[variable[0]])} {extractor.name} frames, fewer than one "
                                f"{frames}-frame chunk (needs at least {need:.3f} s)", end - start, need)
        items = [{n: (chunks[n][c] if n in chunks else arrays[n]) for n in arrays} for c in range(count)]
    for item in items:  # each feature against the model's input, naming the recording
        predictor.check(item, batched=False, where=name)
    return items


def _run(predictor: Predictor, items: List[dict], batch_size: int) -> np.ndarray:
    """Outputs of every item, in order; equal-shape items batched together, none padded."""
    groups: Dict[tuple, List[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(tuple(item[n].shape for n in predictor.input_names), []).append(i)
    out = [None] * len(items)
    for rows in groups.values():
        for b in range(0, len(rows), batch_size):
            chunk = rows[b:b + batch_size]
            batch = {n: np.stack([items[i][n] for i in chunk]) for n in predictor.input_names}
            for i, row in zip(chunk, predictor(batch)):
                out[i] = row
    return np.stack(out) if out else np.zeros((0, len(predictor.names)))


def _describe(predictor: Predictor, vector: np.ndarray) -> dict:
    vector = [float(v) for v in vector]
    if predictor.kind == "classes":
        return {"label": predictor.names[int(np.argmax(vector))],
                "probabilities": dict(zip(predictor.names, vector))}
    return {"values": dict(zip(predictor.names, vector))}


# ----------------------------------------------------------------------------- predict
def predict(inputs, model: str = None, *, sample_rate: Union[None, int, Sequence[Optional[int]]] = None,
            window: Optional[float] = None, hop: Optional[float] = None, batch_size: int = 32,
            texts: Optional[Sequence[str]] = None, speakers: Optional[Sequence[str]] = None,
            on_error: str = "raise"):
    """Emotions of each input with a released model (see the module docstring).

    Args:
        inputs: one path / sample array / Record (then one result is returned), or a list or
            tuple of them (then a list of results, one per input, in order).
        model: a release of ``weights/manifest.json`` (default :data:`DEFAULT_MODEL`), or a
            fine-tuned ``.weights.h5`` written by ``python -m zoo finetune`` (its sidecar beside it).
        sample_rate: the rate of the sample arrays: one int for every array, or one entry per
            input (``None`` for paths). Files carry their own rate.
        window, hop: window length and hop in seconds (``window=0``: never cut); default: cut
            recordings longer than 10 s into 4 s windows every 2 s.
        batch_size: items per model call.
        texts: one transcript per input, for releases that read text.
        speakers: one speaker name per input, for releases trained with speaker normalisation
            (default: all inputs are one speaker); ignored by other releases.
        on_error: ``"raise"`` (default) raises the first bad input's error; ``"report"`` gives
            ``{"path", "error"}`` in its place and predicts the others.

    Raises:
        ValueError: an unknown release, a text release without ``texts``, bad window/hop;
            :class:`InputError` / :class:`zoo.features.base.FeatureError` (e.g.
            :class:`~zoo.features.base.TooShortError`) for a bad input, naming it.
    """
    from zoo.data.records import Record

    single = not isinstance(inputs, (list, tuple))
    sources = [inputs] if single else list(inputs)
    if on_error not in ("raise", "report"):
        raise ValueError(f"on_error must be 'raise' or 'report', got {on_error!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    release = model or DEFAULT_MODEL
    entry = release_entry(release)
    check_window(window, hop)
    text_inputs = _needs_text(entry)
    if text_inputs:
        if window:
            raise ValueError(f"release {release!r} reads text ({', '.join(text_inputs)}): it predicts whole "
                             "recordings, the transcript belongs to the whole recording; drop window=")
        window = 0
        given = texts is not None
        if texts is None:
            texts = [s.transcript if isinstance(s, Record) else None for s in sources]
        if isinstance(texts, str):
            texts = [texts]
        if len(texts) != len(sources) or not all(isinstance(t, str) and t.strip() for t in texts):
            kinds = ", ".join(f"{n} ({entry['features'][n]['extractor']})" for n in text_inputs)
            raise ValueError(f"release {release!r} reads text as well as audio (input {kinds}): pass texts=[one "
                             f"transcript per input] ({len(sources)} inputs"
                             + (f", {len(texts)} texts" if given else "") + ")")
    else:
        texts = [None] * len(sources)
    if isinstance(sample_rate, (list, tuple)):
        if len(sample_rate) != len(sources):
            raise ValueError(f"sample_rate has {len(sample_rate)} entries for {len(sources)} inputs")
        rates = list(sample_rate)
    else:
        rates = [sample_rate] * len(sources)
    if speakers is not None:
        speakers = [speakers] if isinstance(speakers, str) else list(speakers)
        if len(speakers) != len(sources):
            raise ValueError(f"speakers has {len(speakers)} entries for {len(sources)} inputs")
    predictor = load(release)

    results: List[Optional[dict]] = [None] * len(sources)
    whole: Dict[int, Dict[str, np.ndarray]] = {}  # speaker normalisation: each input's whole-recording frames
    items: List[dict] = []
    owners: List[tuple] = []  # (input index, window index or None) per item
    plans: Dict[int, dict] = {}
    for i, source in enumerate(sources):
        name = _input_name(source, i)
        path = None if isinstance(source, np.ndarray) else name
        try:
            signal, rate, _ = _signal(source, name, rates[i] if isinstance(source, np.ndarray) else None)
            duration = len(signal) / rate
            cuts = spans(duration, window, hop)
            signals = _resampled(predictor, signal, rate)
            plan = {"path": path, "name": name, "duration": duration, "cuts": cuts, "failed": {}}
            if predictor.normalize == "speaker":
                whole[i] = _whole_frames(predictor, name, signals, rate, duration)
            if cuts is None:
                for item in _items(predictor, name, signals, rate, 0.0, duration, texts[i]):
                    items.append(item)
                    owners.append((i, None))
            else:
                for w, (start, end) in enumerate(cuts):
                    try:
                        window_items = _items(predictor, name, signals, rate, start, end, texts[i])
                    except INPUT_ERRORS as error:
                        plan["failed"][w] = error
                        continue
                    items.extend(window_items)
                    owners.extend((i, w) for _ in window_items)
                if len(plan["failed"]) == len(cuts):
                    raise plan["failed"][0]
            plans[i] = plan
        except INPUT_ERRORS as error:
            if on_error == "raise":
                raise
            results[i] = {"path": path, "error": _named(name, error)}
    if predictor.normalize == "speaker":
        groups = _normalize_by_speaker(predictor, items, owners, whole, speakers or ["speaker"] * len(sources))
    elif predictor.normalize == "training":
        for item in items:  # every window and chunk alike, one recording at a time
            for input_name, (mean, std) in predictor.statistics.items():
                item[input_name] = ((item[input_name] - mean) / std).astype(np.float32)
    elif predictor.normalize is not None:
        raise ValueError(f"release {release!r}: unknown normalize={predictor.normalize!r} in its manifest entry")
    outputs = _run(predictor, items, int(batch_size))
    for i, plan in plans.items():
        results[i] = _result(predictor, plan, outputs, owners, i)
        if predictor.normalize == "speaker":
            results[i]["speaker"] = groups[i]
    return results[0] if single else results


def _whole_frames(predictor: Predictor, name: str, signals: Dict, rate: int, duration: float) -> Dict[str, np.ndarray]:
    """Each normalised input's features of the whole recording (what the speaker statistics use)."""
    from zoo.features.base import FeatureError

    out = {}
    for input_name in predictor.normalized_inputs:
        extractor = predictor.extractors[input_name]
        sr = extractor.sr or rate
        try:
            out[input_name] = np.asarray(extractor.extract(signals[sr], sample_rate=sr))
        except FeatureError as error:
            raise _renamed(error, name) from None
    return out


def _normalize_by_speaker(predictor: Predictor, items: List[dict], owners: List[tuple],
                          whole: Dict[int, Dict[str, np.ndarray]], speakers: Sequence[str]) -> Dict[int, str]:
    """Standardise every item in place by its speaker's statistics over the frames of that speaker's
    whole recordings (the readable inputs); returns each input's speaker."""
    import warnings

    from zoo.features.normalize import speaker_statistics

    groups: Dict[str, List[int]] = {}
    for i in whole:
        groups.setdefault(str(speakers[i]), []).append(i)
    stats = {}
    for speaker, inputs in groups.items():
        if len(inputs) < 2:
            warnings.warn(f"release {predictor.release!r} normalises features per speaker, but speaker {speaker!r} "
                          "has one recording: its statistics are that recording's own, which removes its level; "
                          "pass several recordings of each speaker (speakers=)", stacklevel=3)
        for input_name in predictor.normalized_inputs:
            stats[speaker, input_name] = speaker_statistics([whole[i][input_name] for i in inputs])
    for item, (i, _) in zip(items, owners):
        for input_name in predictor.normalized_inputs:
            mean, std = stats[str(speakers[i]), input_name]
            item[input_name] = ((item[input_name] - mean) / std).astype(np.float32)
    return {i: str(speakers[i]) for i in whole}


def _resampled(predictor: Predictor, signal: np.ndarray, rate: int) -> Dict[int, np.ndarray]:
    """The signal at each rate the audio extractors use (resampled once per rate)."""
    from zoo.features.audio import resample

    out = {}
    for name in predictor.audio_inputs:
        sr = predictor.extractors[name].sr or rate
        if sr not in out:
            out[sr] = np.asarray(resample(signal, rate, sr), dtype=np.float32)
    return out


def _result(predictor: Predictor, plan: dict, outputs: np.ndarray, owners: List[tuple], index: int) -> dict:
    """One input's result from its items' outputs (chunks averaged per window, windows per input)."""
    from zoo.features.spectral import average_chunk_posteriors

    rows = [k for k, (i, _) in enumerate(owners) if i == index]
    result = {"path": plan["path"], "duration": round(plan["duration"], 6)}
    if plan["cuts"] is None:
        result.update(_describe(predictor, outputs[rows].mean(axis=0)))
        return result
    cuts = plan["cuts"]
    which = np.asarray([owners[k][1] for k in rows])
    per_window = average_chunk_posteriors(outputs[rows], which, len(cuts))  # mean over each window's items
    windows, kept = [], []
    for w, (start, end) in enumerate(cuts):
        entry = {"start": round(start, 6), "end": round(end, 6)}
        if w in plan["failed"]:
            failure = plan["failed"][w]
            entry["error"] = getattr(failure, "problem", None) or str(failure)
        else:
            entry.update(_describe(predictor, per_window[w]))
            kept.append(per_window[w])
        windows.append(entry)
    result.update(_describe(predictor, np.mean(kept, axis=0)))
    result["windows"] = windows
    return result


# ----------------------------------------------------------------------------- plot
def plot(results: Sequence[dict], path, title: Optional[str] = None) -> int:
    """Emotions over time of the windowed results: one panel per input, one line per label
    (probabilities; values for regression) at each window's centre. Writes ``path`` (PNG with
    matplotlib's Agg backend) and returns the number of panels; a ``ValueError`` when no result
    has windows (nothing is written)."""
    windowed = [r for r in results if r.get("windows") and any("error" not in w for w in r["windows"])]
    if not windowed:
        raise ValueError("nothing to plot: no input was cut into windows (recordings up to "
                         f"{LONG_INPUT_SECONDS:g} s are predicted whole; pass window= to cut shorter ones)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(windowed), 1, figsize=(8, 2.6 * len(windowed)), squeeze=False)
    for ax, result in zip(axes[:, 0], windowed):
        good = [w for w in result["windows"] if "error" not in w]
        centres = [(w["start"] + w["end"]) / 2 for w in good]
        key = "probabilities" if "probabilities" in good[0] else "values"
        for label in good[0][key]:
            ax.plot(centres, [w[key][label] for w in good], marker="o", label=label)
        if key == "probabilities":
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, result.get("duration") or good[-1]["end"])
        ax.set_xlabel("time (s, window centre)")
        ax.set_ylabel("probability" if key == "probabilities" else "value")
        summary = f" (overall: {result['label']})" if "label" in result else ""
        ax.set_title(f"{os.path.basename(str(result.get('path') or '<array>'))}{summary}", fontsize=10)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    from zoo.io import atomic_path

    try:
        with atomic_path(os.fspath(path), suffix=".png") as tmp:  # no half-written plot left behind
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return len(windowed)



# ----------------------------------------------------------------------------- the CLI
def add_arguments(parser) -> None:
    """The options of ``python -m zoo predict`` (see :func:`main`)."""
    parser.add_argument("inputs", nargs="+", metavar="AUDIO", help="audio files (wav, flac, ogg, ...; any rate, "
                        "any channel count)")
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="RELEASE",
                        help=f"a release of weights/manifest.json (default {DEFAULT_MODEL}), or a fine-tuned "
                             "my.weights.h5 written by python -m zoo finetune")
    parser.add_argument("--window", type=float, metavar="S",
                        help=f"window length in seconds (default: {WINDOW_SECONDS:g} s windows for recordings "
                             f"longer than {LONG_INPUT_SECONDS:g} s; 0: never cut)")
    parser.add_argument("--hop", type=float, metavar="S",
                        help=f"hop between windows in seconds (default {HOP_SECONDS:g}, or half of --window)")
    parser.add_argument("--batch-size", type=int, default=32, help="items per model call (default 32)")
    parser.add_argument("--text", action="append", metavar="TRANSCRIPT",
                        help="a transcript, once per input in order (releases that read text)")
    parser.add_argument("--speakers", nargs="+", metavar="NAME",
                        help="one speaker name per input, for releases trained with speaker normalisation "
                             "(default: every input is one speaker)")
    parser.add_argument("--json", action="store_true", help="JSON Lines: one object per input")
    parser.add_argument("--plot", metavar="PNG", help="draw the emotions over time of the windowed inputs")


def _columns(results) -> tuple:
    for r in results:
        if "probabilities" in r:
            return "probabilities", list(r["probabilities"])
        if "values" in r:
            return "values", list(r["values"])
    return None, []


def format_table(results: Sequence[dict]) -> str:
    """A plain-text table of successful results: one row per input (its label and per-label
    probabilities, or its values), then one indented row per window."""
    good = [r for r in results if "error" not in r]
    key, names = _columns(good)
    if key is None:
        return ""
    rows = [["input", *(["label"] if key == "probabilities" else []), *names, "windows"]]
    number = (lambda v: f"{v:.3f}") if key == "probabilities" else (lambda v: f"{v:+.3f}")

    def row(first, entry, extra=""):
        return [first, *([entry["label"]] if key == "probabilities" else []),
                *(number(entry[key][n]) for n in names), extra]

    for r in good:
        windows = r.get("windows") or []
        rows.append(row(str(r["path"] if r["path"] is not None else "<array>"), r,
                        f"{len(windows)}" if windows else "-"))
        for w in windows:
            span = f"  {w['start']:.1f}-{w['end']:.1f} s"
            rows.append(row(span, w) if "error" not in w else [span, f"error: {w['error']}"])
    width = [max(len(r[c]) for r in rows if c < len(r) and not (len(r) == 2 and c == 1)) for c in range(len(rows[0]))]
    lines = []
    for r in rows:
        if len(r) == 2:  # a failed window: its message runs on
            lines.append(f"{r[0]:<{width[0]}}  {r[1]}")
            continue
        cells = [f"{r[0]:<{width[0]}}"] + [f"{c:<{width[1]}}" if (key == "probabilities" and j == 1)
                                           else f"{c:>{width[j]}}" for j, c in enumerate(r[1:], 1)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def main(args, stdout=None, stderr=None) -> int:
    """``python -m zoo predict``: 0 when every input was predicted (and the plot written), 1
    when an input (or the plot) failed, 2 when nothing could run (unknown release, text missing,
    bad options). A bad input is one line on stderr naming it (and, with ``--json``, an object
    ``{"path", "error"}`` in its place); the others are still predicted."""
    import json

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notes, unless asked for
    try:
        results = predict(list(args.inputs), args.model, window=args.window, hop=args.hop,
                          batch_size=args.batch_size, texts=args.text, speakers=getattr(args, "speakers", None),
                          on_error="report")
    except ValueError as error:  # the release or the options, not one input
        print(f"zoo predict: error: {error}", file=stderr)
        return 2
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"zoo predict: error: {r['error']}", file=stderr)
    if args.json:
        for r in results:
            print(json.dumps(r), file=stdout)
    else:
        table = format_table(results)
        if table:
            print(table, file=stdout)
    status = 1 if failed else 0
    if args.plot:
        try:
            panels = plot([r for r in results if "error" not in r], args.plot, title=args.model)
            print(f"zoo predict: wrote {args.plot} ({panels} windowed input{'s' * (panels != 1)})", file=stderr)
        except ValueError as error:
            print(f"zoo predict: error: --plot {args.plot}: {error}", file=stderr)
            status = 1
    return status


class _CallableModule(types.ModuleType):
    """The module is ``zoo.predict``; calling it calls :func:`predict` (``zoo.predict(...)``)."""

    def __call__(self, *args, **kwargs):
        return predict(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
