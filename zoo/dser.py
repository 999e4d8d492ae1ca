"""DSER: dimensional SER (valence, arousal, dominance) from pyAudioAnalysis HSF and word embeddings,
stacked LSTMs and a CCC loss.

Paper: B. T. Atmaja, M. Akagi, "Improving Valence Prediction in Dimensional Speech Emotion
Recognition Using Linguistic Information", O-COCOSDA 2020, Sec. III-B/C, Fig. 1, Eq. 1-4, Table II; authors' code ``bagustris/dser_with_text`` (read, not copied).

Graph (Fig. 1 and the authors' code)::

    hsf (1, 68) -> BatchNorm -> LSTM(68) -> LSTM(256) -> LSTM(256, last state) -> Dense(64) linear
    text (554,) ids -> Embedding(vocab, 300, mask_zero) -> LSTM(300) -> LSTM(256) -> LSTM(256, last)
                    -> Dense(64) linear -> Dropout(0.4)
    A+T: concat (128) -> Dense(64, relu) -> Dense(32, relu) -> Dropout(0.4) -> Dense(1) per output (Eq. 1)
    acoustic-only: Dense(64) -> Dense(1) per output (the code; no fusion layers)
    outputs named ``valence``, ``arousal``, ``dominance`` (MTL) or one of them (STL).

Loss ``1 - CCC`` per output (Eq. 2-3, :class:`zoo.losses.CCCLoss`), MTL total
``α L_V + β L_A + (1 - α - β) L_D`` (Eq. 4, :func:`zoo.losses.multitask_weights`): α, β = 0.7, 0.2
for A+T; 0.1, 0.4 for acoustic-only (paper text). Optimisers (Sec. III-C, code): Nadam lr 2e-3
(Keras' default), batch 64, 200 epochs for acoustic-only; RMSprop lr 1e-3, batch 256, 50 epochs for
A+T; EarlyStopping(val_loss, patience 10, restore best) in both codes; 20 % of sessions 1-4 for
validation, session 5 for test. Each variant's recipe and paper numbers are in ``SPEC.variants``.

Parameter anchors (Keras single-bias LSTMs; asserted in the tests): acoustic-only MTL 912,291;
A+T MTL with a 3,438 x 300 embedding 3,787,259 (the default build).

Masks: the HSF input is one vector (no time axis, nothing to mask); the text mask is ``id != 0``
(``mask_zero``), exact because id 0 is only ever padding, never a word (unlike all-zero audio
frames, which the sequence models therefore mask from true lengths instead).

Departures (each with the argument that gives the other reading):
- Acoustic-only MTL loss weights: paper text (0.1, 0.4, 0.5) by default; the code's
  (0.1, 0.5, 0.4) is variant ``acoustic_code``.
- Evaluation: the code printed CCC averaged over batches of ``model.evaluate``; we compute CCC
  over the whole test set (:func:`whole_set_ccc`, ``zoo.metrics.regression_report``).
  ``zoo.metrics.batch_averaged_ccc`` reproduces the authors' number.
- Text padding: the code's CuDNN LSTMs saw the padding tokens; our Embedding masks id 0
  (``mask_text=False`` feeds the padding tokens to the LSTMs as the code's did; which side the
  code padded is not visible in it — ours pads after the words).
- The committed A+T script cannot run as written (an undefined name in the acoustic branch, an
  LSTM of 47 units and an active Dropout(0.1)); we follow the paper's figure and the runnable
  acoustic-only script: LSTM(68), linear Dense(64), no acoustic dropout (``acoustic_dropout=``).
- Input: the code feeds the HSF as one time step ``(1, 68)``; our default input is the 68-d
  vector (what ``paa_hsf`` gives) with the step added inside by a parameter-free Reshape, so
  the graph and the parameter count are the code's. ``hsf_input="sequence"`` takes ``(1, 68)``.
- The acoustic-only STL script uses Dense(68) instead of Dense(64) (``branch_dim=68``).
- HSF scaling: the A+T script standardises the 68 HSF with scikit-learn's ``StandardScaler``
  fitted on the training data; our graph starts with the acoustic-only script's input
  BatchNormalization, which learns the same per-feature centring and scaling (no switch yet).
- Validation: the code's ``validation_split=0.2`` holds out the last fifth of the training
  utterances (speakers of it are also trained on); our recipes hold out a fifth of the training
  SPEAKERS (``Recipe.validation=0.2``), so validation is speaker-independent.
- The text LSTMs have the paper's 300 / 256 / 256 units whatever the embedding's width
  (``text_units``; with the offline 50-d GloVe the first LSTM still has 300 units).
- Labels: the code MinMax-scales V/A/D to [-1, 1] from the data; we use the fixed map
  ``(x - 3) / 2``, clipped to [-1, 1] (the IEMOCAP loader's concern, noted here).
- "BERT" in the paper is BERT's static word-piece embedding table fed to the same LSTMs; we
  offer it as ``embedding_matrix=`` and, as an improvement, a contextual keras-hub BERT
  encoder (``text_encoder=`` preset / folder / backbone) whose sequence output feeds the LSTMs.
"""
from __future__ import annotations

