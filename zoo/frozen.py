"""Frozen encoders run once per utterance: cut a built model into its frozen part and the rest.

A :class:`zoo.spec.Frozen` entry of a model's spec names a part that a build may freeze: the
layers from model input ``input`` to the input of layer ``into``. :func:`split` checks, on the
built model, that the part is really frozen (no trainable weight, and the same output in
training and inference mode: no dropout, BatchNormalization in inference mode) and returns

* ``encoders``: ``{part.name: keras.Model}``, the frozen part alone (``input`` -> its output);
* ``trainable``: the rest, a functional model over the raw inputs it still reads plus one input
  ``part.name`` per part taking the frozen output, built on the SAME layer objects as the
  end-to-end model (Keras clones only the graph's input nodes), so training it trains the
  end-to-end model in place, which stays the model to save, export and predict with.

:func:`identity` is the content hash of an encoder (its layers' classes and configurations and
every weight's value), which keys the cache of its outputs (:mod:`zoo.features.frozen`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import warnings
from typing import Dict, List, Optional, Sequence

import keras
import numpy as np

log = logging.getLogger(__name__)

__all__ = ["Split", "encoder_of", "trainable_part", "split", "identity", "is_deterministic"]


@dataclasses.dataclass
class Split:
    """The end-to-end ``model``, its frozen ``encoders`` (by precomputed input name), the
    :class:`zoo.spec.Frozen` ``parts`` they come from, and the ``trainable`` rest."""

    model: keras.Model
    parts: list
    encoders: Dict[str, keras.Model]
    trainable: keras.Model


def _input_tensor(model, name: str):
    for tensor in model.inputs:
        if tensor.name.split(":")[0] == name:
            return tensor
    return None


def encoder_of(model, part):
    """``(encoder, cut tensor)`` of ``part`` in ``model``, or ``None`` when this build has no
    such part (input or layer absent), when the part reads more than its input, or when it has
    trainable weights (not frozen)."""
    raw = _input_tensor(model, part.input)
    try:
        into = model.get_layer(part.into)
    except ValueError:
        return None
    if raw is None:
        return None
    cut = into.input
    if isinstance(cut, (list, tuple, dict)):
        raise ValueError(f"{model.name}: layer {part.into!r} of a Frozen part must read one tensor")
    try:
        encoder = keras.Model(raw, cut, name=f"{model.name}_{part.input}_encoder")
    except Exception as error:  # disconnected: the part reads other inputs too
        log.info("%s: %s -> %s is not a function of %r alone (%s)", model.name, part.input, part.into,
                 part.input, error)
        return None
    if encoder.trainable_weights or not encoder.weights:
        return None
    return encoder, cut


def _reached_inputs(outputs, stops) -> List:
    """The model inputs that ``outputs`` depend on when the graph is cut at ``stops``."""
    stop = {id(s) for s in stops}
    seen, found, todo = set(), [], list(outputs)
    while todo:
        tensor = todo.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        if id(tensor) in stop:
            continue
        operation, node_index, _ = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        if node.is_input:
            found.append(tensor)
        else:
            todo.extend(node.input_tensors)
    return found


def trainable_part(model, cuts: Dict[str, object]) -> keras.Model:
    """``model`` from the inputs it still needs plus ``cuts`` (``{input name: cut tensor}``) to
    its outputs, sharing ``model``'s layers. Inputs are a dict keyed by name."""
    outputs = getattr(model, "_outputs_struct", model.outputs)
    flat = keras.tree.flatten(outputs)
    needed = [t for t in model.inputs if any(t is r for r in _reached_inputs(flat, list(cuts.values())))]
    names = {name: tensor.name for name, tensor in cuts.items()}
    try:
        for name, tensor in cuts.items():
            tensor.name = name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras notes that the cut tensors are not Input layers
            inputs = {**{t.name.split(":")[0]: t for t in needed}, **cuts}
            # One input: a plain tensor input, as the experiment feeds one-input models a tensor.
            head = keras.Model(next(iter(inputs.values())) if len(inputs) == 1 else inputs, outputs,
                               name=f"{model.name}_trainable")
    finally:
        for name, tensor in cuts.items():
            tensor.name = names[name]
    for name in cuts:  # Keras names the cloned input nodes "<name>CLONE"
        cloned = head._inputs_struct[name] if isinstance(head._inputs_struct, dict) else head._inputs_struct
        cloned.name = name
        cloned._keras_history[0].name = name
    return head


def is_deterministic(encoder, sample, atol: float = 1e-6) -> bool:
    """Whether ``encoder`` gives the same output on ``sample`` in training and inference mode
    (a frozen part must: its output is computed once, in inference mode)."""
    train = keras.ops.convert_to_numpy(encoder(sample, training=True))
    infer = keras.ops.convert_to_numpy(encoder(sample, training=False))
    return bool(np.allclose(train, infer, rtol=0.0, atol=atol))


def split(model, parts: Sequence, samples: Optional[Dict[str, object]] = None) -> Optional[Split]:
    """Cut ``model`` at every frozen part of ``parts`` (:class:`zoo.spec.Frozen`); None when
    none of them is frozen in this build. ``samples``: ``{input name: a small batch}``; a part
    whose output differs between training and inference mode on it is left in the trainable
    part (with a warning: it would not give the same results)."""
    found, cuts = [], {}
    for part in parts:
        got = encoder_of(model, part)
        if got is None:
            continue
        encoder, cut = got
        sample = (samples or {}).get(part.input)
        if sample is not None and not is_deterministic(encoder, sample):
            log.warning("%s: the frozen part %s -> %s is stochastic in training mode (dropout?); it is "
                        "trained end to end", model.name, part.input, part.into)
            continue
        found.append((part, encoder))
        cuts[part.name] = cut
    if not found:
        return None
    return Split(model=model, parts=[p for p, _ in found], encoders={p.name: e for p, e in found},
                 trainable=trainable_part(model, cuts))


def _config_text(layer) -> str:
    if isinstance(layer, keras.Model):  # its layers are hashed one by one
        return ""
    try:
        config = dict(layer.get_config())
    except Exception:  # a layer without get_config: its class and weights still count
        return ""
    config.pop("name", None)
    return json.dumps(config, sort_keys=True, default=str)


def identity(encoder) -> str:
    """sha256 of an encoder: every layer's class and configuration (names aside), the input
    and output shapes, and every weight's shape, dtype and value. Another preset, other
    weights (a re-drawn random backbone included) or another layer configuration change it."""
    digest = hashlib.sha256()
    digest.update(repr([tuple(t.shape) for t in keras.tree.flatten(encoder.inputs)]).encode())
    digest.update(repr([tuple(t.shape) for t in keras.tree.flatten(encoder.outputs)]).encode())
    for layer in encoder._flatten_layers(include_self=False, recursive=True):
        digest.update(f"{type(layer).__module__}.{type(layer).__qualname__}:{_config_text(layer)}".encode())
    for weight in encoder.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()
