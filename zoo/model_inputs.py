"""Checks of what goes into a model, at the zoo's own entry points (prediction, evaluation,
fine-tuning, explanation, exported artefacts): a batch that does not fit the model's inputs is a
:class:`InputShapeError` naming the input, the shape received and the shape expected, instead of a
Keras-internal error (``UnboundLocalError`` on an empty batch, an opaque graph error on a wrong
feature dimension).

    from zoo.model_inputs import check_batch
    check_batch(model, {"fbank": x})                 # x: (B, T, 23) for BLSTMATT
    check_batch(model, x[0], batched=False, where="clip.wav")   # one item, no batch axis

Only shapes are read (never the values): rank, every static dimension, a non-empty batch, and one
batch size across the inputs. Inputs named ``<input>_length`` (per-sequence true lengths, shape
``(B,)``, integers) are accepted beside the model's inputs and may be left out.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

#: Suffix of a per-sequence length input (``fbank_length``: the true frames of each ``fbank`` row).
LENGTH_SUFFIX = "_length"

Shape = Tuple[Optional[int], ...]


class InputShapeError(ValueError):
    """A batch (or item) that does not fit a model's inputs; the message names the input, the
    shape received and the shape expected. Attributes: ``input``, ``received``, ``expected``
    (``expected`` without the batch axis; ``None`` dimensions take any size)."""

    def __init__(self, message: str, input: Optional[str] = None, received: Optional[tuple] = None,
                 expected: Optional[Shape] = None):
        super().__init__(message)
        self.input, self.received, self.expected = input, received, expected

    def __reduce__(self):
        return type(self), (self.args[0], self.input, self.received, self.expected)


def is_length_input(name: str) -> bool:
    """Whether ``name`` is a per-sequence length input (``<input>_length``)."""
    return str(name).endswith(LENGTH_SUFFIX) and len(str(name)) > len(LENGTH_SUFFIX)


def expected_shapes(model) -> Dict[str, Shape]:
    """``{input name: shape without the batch axis}`` of a Keras model (``None``: any size), in
    the model's input order; ``{}`` when the model does not say (a subclassed model not yet
    built, a plain callable)."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return {}
    if not inputs:
        return {}
    return {str(t.name).split(":")[0]: tuple(None if d is None else int(d) for d in tuple(t.shape)[1:])
            for t in inputs}