from typing import Optional, Sequence

import keras
import numpy as np
from keras import ops

from zoo.losses import multitask_weights
from zoo.recipe import FeatureSpec, Paper, Recipe
from zoo.spec import ModelSpec, Variant, builder, register_model

DIMENSIONS = ("valence", "arousal", "dominance")
MAX_TEXT_LENGTH = 554

@keras.saving.register_keras_serializable(package="zoo")
class TokenMask(keras.layers.Layer):
    """Boolean mask ``token_ids != 0`` (for LSTMs fed by a BERT encoder's sequence output)."""

    def call(self, token_ids):
        return ops.not_equal(ops.cast(token_ids, "int32"), 0)

    def compute_output_spec(self, token_ids):
        return keras.KerasTensor(token_ids.shape, dtype="bool")


def _lstm_stack(x, units: Sequence[int], prefix: str, mask=None):
    for i, n in enumerate(units, start=1):
        last = i == len(units)
        layer = keras.layers.LSTM(int(n), return_sequences=not last, name=f"{prefix}_lstm_{i}")
        x = layer(x, mask=mask) if (i == 1 and mask is not None) else layer(x)
    return x


def _text_branch(cfg):
    max_length = cfg["max_length"]
    text = keras.Input((max_length,), dtype="int32", name="text")
    mask = None
    if cfg["text_encoder"] is not None:
        from zoo.text_encoders import BertInputs, load_bert_backbone

        backbone = load_bert_backbone(cfg["text_encoder"], trainable=cfg["text_trainable"])
        if max_length is None or max_length > backbone.max_sequence_length:
            raise ValueError(f"max_length {max_length} must be set and <= the encoder's "
                             f"max_sequence_length {backbone.max_sequence_length}")
        ids, segments, padding = BertInputs(name="text_bert_inputs")(text)
        x = backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": padding})["sequence_output"]
        width = backbone.hidden_dim
        if cfg["mask_text"]:
            mask = TokenMask(name="text_mask")(text)
    else:
        matrix = cfg["embedding_matrix"]
        if matrix is not None:
            matrix = np.asarray(matrix, dtype="float32")
            if matrix.ndim != 2:
                raise ValueError(f"embedding_matrix must be (vocab, dim); got shape {matrix.shape}")
            vocab_size, width = matrix.shape
        else:
            vocab_size, width = int(cfg["vocab_size"]), int(cfg["embedding_dim"])
        embedding = keras.layers.Embedding(vocab_size, width, mask_zero=cfg["mask_text"],
                                           trainable=cfg["trainable_embedding"], name="text_embedding")
        x = embedding(text)
        if matrix is not None:
            # Assigned after building rather than via a Constant initializer, which would copy the
            # whole matrix into the model's JSON config.
            embedding.embeddings.assign(matrix)
    units = [width if u is None else u for u in cfg["text_units"]]
    x = _lstm_stack(x, units, "text", mask)
    x = keras.layers.Dense(cfg["branch_dim"], name="text_dense")(x)
    return text, keras.layers.Dropout(cfg["text_dropout"], name="text_dropout")(x)


