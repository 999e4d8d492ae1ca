"""Deployment: waveform-in models, and export to SavedModel, LiteRT and ONNX.

    from zoo import export
    model = export.waveform_model("csa-emodb-smoke")      # (B, N) 16 kHz float32 -> (B, 4) probabilities
    export.export("blstmatt-emodb-smoke", "litert", "blstmatt.tflite", waveform=True)
    run = export.load_artefact("blstmatt.tflite")          # in its own runtime (here the LiteRT interpreter)
    run(waveforms)                                         # (B, classes), labels in run.labels
    python -m zoo export blstmatt-emodb-smoke --format onnx --waveform --out blstmatt.onnx

Waveform-in (:func:`waveform_model`): each model input gets the in-graph front-end of its
release's extractor (:mod:`zoo.layers.frontends`, equal to the librosa extractors within the
tolerances stated there), so the model reads float32 mono waveforms ``(B, N)`` at the extractors'
rate (16 kHz for every committed waveform-capable release, and for extractors that keep each file's own
rate; no resampling in the graph) and returns
``(B, classes)`` in the release's label order. A spec with ``chunking`` (CSA, Jalal et al. 2020
Sec. 4.3.2) gets it in the graph: fixed-length chunks of each utterance, the chunk posteriors
averaged, as :func:`zoo.predict.predict` with ``window=0`` (the artefact never cuts a recording
into windows: cut long recordings before calling it). Variable lengths: by default every row is
one whole utterance of N samples (one utterance per call, or a batch of equal-length clips);
``lengths=True`` adds an int32 input ``lengths`` ``(B,)`` of real samples per zero-padded row, and
each row's output is what it gets alone. A model that takes ``<name>_length`` inputs (masks from
the true lengths) gets the frame counts the front-ends compute from the waveform's length (with
``lengths=True``, from each row's real samples; otherwise every row is full length). Rows shorter than the sidecar's ``min_samples`` (the
extractors' 0.25 s floor, or one CSA chunk) are outside the contract: the Python path refuses
them (``TooShortError``), a graph cannot raise, so such a row gives NaN when it yields no frame
(no CSA chunk) and otherwise an output from too few frames. Features that have no in-graph front-end (chroma,
pyAudioAnalysis HSF, word/BERT tokens, images, video) are an :class:`ExportError` naming the input;
export such a model with its feature inputs (``waveform=False``).

Formats (``model.export`` of Keras 3, TensorFlow backend):

* ``saved_model`` (``format="tf_saved_model"``): a directory; the endpoint is Keras' default
  ``serve`` (``tf.saved_model.load(path).serve(x)``).
* ``litert`` (``format="litert"``, LiteRT builtin ops only, so the plain interpreter of the
  ``ai-edge-litert`` package runs it; no Flex/TF ops): a ``.tflite`` file with one signature
  (``serving_default``). The converter lowers a recurrent layer's loop only with a static batch, so
  a model with an RNN (BLSTMATT) is exported with batch 1 (the sidecar's ``input.batch``;
  :func:`load_artefact` runs a batch row by row). An op that LiteRT's builtins lack is an
  :class:`ExportError` naming it.
* ``onnx`` (``format="onnx"``, through ``tf2onnx``): a ``.onnx`` file. tf2onnx leaves an op it cannot
  convert in the graph; the export reads the file back with ``onnx`` and raises an
  :class:`ExportError` naming every node that is not a standard ONNX op, leaving no file.

Every artefact has a sidecar JSON, ``<out>.json`` (``blstmatt.tflite.json``; for a SavedModel
directory ``blstmatt_savedmodel.json`` beside it): the labels in output order, the input (kind,
name, shape, dtype, sample rate, ``lengths``, ``min_samples``) and each feature's extractor
configuration, chunking, and the versions that made it. Artefact and sidecar are written to
temporary names and renamed into place: no partial file on failure. Extras: ``pip install
zoo-ser[onnx]`` (tf2onnx, onnx, onnxruntime) and ``zoo-ser[litert]`` (ai-edge-litert, the
interpreter; the converter is TensorFlow's own).
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np

SCHEMA = 1
KIND = "zoo.export"
#: Our format names -> Keras' ``model.export(format=...)``.
FORMATS = {"saved_model": "tf_saved_model", "litert": "litert", "onnx": "onnx"}
SUFFIXES = {"saved_model": "", "litert": ".tflite", "onnx": ".onnx"}
#: The packages each format needs beyond TensorFlow, for export and for running the artefact.
EXTRAS = {"saved_model": {}, "litert": {"run": "ai_edge_litert"},
          "onnx": {"export": "tf2onnx", "check": "onnx", "run": "onnxruntime"}}
EXTRA_NAMES = {"litert": "litert", "onnx": "onnx"}
WAVEFORM_INPUT = "waveform"
LENGTHS_INPUT = "lengths"
#: The rate of a waveform-in model whose extractors keep each file's own rate (gru_bert's default).
WAVEFORM_RATE = 16000


class ExportError(ValueError):
    """A model or feature that a format (or the waveform front-ends) cannot hold; names what and why."""


class MissingExtraError(ExportError):
    """An optional package that a format needs is not installed (names it and the extra)."""


def require(module: str, fmt: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the ``zoo-ser[...]`` extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"{fmt} needs the optional package {module!r}: pip install "
                                f"'zoo-ser[{EXTRA_NAMES.get(fmt, fmt)}]'") from None


# ----------------------------------------------------------------------------- sources
@dataclasses.dataclass
class Source:
    """A model to export and what it reads: ``features`` maps each model input to its extractor's
    ``config()`` (None where unknown); ``chunking`` is ``(frames, overlap, drop_short)`` or None."""

    model: object
    name: str
    model_name: Optional[str]
    labels: Optional[List[str]]
    kind: str
    features: Dict[str, Optional[dict]]
    chunking: Optional[tuple]
    truncate: Dict[str, int]
    release: Optional[str] = None

    @property
    def input_names(self) -> List[str]:
        return [_tensor_name(t) for t in self.model.inputs]


def _tensor_name(tensor) -> str:
    return str(tensor.name).split(":")[0]


def _spec_of(model_name: Optional[str]):
    from zoo import registry

    if not model_name:
        return None, None
    try:
        spec = registry.get_spec(model_name)
    except ValueError:
        return None, None
    _, variant = registry.split_name(model_name)
    try:
        return spec, spec.variant(variant)
    except ValueError:
        return spec, None


def _recipe_features(variant, input_names) -> Dict[str, Optional[dict]]:
    from zoo import features
    from zoo.layers.frontends import NOT_IN_GRAPH

    from zoo.pipeline import length_inputs

    out = {}
    for name in length_inputs(input_names)[0]:  # a <name>_length input is no feature
        spec = variant.recipe.features.get(name) if variant is not None else None
        if spec is None or spec.extractor in NOT_IN_GRAPH:  # named only (a tokeniser may need its files)
            out[name] = None if spec is None else {"name": spec.extractor}
            continue
        out[name] = features.get(spec).config()
    return out


def resolve(source, model: Optional[str] = None) -> Source:
    """A :class:`Source` from a release name, a ``.keras`` file, a fine-tuned ``.weights.h5`` (with
    its sidecar) or a ``keras.Model``. For a ``.keras`` file or a model, ``model`` (``"csa[:variant]"``,
    default the Keras model's name) names the registry spec whose recipe gives the features."""
    import keras

    import zoo.layers  # noqa: F401  (registers the zoo's layers for .keras files)
    from zoo import labels_of, registry, weights

    if isinstance(source, Source):
        return source
    if isinstance(source, (str, os.PathLike)) and str(source) in weights.releases():
        release = str(source)
        entry = weights.get(release)
        keras_model = weights.load(release)
        spec, variant = _spec_of(f"{entry['model']}:{entry['variant']}")
        outputs = entry["outputs"]
        kind = "classes" if outputs["kind"] == "classes" else "regression"
        configs = {name: dict(extractor.config()) for name, extractor in weights.extractors(release).items()}
        chunking = spec.chunking.options(entry["build"]) if spec.chunking is not None else None
        truncate = {k: int(v) for k, v in variant.recipe.truncate.items()}
        return Source(keras_model, release, f"{entry['model']}:{entry['variant']}", weights.labels(release), kind,
                      {n: configs.get(n) for n in [_tensor_name(t) for t in keras_model.inputs]}, chunking,
                      truncate, release)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: neither a release of weights/manifest.json "
                                    f"({', '.join(weights.releases())}) nor an existing file")
        if str(path).endswith(".weights.h5"):
            from zoo import finetune

            if not finetune.is_finetuned(path):
                raise ExportError(f"{path}: a .weights.h5 file exports only with the sidecar `python -m zoo "
                                  "finetune` writes beside it (the graph and features are unknown otherwise)")
            keras_model, extractors, labels = finetune.load(path)
            data = finetune.info(path)
            model_name = f"{data['model']}:{data['variant']}"
            spec, variant = _spec_of(model_name)
            chunking = spec.chunking.options(data["build"]) if spec is not None and spec.chunking else None
            truncate = {k: int(v) for k, v in variant.recipe.truncate.items()} if variant is not None else {}
            return Source(keras_model, str(path), model_name, list(labels), "classes",
                          {n: dict(extractors[n].config()) if n in extractors else None
                           for n in [_tensor_name(t) for t in keras_model.inputs]}, chunking, truncate)
        if path.suffix != ".keras":
            raise ExportError(f"{path}: expected a release name, a .keras file or a fine-tuned .weights.h5")
        registry.specs()  # every model module's custom layers registered before deserialising
        try:
            keras_model = keras.saving.load_model(path, compile=False)
        except Exception as error:  # noqa: BLE001 - any failure to deserialise, named
            raise ExportError(f"{path}: cannot load the .keras file ({type(error).__name__}: {error})") from None
        name = str(path)
    elif isinstance(source, keras.Model):
        keras_model, name = source, source.name
    else:
        raise TypeError(f"expected a release name, a .keras path or a keras.Model, got {type(source).__name__}")
    model_name = model or keras_model.name
    spec, variant = _spec_of(model_name)
    chunking = None
    if spec is not None and spec.chunking is not None:
        frames = keras_model.inputs[0].shape[1]
        chunking = (int(frames or spec.chunking.default_frames), spec.chunking.overlap, spec.chunking.drop_short)
    labels = labels_of(keras_model)
    return Source(keras_model, name, model_name if spec is not None else None,
                  list(labels) if labels is not None else None, "classes" if labels is not None else "outputs",
                  _recipe_features(variant, [_tensor_name(t) for t in keras_model.inputs]), chunking,
                  {k: int(v) for k, v in variant.recipe.truncate.items()} if variant is not None else {})