def pretty(shape: Sequence, batched: bool = False) -> str:
    """``(B, any, 23)``: ``any`` for a dimension of any size, ``B`` for the batch axis."""
    dims = (["B"] if batched else []) + ["any" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + (",)" if len(dims) == 1 else ")")


def _shape(value) -> tuple:
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(None if d is None else int(d) for d in tuple(shape))


def _dtype(value):
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = np.asarray(value).dtype
    try:
        return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    except TypeError:
        return None


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _as_dict(expected: Mapping[str, Shape], batch, where: str) -> Dict[str, object]:
    """The batch as ``{input name: array}`` (a dict, a list in the model's input order, or one
    array for a model with one input)."""
    names = [n for n in expected if not is_length_input(n)]
    if isinstance(batch, Mapping):
        return dict(batch)
    if isinstance(batch, (list, tuple)):
        order = list(expected) if len(batch) == len(expected) else names
        if len(batch) != len(order):
            raise InputShapeError(f"{_prefix(where)}{len(batch)} arrays given for the model's {len(names)} inputs "
                                  f"{names}; pass one per input in that order, or a dict {{input: array}}")
        return dict(zip(order, batch))
    if len(names) != 1:
        raise InputShapeError(f"{_prefix(where)}one array given, but the model takes {len(names)} inputs {names}: "
                              "pass a dict {input: array}")
    return {names[0]: batch}


def check_batch(model, batch, *, batched: bool = True, where: str = "", owner: str = "") -> None:
    """Raise :class:`InputShapeError` unless ``batch`` fits the inputs of ``model``.

    Args:
        model: a Keras model, or ``{input name: shape without the batch axis}`` (``None``: any
            size) for something that is not one (an exported artefact). A model that does not
            state its inputs (:func:`expected_shapes` is empty) is checked for emptiness only.
        batch: ``{input name: array}``, a list of arrays in the model's input order, or one array
            (a model with one input). Arrays, tensors, anything with ``.shape``.
        batched: the arrays have the batch axis first (default); ``False``: one item without it.
        where: what the batch is (a file name, ``"<array 0>"``), put first in the message.
        owner: the model's name for the message (``"release 'blstmatt-emodb-smoke'"``).

    Checked: every model input is given (``<input>_length`` ones may be left out) and no
    unknown input is; each has the model's rank and static dimensions; a batch has at least one
    item, no input has a zero-size axis, and every input (lengths included) has the same batch
    size; a length input is ``(B,)`` of integers.
    """
    expected = dict(model) if isinstance(model, Mapping) else expected_shapes(model)
    of = f" of {owner}" if owner else ""
    if not expected:  # nothing known about the inputs: an empty batch is still refused
        arrays = batch if isinstance(batch, Mapping) else (
            dict(enumerate(batch)) if isinstance(batch, (list, tuple)) else {"input": batch})
        for name, value in arrays.items():
            shape = _shape(value)
            if 0 in shape:
                raise InputShapeError(f"{_prefix(where)}input {name!r}{of} is empty (shape {shape})",
                                      str(name), shape, None)
        return
    arrays = _as_dict(expected, batch, where)
    unknown = [n for n in arrays if n not in expected and not is_length_input(n)]
    if unknown:
        raise InputShapeError(f"{_prefix(where)}unknown input(s) {unknown}{of}; the model's inputs are "
                              + ", ".join(f"{n!r} {pretty(s, batched)}" for n, s in expected.items()))
    missing = [n for n in expected if n not in arrays and not is_length_input(n)]
    if missing:
        raise InputShapeError(f"{_prefix(where)}missing model input(s){of}: "
                              + ", ".join(f"{n!r} {pretty(expected[n], batched)}" for n in missing),
                              missing[0], None, expected[missing[0]])
    sizes = {}
    for name, value in arrays.items():
        shape = _shape(value)
        if is_length_input(name) and name not in expected:
            want: Shape = ()
        else:
            want = expected[name]
        full = ((None,) if batched else ()) + tuple(want)

        def fail(reason: str):
            raise InputShapeError(f"{_prefix(where)}model input {name!r}{of} expects "
                                  f"{'lengths' if is_length_input(name) else 'features'} of shape "
                                  f"{pretty(want, batched)}, got {shape}: {reason}", name, shape, tuple(want))

        if len(shape) != len(full):
            hint = ""
            if batched and len(shape) == len(want) and all(e is None or e == s for e, s in zip(want, shape)):
                hint = " (one item without the batch axis? add it: x[None])"
            elif not batched and len(shape) == len(full) + 1:
                hint = " (a batch where one item is expected?)"
            fail(f"{len(shape)} axes, expected {len(full)}{hint}")
        for axis, (e, s) in enumerate(zip(full, shape)):
            if e is not None and s is not None and e != s:
                last = axis == len(full) - 1
                fail(f"{'last dimension' if last else f'dimension {axis}'} is {s}, expected {e}")
        if batched and shape and shape[0] == 0:
            fail("an empty batch (0 items); at least one item is needed")
        if 0 in shape:
            axis = shape.index(0)
            fail(f"axis {axis} has size 0 (an empty item)")
        if is_length_input(name):
            dtype = _dtype(value)
            if dtype is not None and not np.issubdtype(dtype, np.integer):
                fail(f"lengths are integers (frames per row), got dtype {dtype}")
        if batched and shape and shape[0] is not None:
            sizes[name] = shape[0]
    if len(set(sizes.values())) > 1:
        raise InputShapeError(f"{_prefix(where)}the inputs{of} have different batch sizes: "
                              + ", ".join(f"{n!r} {s}" for n, s in sizes.items()))


def check_element_spec(model, element_spec, *, where: str = "", owner: str = "") -> None:
    """:func:`check_batch` for a ``tf.data`` dataset's ``element_spec`` (its features part: the
    first element of a ``(features, labels[, weights])`` tuple): rank, static dimensions and
    input names, without reading the data (an unknown batch size is not checked)."""
    spec = element_spec[0] if isinstance(element_spec, tuple) else element_spec
    expected = dict(model) if isinstance(model, Mapping) else expected_shapes(model)
    if not expected:
        return

    class _Shaped:  # a TensorSpec's shape and dtype, as check_batch reads them
        def __init__(self, tensor_spec):
            self.shape = tuple(tensor_spec.shape.as_list())
            self.dtype = tensor_spec.dtype

    if isinstance(spec, Mapping):
        parts = list(spec.values())
    else:
        parts = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if not all(getattr(getattr(p, "shape", None), "rank", None) is not None for p in parts):
        return  # a nested structure or an unknown rank (none of the zoo's inputs): left to Keras
    if isinstance(spec, Mapping):
        shaped: Union[dict, list, object] = {k: _Shaped(v) for k, v in spec.items()}
    elif isinstance(spec, (list, tuple)):
        shaped = [_Shaped(v) for v in spec]
    else:
        shaped = _Shaped(spec)
    check_batch(expected, shaped, where=where, owner=owner)


def check_dataset(model, dataset, *, where: str = "dataset", owner: str = "") -> None:
    """:func:`check_element_spec` of a ``tf.data`` dataset, and an empty one refused when its
    cardinality says so (nothing is read; ``None`` passes: a part the fold does not have)."""
    if dataset is None or not hasattr(dataset, "element_spec"):
        return
    check_element_spec(model, dataset.element_spec, where=where, owner=owner)
    cardinality = getattr(dataset, "cardinality", None)
    if cardinality is not None and int(cardinality()) == 0:
        expected = dict(model) if isinstance(model, Mapping) else expected_shapes(model)
        names = ", ".join(f"{n!r} {pretty(s, True)}" for n, s in expected.items())
        raise InputShapeError(f"{_prefix(where)}an empty dataset (no batch)"
                              + (f"; the model{f' ({owner})' if owner else ''} expects batches of {names}"
                                 if names else ""))