def _acoustic_branch(cfg):
    dim = int(cfg["hsf_dim"])
    if cfg["hsf_input"] == "sequence":
        hsf = keras.Input((1, dim), name="hsf")
        x = hsf
    elif cfg["hsf_input"] == "vector":
        hsf = keras.Input((dim,), name="hsf")
        x = keras.layers.Reshape((1, dim), name="hsf_as_step")(hsf)
    else:
        raise ValueError(f"hsf_input must be 'sequence' or 'vector', got {cfg['hsf_input']!r}")
    x = keras.layers.BatchNormalization(name="acoustic_bn")(x)
    units = [dim if u is None else u for u in cfg["acoustic_units"]]
    x = _lstm_stack(x, units, "acoustic")
    x = keras.layers.Dense(cfg["branch_dim"], name="acoustic_dense")(x)
    if cfg["acoustic_dropout"]:
        x = keras.layers.Dropout(cfg["acoustic_dropout"], name="acoustic_dropout")(x)
    return hsf, x


@builder("dser")
def build(include_top: bool = True, weights: Optional[str] = None, variant: str = "default",
          name: str = "dser", *, modalities: Sequence[str] = ("acoustic", "text"), tasks: Sequence[str] = DIMENSIONS,
          hsf_dim: int = 68, hsf_input: str = "vector", acoustic_units: Sequence = (None, 256, 256),
          text_units: Sequence = (300, 256, 256), branch_dim: int = 64, acoustic_dropout: float = 0.0,
          text_dropout: float = 0.4, fusion_units: Sequence[int] = (64, 32), fusion_dropout: float = 0.4,
          embedding_matrix=None, vocab_size: int = 3438, embedding_dim: int = 300, trainable_embedding: bool = True,
          max_length: Optional[int] = MAX_TEXT_LENGTH, mask_text: bool = True, text_encoder=None,
          text_trainable: bool = True) -> keras.Model:
    """Build DSER (Atmaja & Akagi 2020, Fig. 1).

    ``modalities`` (("acoustic",) or ("acoustic", "text")), ``tasks`` (subset of
    valence/arousal/dominance; one = STL); sizes ``hsf_dim``, ``acoustic_units`` /
    ``text_units`` (None = the input width; the text LSTMs default to the paper's 300 whatever
    the embedding's width, e.g. the offline 50-d GloVe), ``branch_dim``,
    ``fusion_units``; dropouts; ``hsf_input`` ("vector": (68,) reshaped to one step; "sequence":
    (1, 68) as the code); text: ``embedding_matrix`` (numpy vocab x dim) or ``vocab_size`` +
    ``embedding_dim``, ``trainable_embedding``, ``max_length`` (None = variable), ``mask_text``,
    or ``text_encoder`` (keras-hub BERT preset / folder / backbone) with ``text_trainable``.
    Outputs one ``(B, 1)`` linear regression per task, named after it; without ``include_top``
    the last hidden features. ``weights``: ``.weights.h5`` path or None.
    """
    cfg = dict(locals())
    modalities, tasks = tuple(modalities), tuple(tasks)
    if modalities not in (("acoustic",), ("acoustic", "text")):
        raise ValueError(f"modalities must be ('acoustic',) or ('acoustic', 'text'); got {modalities}")
    if not tasks or len(set(tasks)) != len(tasks) or set(tasks) - set(DIMENSIONS):
        raise ValueError(f"tasks must be distinct names from {DIMENSIONS}; got {tasks}")

    hsf, x = _acoustic_branch(cfg)
    inputs = [hsf]
    if "text" in modalities:
        text, t = _text_branch(cfg)
        inputs.append(text)
        x = keras.layers.Concatenate(name="fusion_concat")([x, t])
        for i, n in enumerate(fusion_units, start=1):
            x = keras.layers.Dense(int(n), activation="relu", name=f"fusion_dense_{i}")(x)
        x = keras.layers.Dropout(fusion_dropout, name="fusion_dropout")(x)
    outputs = x
    if include_top:
        # float32 outputs keep the CCC loss exact under mixed precision.
        heads = [keras.layers.Dense(1, dtype="float32", name=task)(x) for task in tasks]
        outputs = heads if len(heads) > 1 else heads[0]
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model


