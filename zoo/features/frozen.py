"""A frozen encoder's output as a feature: computed once per utterance, cached by content.

:class:`FrozenEncoder` wraps the extractor of a model input (``inner``, e.g. ``bert_tokens`` or
``image``) and a frozen Keras sub-model that reads that input (``zoo.frozen.split``); its
feature is the sub-model's output in inference mode. The cache key
(:class:`zoo.features.cache.FeatureCache`) is the inner extractor's source (audio file, image,
transcript), the inner configuration, the encoder's content hash (``identity``: layer classes
and configurations and every weight value, so another preset or other weights give other
entries) and the library versions of both. :func:`encode` computes many records at once from
their inner arrays, in batches, through the cache.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .base import Extractor, FeatureError

__all__ = ["FrozenEncoder", "encode"]


def _distributions(encoder) -> tuple:
    """Distributions whose code runs in ``encoder`` (its layers' top-level packages)."""
    roots = {type(layer).__module__.split(".")[0] for layer in encoder._flatten_layers(include_self=True)}
    roots.discard("zoo")  # the zoo's own layers: their configuration is in the identity
    return tuple(sorted(root.replace("_", "-") for root in roots))


class FrozenEncoder(Extractor):
    """``encoder(inner(record))`` in inference mode: the output of a frozen part of a model.

    Args:
        inner: the extractor of the model input the encoder reads.
        encoder: the frozen Keras sub-model (one input, one output).
        identity: the encoder's content hash (``zoo.frozen.identity``).
        part: a short description that enters the key (e.g. ``"gru_bert:text->text_dense"``).
        batch_size: records per encoder call in :func:`encode`.
    """

    name = "frozen_encoder"
    implementation = 1

    def __init__(self, inner: Extractor, encoder, identity: str, part: str = "", batch_size: int = 64):
        self.inner, self.encoder, self.identity, self.part = inner, encoder, str(identity), str(part)
        self.batch_size = int(batch_size)
        shape = tuple(encoder.outputs[0].shape[1:])
        if any(d is None for d in shape):
            raise ValueError(f"{part}: a frozen encoder's output must have a fixed shape, got {shape}")
        self._shape = shape
        self.libraries = tuple(sorted({*getattr(inner, "libraries", ("numpy",)), "numpy", "keras", "tensorflow",
                                       *_distributions(encoder)}))

    @property
    def shape(self):
        return self._shape

    def config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "part": self.part,
                "encoder_sha256": self.identity, "inner": {"name": self.inner.name, **self.inner.config()}}

    def source_path(self, record) -> Optional[str]:
        return self.inner.source_path(record)

    def __getattr__(self, item):  # source_text / source_extras of the inner extractor, when it has them
        inner = self.__dict__.get("inner")
        if inner is None or item not in ("source_text", "source_extras"):
            raise AttributeError(item)
        return getattr(inner, item)

    def encode_arrays(self, arrays: Sequence[np.ndarray]) -> list:
        """Encoder outputs (float32) of inner arrays, in batches of arrays of one shape."""
        out: list = [None] * len(arrays)
        by_shape: dict = {}
        for i, a in enumerate(arrays):
            by_shape.setdefault(np.shape(a), []).append(i)
        for rows in by_shape.values():
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start:start + self.batch_size]
                batch = np.stack([np.asarray(arrays[i]) for i in chunk])
                values = np.asarray(self.encoder.predict_on_batch(batch), dtype=np.float32)
                for i, value in zip(chunk, values):
                    out[i] = value
        return out

    def extract(self, record) -> np.ndarray:
        value = self.encode_arrays([self.inner.extract(record)])[0]
        if not np.all(np.isfinite(value)):
            raise FeatureError(record.utterance_id, f"{self.part}: the frozen encoder gave NaN/inf values")
        return value


def encode(extractor: FrozenEncoder, records: Sequence, arrays: Sequence[np.ndarray], cache=None) -> list:
    """``extractor``'s feature of every record, from the records' inner arrays (already
    extracted): cached entries are read, the others computed in batches and stored."""
    out: list = [None] * len(records)
    todo = []
    for i, record in enumerate(records):
        hit = cache.get(extractor, record) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            out[i] = hit
    values = extractor.encode_arrays([arrays[i] for i in todo])
    for i, value in zip(todo, values):
        if not np.all(np.isfinite(value)):
            raise FeatureError(records[i].utterance_id, f"{extractor.part}: the frozen encoder gave NaN/inf values")
        if cache is not None:
            cache.put(extractor, records[i], value)
        out[i] = value
    return out