def _normalization(src: Source) -> Optional[str]:
    """The release's normalisation beyond its extractors, ``"speaker"`` or ``"training"`` (None for
    other sources)."""
    from zoo import weights

    return weights.normalization(src.release) if src.release else None


def _statistics(src: Source) -> dict:
    """A globally normalised release's ``{input: {"mean", "std"}}``: standardise each input by them."""
    from zoo import weights

    return weights.get(src.release)["normalization"]


def source_of_build(model, name: str, weights=None) -> Source:
    """The :class:`Source` of a model ``zoo.build(name, weights=weights, ...)`` returned: the features,
    chunking and truncation of the release or fine-tuned file ``weights`` names (the model itself
    may have a new head or frozen layers), else of ``name``'s recipe."""
    from zoo import labels_of, weights as releases

    if weights is not None and (str(weights) in releases.releases() or str(weights).endswith(".weights.h5")):
        try:
            known = resolve(weights)
        except ExportError:  # a plain weights file without a sidecar: the recipe's features
            known = None
        if known is not None:
            labels = labels_of(model)
            return dataclasses.replace(known, model=model, name=f"{known.name} ({model.name})",
                                       labels=list(labels) if labels is not None else known.labels)
    return resolve(model, name)


# ----------------------------------------------------------------------------- waveform-in
def _min_samples(layer, config: dict, chunk: Optional[int]) -> int:
    """Fewest samples a row needs: the extractor's floor (0.25 s and its analysis), and one chunk."""
    from zoo import features

    extractor = features.get(config["name"], **{k: v for k, v in _extractor_options(config).items()})
    need = extractor.required_samples(layer.sample_rate)
    if chunk:
        win, hop = layer.n_fft, layer.hop_length
        need = max(need, (chunk - 1) * hop + (0 if layer.center else win))
    return int(need)