def loss_weights(alpha: float, beta: float) -> dict:
    """Eq. 4 weights keyed by output name: ``{valence: α, arousal: β, dominance: 1 − α − β}``."""
    return dict(zip(DIMENSIONS, multitask_weights(alpha, beta)))


def whole_set_ccc(y_true, y_pred) -> dict:
    """``ccc_<dimension>`` over the WHOLE set (not per batch): dicts or (N, D) arrays in V/A/D order."""
    from zoo.metrics import regression_report

    return regression_report(y_true, y_pred, names=DIMENSIONS)


_FEATURES_AT = {"hsf": FeatureSpec("paa_hsf"), "text": FeatureSpec("word_ids", {"max_length": MAX_TEXT_LENGTH,
                                                                                 "pad_to_max_length": True})}
_FEATURES_A = {"hsf": FeatureSpec("paa_hsf")}
_EARLY_STOP = (("EarlyStopping", {"monitor": "val_loss", "patience": 10, "restore_best_weights": True}),)
_COMMON = dict(loss="ccc", protocol="session5", corpus="iemocap", label_set=None, callbacks=_EARLY_STOP,
               metrics=("ccc_valence", "ccc_arousal", "ccc_dominance"))
_RMSPROP = dict(optimizer="RMSprop", optimizer_options={"learning_rate": 1e-3}, batch_size=256, epochs=50)
_NADAM = dict(optimizer="Nadam", optimizer_options={"learning_rate": 2e-3}, batch_size=64, epochs=200)
_SPLIT = ("Sessions 1-4 train (20 % of it validation: the code's validation_split=0.2 took the last fifth of "
          "the utterances, we hold out a fifth of the training speakers), session 5 test; labels (x - 3) / 2 "
          "in [-1, 1]. ")

_RECIPES = {
    "default": Recipe(features=_FEATURES_AT, targets=DIMENSIONS, loss_weights=loss_weights(0.7, 0.2),
                      notes=_SPLIT + "A+T MTL, alpha 0.7 beta 0.2 (Sec. III-C), RMSprop 1e-3, batch 256, 50 epochs.",
                      **_RMSPROP, **_COMMON, validation=0.2),
    "stl_valence": Recipe(features=_FEATURES_AT, targets=("valence",),
                          notes=_SPLIT + "A+T STL (valence), RMSprop 1e-3, batch 256, 50 epochs.",
                          **_RMSPROP, **{**_COMMON, "metrics": ("ccc_valence",)}, validation=0.2),
    "acoustic": Recipe(features=_FEATURES_A, targets=DIMENSIONS, loss_weights=loss_weights(0.1, 0.4),
                       notes=_SPLIT + "HSF MTL, alpha 0.1 beta 0.4 (paper text), Nadam 2e-3, batch 64, 200 epochs.",
                       **_NADAM, **_COMMON, validation=0.2),
    "acoustic_code": Recipe(features=_FEATURES_A, targets=DIMENSIONS, loss_weights=loss_weights(0.1, 0.5),
                            notes=_SPLIT + "HSF MTL, alpha 0.1 beta 0.5 (authors' ser_multi.py), Nadam 2e-3.",
                            **_NADAM, **_COMMON, validation=0.2),
    "acoustic_stl_valence": Recipe(features=_FEATURES_A, targets=("valence",),
                                   notes=_SPLIT + "HSF STL (valence), Nadam 2e-3, batch 64, 200 epochs.",
                                   **_NADAM, **{**_COMMON, "metrics": ("ccc_valence",)}, validation=0.2),
}
RECIPE = _RECIPES["default"]

_CITATION = ("B. T. Atmaja, M. Akagi. Improving Valence Prediction in Dimensional Speech Emotion Recognition "
             "Using Linguistic Information. O-COCOSDA 2020.")
_NOTES = ("Table II CCC (paper's V/A/D columns -> ccc_valence/ccc_arousal/ccc_dominance). The authors' code "
          "averaged CCC over evaluation batches; ours is over the whole test set (comparable approximately). "
          "A+T numbers are means of 20 runs.")


def _paper(short: str, reported: dict, extra: str = "") -> Paper:
    return Paper(citation=_CITATION, short=short, dataset="IEMOCAP (all 10,039 utterances, V/A/D)",
                 protocol="session5", reported=reported,
                 paper_names={"ccc_valence": "V", "ccc_arousal": "A", "ccc_dominance": "D"},
                 metric_notes=_NOTES + extra, url="https://github.com/bagustris/dser_with_text")


_PAPERS = {
    "default": _paper("Atmaja & Akagi 2020 (DSER, HSF+GloVe MTL)",
                      {"ccc_valence": 0.421, "ccc_arousal": 0.590, "ccc_dominance": 0.484},
                      " Row HSF+GloVe (±0.008/0.008/0.009)."),
    "stl_valence": _paper("Atmaja & Akagi 2020 (DSER, HSF+GloVe STL)", {"ccc_valence": 0.424}, " ±0.010."),
    "acoustic": _paper("Atmaja & Akagi 2020 (DSER, HSF MTL)",
                       {"ccc_valence": 0.183, "ccc_arousal": 0.577, "ccc_dominance": 0.444}),
    "acoustic_code": _paper("Atmaja & Akagi 2020 (DSER, HSF MTL)",
                            {"ccc_valence": 0.183, "ccc_arousal": 0.577, "ccc_dominance": 0.444},
                            " Whether Table II used the code's or the text's alpha/beta is not known."),
    "acoustic_stl_valence": _paper("Atmaja & Akagi 2020 (DSER, HSF STL)", {"ccc_valence": 0.208}),
}
PAPER = _PAPERS["default"]

_DESCRIPTIONS = {"default": "HSF + word embeddings, multi-task V/A/D (Table II, HSF+GloVe MTL)",
                 "stl_valence": "HSF + word embeddings, valence only (STL)",
                 "acoustic": "HSF only, multi-task, the paper's alpha/beta",
                 "acoustic_code": "HSF only, multi-task, the authors' code's alpha/beta",
                 "acoustic_stl_valence": "HSF only, valence only (STL)"}
_BUILD_ARGS = {"default": {}, "stl_valence": {"tasks": ("valence",)}, "acoustic": {"modalities": ("acoustic",)},
               "acoustic_code": {"modalities": ("acoustic",)},
               "acoustic_stl_valence": {"modalities": ("acoustic",), "tasks": ("valence",)}}
# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 3_787_259,
    "stl_valence": 3_787_193,
    "acoustic": 912_291,
    "acoustic_code": 912_291,
    "acoustic_stl_valence": 912_161,
}
SPEC = register_model(ModelSpec(
    name="dser", module=__name__, build=build, parameters=PARAMETERS,
    variants={v: Variant(_BUILD_ARGS[v], _RECIPES[v], _PAPERS[v], description=_DESCRIPTIONS[v]) for v in _RECIPES},
    tiny={"acoustic_units": (4, 4), "text_units": (4, 4), "branch_dim": 4, "fusion_units": (4,),
          "vocab_size": 20, "embedding_dim": 4, "max_length": None},
    text_args=("vocab_size", "embedding_matrix"),
))