def _extractor_options(config: dict) -> dict:
    """Constructor options of the extractor that has ``config`` (the keys its ``__init__`` takes)."""
    import inspect

    from zoo import features

    cls = features.EXTRACTORS[config["name"]]
    accepted = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            accepted |= set(inspect.signature(klass.__init__).parameters)
    return {k: v for k, v in config.items() if k in accepted and k not in ("self", "name")}


def waveform_model(source, *, lengths: bool = False, model: Optional[str] = None, name: Optional[str] = None):
    """A Keras model from waveforms ``(B, N)`` (and ``lengths`` ``(B,)`` with ``lengths=True``) to the
    source model's outputs, with the in-graph front-ends and, for a chunked spec, chunking and the
    posterior mean (see the module docstring). ``source``: a release, a ``.keras`` file, a fine-tuned
    ``.weights.h5`` or a ``keras.Model`` (``model=`` names its spec). The returned model carries
    ``zoo_export`` (its input description) for :func:`export`."""
    import keras

    from zoo.layers import frontends
    from zoo.pipeline import LENGTH_SUFFIX, length_inputs

    src = resolve(source, model)
    if _normalization(src) == "training":
        raise ExportError(f"{src.name}: its features are standardised by its training data's statistics (normalize: "
                          "training), which the waveform front-end does not apply; export it with its feature inputs "
                          "(without --waveform): the sidecar's normalization gives the mean and std of each input")
    if _normalization(src):
        raise ExportError(f"{src.name}: its features are standardised per speaker (normalize: speaker), which needs "
                          "several recordings of the speaker, not one waveform; export it with its feature inputs "
                          "(without --waveform) and standardise them per speaker as zoo.features.speaker_cmvn does")
    feature_names, with_lengths = length_inputs(src.input_names)
    problems, layers = [], {}
    for input_name in feature_names:
        config = src.features.get(input_name)
        if config is None:
            problems.append(f"input {input_name!r}: no feature configuration is known (a release, a fine-tuned "
                            "file or a registered model name gives one)")
            continue
        try:
            layers[input_name] = frontends.frontend_for(config, sample_rate=WAVEFORM_RATE,
                                                        name=f"{input_name}_frontend", return_frames=True)
        except frontends.NotInGraphError as error:
            problems.append(f"input {input_name!r}: {error}")
    if problems:
        raise ExportError(f"{src.name}: cannot make a waveform-in model: " + "; ".join(problems)
                          + ". Export it with its feature inputs instead (without --waveform).")
    applied = sorted(set(src.truncate) & set(src.input_names))
    if applied:
        raise ExportError(f"{src.name}: the recipe truncates inputs {applied}; waveform-in models do not truncate")
    rates = {(lay[0] if isinstance(lay, list) else lay).sample_rate for lay in layers.values()}
    if len(rates) != 1:
        raise ExportError(f"{src.name}: its inputs read audio at different rates {sorted(rates)}; a waveform-in "
                          "model takes one rate")
    rate = rates.pop()
    wave = keras.Input((None,), name=WAVEFORM_INPUT, dtype="float32")
    count = keras.Input((), name=LENGTHS_INPUT, dtype="int32") if lengths else None
    feats, frames, need = {}, {}, 0
    chunk = src.chunking[0] if src.chunking else None
    for input_name, layer in layers.items():
        front, cmvn = (layer if isinstance(layer, list) else (layer, None))
        x, n = front([wave, count] if lengths else wave)
        if cmvn is not None:
            x = cmvn([x, n])
        feats[input_name], frames[input_name] = x, n
        need = max(need, _min_samples(front, src.features[input_name], chunk))
    if src.chunking:
        if len(feats) != 1:
            raise ExportError(f"{src.name}: chunked inference with {len(feats)} inputs is not supported")
        (input_name, x), = feats.items()
        frames_, overlap, drop_short = src.chunking
        if not drop_short:
            raise ExportError(f"{src.name}: chunking that pads short utterances is not supported in-graph")
        if with_lengths:
            raise ExportError(f"{src.name}: chunked inference of a model with length inputs "
                              f"{[n + LENGTH_SUFFIX for n in with_lengths]} is not supported in-graph")
        chunks, counts = frontends.ChunkFrames(frames_, overlap, name="chunks")([x, frames[input_name]])
        outputs = frontends.MaskedMean(name="utterance_posteriors")([src.model(chunks), counts])
    else:
        for input_name, tensor in zip(src.input_names, src.model.inputs):
            if input_name not in feats:  # a <name>_length input: the front-end's frame counts
                continue
            fixed = tuple(tensor.shape[1:])
            got = tuple(feats[input_name].shape[1:])
            if len(fixed) != len(got) or any(f is not None and f != g for f, g in zip(fixed, got)):
                raise ExportError(f"{src.name}: input {input_name!r} expects features of shape {fixed}, its "
                                  f"front-end gives {got}")
        feats.update({n + LENGTH_SUFFIX: frames[n] for n in with_lengths})
        args = feats[src.input_names[0]] if len(feats) == 1 else {n: feats[n] for n in src.input_names}
        outputs = src.model(args)
    inputs = {WAVEFORM_INPUT: wave, LENGTHS_INPUT: count} if lengths else wave
    result = keras.Model(inputs, outputs, name=name or f"{src.model.name}_waveform")
    result.zoo_export = {
        "source": src, "sample_rate": rate, "lengths": bool(lengths), "min_samples": need,
    }
    return result


# ----------------------------------------------------------------------------- export
def sidecar_path(out) -> Path:
    """The sidecar of an artefact: ``<out>.json``."""
    out = Path(out)
    return out.with_name(out.name.rstrip("/") + ".json")


def _has_rnn(model) -> bool:
    import keras

    def walk(layer):
        if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            return True
        return any(walk(sub) for sub in getattr(layer, "layers", []) or [])

    return walk(model)


def _signature(model, batch: Optional[int]):
    """``input_signature`` of ``model.export`` for its inputs with the batch axis ``batch``."""
    import tensorflow as tf

    def spec(tensor):
        return tf.TensorSpec((batch, *tensor.shape[1:]), tf.as_dtype(tensor.dtype), name=_tensor_name(tensor))

    structure = model._inputs_struct if hasattr(model, "_inputs_struct") else model.inputs
    if isinstance(structure, dict):
        return [{k: spec(v) for k, v in structure.items()}]
    if isinstance(structure, (list, tuple)):
        return [[spec(t) for t in structure]] if len(structure) > 1 else [spec(structure[0])]
    return [spec(structure)]


def _unsupported_litert(message: str) -> List[str]:
    ops = re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", message)
    ops += re.findall(r"failed to legalize operation '(tf\.\w+)'", message)
    for line in re.findall(r"Custom ops: ([^\n]+)", message):
        ops += [f"tf.{o.strip()}" for o in line.split(",") if o.strip()]
    return sorted(set(ops))


def _check_onnx(path: Path) -> List[str]:
    """Nodes of the ONNX file that are not standard ONNX ops (``op_type (node name)``)."""
    onnx = require("onnx", "onnx")
    graph = onnx.load(str(path))
    bad = set()

    def visit(g):
        for node in g.node:
            if not onnx.defs.has(node.op_type, node.domain or ""):
                bad.add(f"{node.op_type} ({node.name})")
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    visit(attr.g)
                for sub in attr.graphs:
                    visit(sub)

    visit(graph.graph)
    return sorted(bad)


def _versions(fmt: str) -> dict:
    import keras
    import tensorflow as tf

    import zoo

    out = {"zoo": zoo.__version__, "keras": keras.__version__, "tensorflow": tf.__version__,
           "python": sys.version.split()[0]}
    if fmt == "onnx":
        for module in ("tf2onnx", "onnx"):
            try:
                out[module] = __import__(module).__version__
            except ImportError:
                pass
    return out


def _describe_inputs(model, batch) -> List[dict]:
    from zoo.pipeline import length_inputs

    lengths = {f"{n}_length": n for n in length_inputs([_tensor_name(t) for t in model.inputs])[1]}
    return [{"name": _tensor_name(t), "shape": [batch, *t.shape[1:]], "dtype": str(t.dtype),
             **({"notes": f"true steps of each row of {lengths[_tensor_name(t)]!r} (before its zero padding); "
                          "the mask comes from it"} if _tensor_name(t) in lengths else {})}
            for t in model.inputs]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def export(source, format: str, out, *, waveform: bool = False, lengths: bool = False,
           model: Optional[str] = None, batch: Optional[int] = None, verbose: bool = False) -> Path:
    """Export ``source`` (a release, ``.keras``, fine-tuned ``.weights.h5`` or ``keras.Model``) as
    ``format`` (``saved_model``, ``litert``, ``onnx``) to ``out``, with its sidecar ``<out>.json``.

    ``waveform=True`` exports :func:`waveform_model` (with ``lengths``); otherwise the model with its
    feature inputs. ``batch`` fixes the batch axis (default: any; 1 for LiteRT when the model has an
    RNN). Returns the artefact's path. :class:`ExportError` when the format cannot hold the model
    (naming the unsupported ops), :class:`MissingExtraError` when a needed package is absent.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    out = Path(out)
    suffix = SUFFIXES[format]
    if suffix and out.suffix != suffix:
        raise ValueError(f"{out}: a {format} artefact is a {suffix} file (got {out.suffix or 'no suffix'!r})")
    if not suffix and out.suffix in (".tflite", ".onnx", ".keras", ".json"):
        raise ValueError(f"{out}: a SavedModel is a directory; {out.suffix!r} names another format")
    if "export" in EXTRAS[format]:
        require(EXTRAS[format]["export"], format)
    if lengths and not waveform:
        raise ValueError("lengths=True is for waveform-in models (waveform=True)")
    if waveform:
        keras_model = waveform_model(source, lengths=lengths, model=model)
        info = keras_model.zoo_export
        src = info["source"]
    else:
        src = resolve(source, model)
        keras_model, info = src.model, None
    if batch is None and format == "litert" and _has_rnn(keras_model):
        batch = 1  # the converter lowers an RNN's TensorList only with a static element shape
    if batch is not None and int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    signature = _signature(keras_model, batch)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.part{os.getpid()}{suffix}")
    side, side_tmp = sidecar_path(out), sidecar_path(tmp)
    _remove(tmp)
    try:
        options = {}
        if format == "litert":
            import tensorflow as tf

            # Builtin ops only: the artefact runs on the plain LiteRT interpreter (no Flex delegate).
            options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
        try:
            with warnings.catch_warnings():  # Keras' tf2onnx shim probes np.object (a FutureWarning)
                warnings.simplefilter("ignore", FutureWarning)
                keras_model.export(str(tmp), format=FORMATS[format], verbose=verbose, input_signature=signature,
                                   **options)
        except Exception as error:  # noqa: BLE001 - the converter's own error, reworded with the op names
            if format == "litert" and type(error).__name__ == "ConverterError":
                ops = _unsupported_litert(str(error))
                detail = (f"ops not in LiteRT's builtins: {', '.join(ops)}" if ops
                          else str(error).strip().splitlines()[-1][:500])
                raise ExportError(f"{src.name}: LiteRT cannot hold this model ({detail})") from None
            raise
        if format == "onnx":
            bad = _check_onnx(tmp)
            if bad:
                raise ExportError(f"{src.name}: ONNX cannot hold this model: tf2onnx left ops that are not standard "
                                  f"ONNX: {', '.join(bad)}")
        sidecar = _sidecar(src, keras_model, info, format, out, batch)
        side_tmp.write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
        _remove(out)
        os.replace(tmp, out)
        os.replace(side_tmp, side)
    finally:
        _remove(tmp)
        _remove(side_tmp)
    return out


def _sidecar(src: Source, keras_model, info: Optional[dict], fmt: str, out: Path, batch) -> dict:
    outputs = {"kind": src.kind, "shape": [batch, *keras_model.outputs[0].shape[1:]]}
    if len(keras_model.outputs) > 1:  # run() concatenates them, in this order, along the last axis
        outputs["names"] = list(keras_model.output_names)
        outputs["shapes"] = [[batch, *t.shape[1:]] for t in keras_model.outputs]
        del outputs["shape"]
    if src.kind == "classes":
        outputs["labels"] = list(src.labels or [])
    elif src.kind == "regression":
        outputs["targets"] = list(src.labels or [])
    if info is not None:
        rate = info["sample_rate"]
        shape = [batch, None]
        entry = {"kind": "waveform", "name": WAVEFORM_INPUT, "shape": shape, "dtype": "float32",
                 "sample_rate": rate, "channels": 1, "range": "float in [-1, 1] (integer PCM / full scale)",
                 "lengths": info["lengths"], "min_samples": info["min_samples"],
                 "min_seconds": round(info["min_samples"] / rate, 6),
                 "notes": ("each row one utterance of N samples" if not info["lengths"] else
                           f"rows zero-padded to N; input {LENGTHS_INPUT!r} (B,) int32 gives each row's real "
                           "samples") + "; rows shorter than min_samples are refused by the Python path (TooShortError): here they give "
                          "NaN when they yield no frame (no chunk), otherwise an output from too few frames"}
        if info["lengths"]:
            entry["inputs"] = [{"name": WAVEFORM_INPUT, "shape": shape, "dtype": "float32"},
                               {"name": LENGTHS_INPUT, "shape": [batch], "dtype": "int32"}]
    else:
        entry = {"kind": "features", "inputs": _describe_inputs(keras_model, batch)}
    endpoint = {"saved_model": {"endpoint": "serve"}, "litert": {"signature": "serving_default"},
                "onnx": {}}[fmt]
    structure = getattr(keras_model, "_inputs_struct", None)
    endpoint["inputs"] = ("dict" if isinstance(structure, dict) else
                          "list" if isinstance(structure, (list, tuple)) and len(structure) > 1 else "single")
    endpoint["input_names"] = [_tensor_name(t) for t in keras_model.inputs]
    return {
        "kind": KIND, "schema": SCHEMA, "format": fmt, "artefact": out.name,
        "source": {"name": src.name, "release": src.release, "model": src.model_name},
        "input": {**entry, "batch": batch},
        "outputs": outputs,
        "features": {name: config for name, config in src.features.items()},
        "frontend": ({"in_graph": True, "layers": "zoo.layers.frontends",
                      "matches": "the librosa extractors within zoo.layers.frontends.TOLERANCES"}
                     if info is not None else {"in_graph": False}),
        "chunking": (None if not src.chunking else
                     {"frames": src.chunking[0], "overlap": src.chunking[1], "drop_short": src.chunking[2],
                      "utterance": "mean of the chunk posteriors" + (" (in the graph)" if info else "")}),
        "normalize": _normalization(src),
        **({"normalization": _statistics(src)} if _normalization(src) == "training" else {}),
        "runtime": endpoint,
        "date": datetime.date.today().isoformat(),
        "versions": _versions(fmt),
    }


def read_sidecar(out) -> dict:
    """The sidecar of an artefact (a clear error when it is missing or not ours)."""
    side = sidecar_path(out)
    if not side.is_file():
        raise FileNotFoundError(f"{side}: no sidecar beside {out} (written by zoo.export)")
    data = json.loads(side.read_text(encoding="utf-8"))
    if data.get("kind") != KIND:
        raise ValueError(f"{side}: not a zoo.export sidecar (kind {data.get('kind')!r})")
    return data


# ----------------------------------------------------------------------------- running artefacts
class Artefact:
    """An exported artefact in its own runtime: ``run(x)`` -> ``(B, outputs)`` float32 (a model with
    several outputs, e.g. DSER's valence/arousal/dominance heads: their columns side by side, in the
    sidecar's ``outputs.names`` order).

    ``x``: waveforms ``(B, N)`` (with ``lengths=`` for a ``lengths`` model), or for a feature model
    one array (single input) or ``{input: array}``. A batch-1 artefact runs a batch row by row.
    ``threads`` sets the runtime's intra-op threads (LiteRT, onnxruntime; TensorFlow's are global).
    """

    def __init__(self, path, threads: Optional[int] = None):
        self.path = Path(path)
        self.sidecar = read_sidecar(self.path)
        self.format = self.sidecar["format"]
        self.labels = self.sidecar["outputs"].get("labels")
        self.batch = self.sidecar["input"].get("batch")
        self._open(threads)

    def _open(self, threads):
        if self.format == "saved_model":
            import tensorflow as tf

            self._loaded = tf.saved_model.load(str(self.path))  # kept: .serve refers to its variables
            self._serve = self._loaded.serve
        elif self.format == "litert":
            litert = require("ai_edge_litert.interpreter", "litert")
            self._interpreter = litert.Interpreter(model_path=str(self.path), num_threads=threads)
            self._runner = self._interpreter.get_signature_runner()
        else:
            ort = require("onnxruntime", "onnx")
            options = ort.SessionOptions()
            # No spin-waiting of idle worker threads after a call: on a few shared cores it takes
            # the CPU from whatever runs next (seen here: zoo.predict 4x slower beside it).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if threads:
                options.intra_op_num_threads = int(threads)
                options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _feeds(self, x, lengths) -> Dict[str, np.ndarray]:
        entry = self.sidecar["input"]
        if entry["kind"] == "waveform":
            feeds = {WAVEFORM_INPUT: np.ascontiguousarray(x, dtype=np.float32)}
            if entry.get("lengths"):
                if lengths is None:
                    lengths = np.full(len(x), np.shape(x)[1])
                feeds[LENGTHS_INPUT] = np.asarray(lengths, dtype=np.int32).reshape(-1)
            return feeds
        names = [i["name"] for i in entry["inputs"]]
        dtypes = {i["name"]: i["dtype"] for i in entry["inputs"]}
        arrays = dict(x) if isinstance(x, dict) else {names[0]: x}
        from zoo.pipeline import length_inputs

        for name in length_inputs(names)[1]:  # a length not given: every row is unpadded, full length
            if f"{name}_length" not in arrays:
                arrays[f"{name}_length"] = np.full(len(arrays[name]), np.shape(arrays[name])[1], np.int32)
        return {n: np.ascontiguousarray(arrays[n], dtype=dtypes[n]) for n in names}

    def _run(self, feeds: Dict[str, np.ndarray]) -> np.ndarray:
        if self.format == "saved_model":
            import tensorflow as tf

            args = {k: tf.constant(v) for k, v in feeds.items()}
            structure = self.sidecar["runtime"]["inputs"]
            if structure == "list":  # the serve endpoint takes the model's inputs as one list, in order
                out = self._serve([args[n] for n in self.sidecar["runtime"]["input_names"]])
            else:
                out = self._serve(args if structure == "dict" else next(iter(args.values())))
        elif self.format == "litert":
            out = self._runner(**feeds)
        else:
            names = [i.name for i in self._session.get_inputs()]
            out = self._session.run(None, {n: feeds[n] for n in names})
        if isinstance(out, dict):  # LiteRT: output_0, output_1, ... in the model's output order
            out = [out[k] for k in sorted(out, key=lambda k: int(re.sub(r"\D", "", k) or 0))]
        if isinstance(out, (list, tuple)):
            out = np.concatenate([np.asarray(o, dtype=np.float32).reshape(len(o), -1) for o in out], axis=1)
        return np.asarray(out, dtype=np.float32)

    def __call__(self, x, lengths=None) -> np.ndarray:
        from zoo.model_inputs import check_batch

        entry = self.sidecar["input"]  # the sidecar's input shapes (batch axis first) against x
        if entry["kind"] == "waveform":
            expected, given = {WAVEFORM_INPUT: (None,)}, {WAVEFORM_INPUT: x}
            if lengths is not None:
                expected[LENGTHS_INPUT], given[LENGTHS_INPUT] = (), lengths
        else:
            expected, given = {i["name"]: tuple(i["shape"][1:]) for i in entry["inputs"]}, x
        check_batch(expected, given, where=str(self.path), owner=f"the {self.format} artefact")
        feeds = self._feeds(x, lengths)
        size = len(next(iter(feeds.values())))
        if self.batch is None or size == self.batch:
            return self._run(feeds)
        rows = []
        for b in range(size):
            row = {k: v[b:b + 1] for k, v in feeds.items()}
            if LENGTHS_INPUT in row and WAVEFORM_INPUT in row:  # one utterance per call: its own samples only
                row[WAVEFORM_INPUT] = row[WAVEFORM_INPUT][:, :int(row[LENGTHS_INPUT][0])]
            rows.append(self._run(row))
        return np.concatenate(rows, axis=0)


def load_artefact(path, threads: Optional[int] = None) -> Artefact:
    """The artefact at ``path`` (and its sidecar) opened in its own runtime (see :class:`Artefact`)."""
    return Artefact(path, threads)


# ----------------------------------------------------------------------------- the CLI
def add_arguments(parser) -> None:
    """The options of ``python -m zoo export``."""
    parser.add_argument("source", metavar="RELEASE_OR_FILE",
                        help="a release of weights/manifest.json, a .keras file or a fine-tuned .weights.h5")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="artefact format")
    parser.add_argument("--out", required=True, help="artefact path (.tflite, .onnx, or a SavedModel directory); "
                        "the sidecar goes to <out>.json")
    parser.add_argument("--waveform", action="store_true",
                        help="waveform-in: float32 mono (B, N) at the features' rate (16 kHz for BLSTMATT, CSA) -> "
                             "probabilities, with the front-ends in the graph")
    parser.add_argument("--lengths", action="store_true",
                        help="with --waveform: a second input 'lengths' (B,) int32 for zero-padded batches")
    parser.add_argument("--model", metavar="NAME[:VARIANT]",
                        help="for a .keras file: the registered model whose recipe gives its features")
    parser.add_argument("--batch", type=int, help="fix the batch axis (default any; 1 for LiteRT with an RNN)")


def main(args, stdout=None, stderr=None) -> int:
    """``python -m zoo export``: 0 when the artefact and its sidecar are written, 2 when the model or
    format cannot be exported (the message names why; nothing is written)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        path = export(args.source, args.format, args.out, waveform=args.waveform, lengths=args.lengths,
                      model=args.model, batch=args.batch)
    except (ValueError, FileNotFoundError, TypeError) as error:
        print(f"zoo export: error: {error}", file=stderr)
        return 2
    side = read_sidecar(path)
    entry = side["input"]
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
    if entry["kind"] == "waveform":
        shape = f"waveform ({entry['batch'] or 'B'}, N) float32 at {entry['sample_rate']} Hz" + (
            " + lengths (B,) int32" if entry.get("lengths") else "")
    else:
        def dims(shape):
            return "(" + ", ".join(("B" if k == 0 else "T") if d is None else str(d) for k, d in enumerate(shape)) + ")"

        shape = ", ".join(f"{i['name']} {dims(i['shape'])} {i['dtype']}" for i in entry["inputs"])
    labels = side["outputs"].get("labels")
    print(f"wrote {path} ({size / 1e6:.1f} MB, {args.format}): {shape} -> "
          + (f"{len(labels)} probabilities ({', '.join(labels)})" if labels else "outputs"), file=stdout)
    print(f"wrote {sidecar_path(path)}", file=stdout)
    return 0
