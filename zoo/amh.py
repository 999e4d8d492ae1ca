"""amh: Attentive Modality Hopping, AMH-N (Yoon, Dey, Lee, Jung, ICASSP 2020).

Graph (Sec. 3, Fig. 1; sizes from the authors' TF1 code, ``model/`` of their repository)::

    audio (T,120) -> LengthMask -> Dropout(0.3) -> GRU(200)          -> h^A_t, summary h^A_last
    text (L,) ids -> Embedding(vocab, 300, mask_zero) -> Dropout(0.7) -> GRU(200) -> h^T_t, h^T_last
    video (F,2048) -> LengthMask -> Dropout(0.3) -> GRU(128)         -> h^V_t, h^V_last
    hop k = 1..N, target m_k in V, A, T, V, A, T, ...   (Eq. 2-5, :class:`zoo.layers.ModalityHop`)
        H^{m_k} = sum_i a_i h^{m_k}_i,  a = softmax_i(<h^{m_k}_i, W [other summaries] + b>)
        H^{m_k} replaces the summary of m_k (new weights at every hop)
    output Dense(classes) -> softmax (``predictions``) on concat[A; T; V]          (Eq. 6)

Summaries start as the last *valid* GRU state (Keras masks carry the state over padding).
Padded frames/tokens get zero attention weight. Audio and video masks come from the true lengths
(inputs ``audio_length`` / ``video_length`` (B,) int32, :class:`zoo.layers.LengthMask`), so an
all-zero frame inside an utterance (digital silence, a black video frame) is kept;
``lengths=False`` gives the previous graph (``Masking(0.0)``, no length inputs). Text masks
token id 0, which is only ever padding. :func:`attention_model` returns each hop's
weights; the hop layers are named ``hop{k}_{modality}``.

Parameters at N = 7, ``reset_after=False``, three modalities, 7 classes: 1,750,055 +
300 x vocab_size.

Public API: :func:`build`, :data:`SPEC` (variants with their recipes and paper numbers),
:data:`RECIPE`, :data:`PAPER`, :func:`attention_model`, :func:`hop_layers`, :func:`hop_targets`.

Departures from the paper / code, each with the argument that gives the other reading:

- TF1 ``GRUCell`` == Keras ``GRU(reset_after=False)``, the default here; ``reset_after=True``
  gives the CuDNN-compatible Keras 3 cell (+3 x units biases per GRU).
- TF1 ``GRUCell`` initialises its gate biases to 1.0, Keras to 0 (not reproduced). The output
  layer's kernel starts U(-0.25, 0.25) as in the code (``output_initializer="glorot_uniform"``
  gives Keras' default).
- Early stopping: on the dev fold's accuracy, the best epoch restored, as the authors' script
  (``val_accuracy``); the paper does not say.
- The paper's bilinear score ``C^T W h_i`` is computed as ``<h_i, W C + b>`` as in the code.
- Input dropout: the code's keep probabilities 0.7 / 0.3 / 0.7 are Keras rates 0.3 / 0.7 / 0.3
  (``input_dropout=``); the code applied them to the GRU inputs only.
- Text: 300-d trainable embedding initialised from GloVe 840B in the code; here random unless
  ``embedding_matrix=`` is given (e.g. from any gensim KeyedVectors), ``embedding_trainable=``.
- Summaries: the last valid GRU state, as in the paper (Sec. 3.1) and the code; ``summary="mean"``
  (ours) starts each summary as the mean of the valid states instead.
- Truncation (audio 750 frames, text 128 tokens, video 25 frames in the code) is the
  pipeline's (``RECIPE.truncate``); the model takes any length.
- Modalities: any two or three (``modalities=``, Table 1 ablations); with two modalities the
  hop query is built from the single other summary. One modality (ours, e.g. variant
  ``text_only`` for text corpora such as MELD, ``audio_only`` for speech corpora such as RAVDESS
  and EmoDB) has no other summary to hop from: it needs
  ``hops=0`` and is that modality's branch alone, its GRU's last state -> output layer. ``hop_order=`` is a cycle of targets
  (default ``"VAT"``; a string or sequence of ``audio``/``text``/``video`` or ``A``/``T``/``V``,
  entries for absent modalities are skipped). ``hops=0`` gives the un-hopped concatenation.
- Video (Sec. 4.2): ResNet-101 (avg-pooled, 2048-d) at 3 fps on the speaking actor's half of
  the two-actor IEMOCAP frame (``speaker_side="iemocap"``: the dialog's lead actor, named after
  the session number, on the left; the rule is taken from public IEMOCAP video preprocessing
  code, not from the authors), then a centre crop. The ``paper`` profile uses ImageNet weights
  as the paper does (offline it stops at once, naming the weights file to pass); the smoke and
  real profiles drop video, and the extractor's default ``weights=None`` is an UNTRAINED
  ResNet-101 (a departure: its features carry no pre-trained knowledge; for tests only).
- Training: the code samples 10,000 random batches of 128 with replacement and validates every
  ~0.3 epoch with early stop after 15 validations; the RECIPE uses epochs of the training set
  with an equivalent epoch budget and patience (see its notes).
"""
from __future__ import annotations

import os

import keras

from zoo.data.labels import IEMOCAP_7
from zoo.layers.hop import ModalityHop
from zoo.layers.masking import sequence_input
from zoo.layers.outputs import Predictions, resolve_classes
from zoo.recipe import FeatureSpec, Paper, Recipe
from zoo.spec import Attention, ModelSpec, Variant, builder, register_model

LABELS = IEMOCAP_7
MODALITIES = ("audio", "text", "video")  # canonical order of summaries and of the output concat
FEATURE_DIMS = {"audio": 120, "video": 2048}
GRU_UNITS = {"audio": 200, "text": 200, "video": 128}
INPUT_DROPOUT = {"audio": 0.3, "text": 0.7, "video": 0.3}  # code: keep 0.7 / 0.3 / 0.7
EMBEDDING_DIM = 300
SUMMARIES = ("last", "mean")  # the starting summary of each modality (``summary=``)
_LETTERS = {"a": "audio", "t": "text", "v": "video"}


def _modality(item):
    key = str(item).strip().lower()
    name = _LETTERS.get(key, key)
    if name not in MODALITIES:
        raise ValueError(f"unknown modality {item!r}; use audio/text/video or A/T/V")
    return name


def hop_targets(hops, hop_order="VAT", modalities=MODALITIES):
    """The target modality of each hop: ``hop_order`` (absent modalities skipped) cycled."""
    present = [_modality(m) for m in modalities]
    cycle = [m for m in (_modality(x) for x in hop_order) if m in present]
    if hops and not cycle:
        raise ValueError(f"hop_order {hop_order!r} names none of the modalities {present}")
    return [cycle[k % len(cycle)] for k in range(int(hops))]


@builder("amh")
def build(
    include_top=True,
    weights=None,
    classes=LABELS,
    variant="default",
    name="amh",
    hops=7,
    hop_order="VAT",
    modalities=MODALITIES,
    vocab_size=10000,
    embedding_dim=EMBEDDING_DIM,
    embedding_matrix=None,
    embedding_trainable=True,
    reset_after=False,
    output_initializer="code",
    gru_units=None,
    input_dropout=None,
    feature_dims=None,
    lengths=True,
    summary="last",
):
    """Build AMH-N.

    Args:
        include_top: ``False`` ends at the concatenated summaries (``fusion``).
        weights: ``None`` or a path to a ``.weights.h5`` file.
        classes: a count or the label names (default the seven of :data:`LABELS`).
        variant: a name of ``SPEC.variants`` (hop counts, modality ablations).
        hops: N of AMH-N (>= 0; the paper explores 1..9, best 7).
        hop_order: cycle of hop targets (default V, A, T).
        modalities: two or three of ``audio``, ``text``, ``video`` (one, with ``hops=0``: that branch alone).
        vocab_size, embedding_dim: the text embedding (id 0 = padding).
        embedding_matrix: optional ``(vocab_size, embedding_dim)`` array to initialise it.
        reset_after: Keras GRU flag (``False`` = TF1 ``GRUCell``, the authors' code).
        output_initializer: the output layer's kernel initialiser: ``"code"`` (default) is the
            authors' U(-0.25, 0.25); any Keras initialiser otherwise (``"glorot_uniform"``: Keras').
        gru_units, input_dropout, feature_dims: per-modality dicts overriding
            :data:`GRU_UNITS`, :data:`INPUT_DROPOUT` (rates), :data:`FEATURE_DIMS`.
        lengths: masks of audio / video from the true lengths (inputs ``audio_length``,
            ``video_length`` (B,) int32; default); ``False``: ``Masking(0.0)``, the previous graph.
        summary: each modality's starting summary: ``"last"`` (default; the paper's and the
            code's last valid GRU state) or ``"mean"`` (ours: the mean of its valid states).
    """
    present = [m for m in MODALITIES if m in {_modality(x) for x in modalities}]
    if not present:
        raise ValueError(f"AMH needs at least one modality; got {list(modalities)}")
    if int(hops) < 0:
        raise ValueError(f"hops must be >= 0; got {hops}")
    if len(present) == 1 and int(hops):
        raise ValueError(f"one modality ({present[0]}) has no other to hop from: pass hops=0 (got hops={hops})")
    if summary not in SUMMARIES:
        raise ValueError(f"summary must be one of {SUMMARIES}; got {summary!r}")
    classes, labels = resolve_classes(classes, LABELS)
    if embedding_matrix is not None:
        shape = tuple(getattr(embedding_matrix, "shape", ()))
        if len(shape) != 2:
            raise ValueError(f"embedding_matrix must be 2-D (vocab, dim); got shape {shape}")
        vocab_size, embedding_dim = shape
    units = {**GRU_UNITS, **(gru_units or {})}
    rates = {**INPUT_DROPOUT, **(input_dropout or {})}
    dims = {**FEATURE_DIMS, **(feature_dims or {})}

    inputs, length_inputs, sequences, summaries = [], [], {}, {}
    for modality in present:
        if modality == "text":
            x = keras.Input((None,), dtype="int32", name="text")
            inputs.append(x)
            x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                       trainable=embedding_trainable, name="text_embedding")(x)
        else:
            modality_inputs, x = sequence_input((None, dims[modality]), modality, lengths)
            inputs.append(modality_inputs[0])
            length_inputs += modality_inputs[1:]
        x = keras.layers.Dropout(rates[modality], name=f"{modality}_dropout")(x)
        gru = keras.layers.GRU(units[modality], return_sequences=True, return_state=True,
                               recurrent_initializer="orthogonal", reset_after=reset_after,
                               name=f"{modality}_gru")
        sequences[modality], summaries[modality] = gru(x)
        if summary == "mean":  # the GRU's output mask (padding) is honoured by the pooling
            summaries[modality] = keras.layers.GlobalAveragePooling1D(name=f"{modality}_mean")(sequences[modality])

    for k, target in enumerate(hop_targets(hops, hop_order, present), start=1):
        others = [summaries[m] for m in present if m != target]
        summaries[target], _ = ModalityHop(name=f"hop{k}_{target}")([sequences[target], *others])

    x = keras.layers.Concatenate(name="fusion")([summaries[m] for m in present])
    if include_top:
        init = (keras.initializers.RandomUniform(-0.25, 0.25) if output_initializer == "code"
                else keras.initializers.get(output_initializer))
        x = keras.layers.Dense(classes, kernel_initializer=init, name="logits")(x)
        x = Predictions(labels, name="predictions")(x)
    model = keras.Model(inputs + length_inputs, x, name=name)  # lengths last: feature positions unchanged
    if embedding_matrix is not None:
        model.get_layer("text_embedding").set_weights([embedding_matrix])
    if weights is not None:
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"{weights}: weights file not found")
        model.load_weights(weights)
    return model


def hop_layers(model):
    """The model's hop layers in hop order."""
    hops = [layer for layer in model.layers if isinstance(layer, ModalityHop)]
    return sorted(hops, key=lambda layer: int(layer.name.split("_")[0][3:]))


def attention_model(model):
    """A model from the same inputs to each hop's attention weights ``{hop name: (batch, T)}``."""
    layers = hop_layers(model)
    if not layers:
        raise ValueError(f"{model.name} has no hop layers")
    return keras.Model(model.inputs, {layer.name: layer.output[1] for layer in layers},
                       name=f"{model.name}_attention")


RECIPE = Recipe(
    optimizer="Adam",
    optimizer_options={"learning_rate": 1e-3, "clipnorm": 1.0},  # per-tensor clip_by_norm as in the code
    loss="sparse_categorical_crossentropy",
    batch_size=128,
    epochs=214,
    features={
        "audio": FeatureSpec("mfcc_deltas", {}),
        "text": FeatureSpec("word_ids", {"max_length": 128}),
        # Sec. 4.2: ResNet-101 on the speaking actor's half of the frame, 3 fps (weights: see PROFILES).
        "video": FeatureSpec("video_resnet", {"fps": 3, "speaker_side": "iemocap"}),
    },
    label_set=LABELS,
    # The authors' training script keeps the model of the best dev-set accuracy (their "WA",
    # correct / N, Keras' accuracy) and stops after 15 validations (~5 epochs) without a gain.
    callbacks=(("EarlyStopping", {"monitor": "val_accuracy", "mode": "max", "patience": 5,
                                  "restore_best_weights": True}),),
    protocol="amh_10fold",
    truncate={"audio": 750, "text": 128, "video": 25},
    corpus="iemocap",
    notes=(
        "Adam 1e-3, gradients clipped by norm 1 per tensor (paper Sec. 4.2, code), batch 128. "
        "The code trains 10,000 batches sampled with replacement (~214 epochs of the ~5,990 "
        "training utterances of a fold), validating every ~0.3 epoch and stopping after 15 "
        "validations without improvement (~5 epochs): here epochs=214 with EarlyStopping "
        "patience 5 on the dev fold. Audio truncated to 750 frames, text to 128 tokens, video to "
        "25 frames (3 fps) as the code did (truncate). 10-fold CV, 8/1/1 train/dev/test (Sec. 4.1). "
        "word_ids needs the vocabulary of the training transcripts; build the model with "
        "vocab_size=len(vocabulary) (ids 0 = padding, 1 = out-of-vocabulary)."
    ),
)



def _recipe(modalities=MODALITIES) -> Recipe:
    """The RECIPE of a variant (the features of an absent modality dropped)."""
    present = {_modality(m) for m in modalities}
    return RECIPE.replace(features={k: v for k, v in RECIPE.features.items() if k in present})


PAPER = Paper(
    citation=(
        "S. Yoon, S. Dey, H. Lee, K. Jung. Attentive Modality Hopping Mechanism for Speech "
        "Emotion Recognition. ICASSP 2020."
    ),
    short="Yoon et al. 2020",
    dataset="IEMOCAP (7 classes, 7,487 utterances; ground-truth transcripts)",
    protocol="10-fold cross-validation, 8/1/1 train/dev/test",
    reported={"overall_accuracy": 0.617, "mean_class_recall": 0.547},
    paper_names={"overall_accuracy": "WA", "mean_class_recall": "UA"},
    metric_notes=(
        "Table 1 prints AMH (A+T+V, 7 hops) WA 0.624 +- 0.022 / UA 0.597 +- 0.040, but the authors "
        "later stated that these were scikit-learn precision values, not accuracies; the corrected "
        "accuracies, used here, are WA 0.617 (overall accuracy) and UA 0.547 (mean class recall). "
        "Table 2's per-hop figures and Table 1's other rows were presumably computed the same way; "
        "compare them with our precision, not our accuracy."
    ),
    url="https://github.com/david-yoon/attentive-modality-hopping-for-SER",
)

# Table 2 (per-hop accuracies) and Table 1's ablation rows were computed as precision (see
# PAPER.metric_notes): they are not mapped, so those variants carry no paper numbers.
_ABLATIONS = {"audio_text": ("audio", "text"), "text_video": ("text", "video"), "audio_video": ("audio", "video")}
# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 4_750_055,
    "amh1": 4_384_199,
    "amh2": 4_449_999,
    "amh3": 4_515_799,
    "amh4": 4_567_127,
    "amh5": 4_632_927,
    "amh6": 4_698_727,
    "amh8": 4_815_855,
    "amh9": 4_881_655,
    "audio_text": 3_777_407,
    "text_video": 4_319_183,
    "audio_video": 1_211_183,
    "reset_after": 4_751_639,
    "text_only": 3_302_007,
    "audio_only": 194_007,
}
SPEC = register_model(ModelSpec(
    name="amh", module=__name__, build=build, parameters=PARAMETERS, labels=LABELS,
    variants={
        "default": Variant({}, RECIPE, PAPER,
                           description="AMH-7, audio + text + video (Table 1)"),
        **{f"amh{n}": Variant({"hops": n}, RECIPE, None, description=f"AMH-{n} (Table 2)")
           for n in (1, 2, 3, 4, 5, 6, 8, 9)},
        **{name: Variant({"modalities": mods}, _recipe(mods), None, description=f"AMH-7 on {' + '.join(mods)}")
           for name, mods in _ABLATIONS.items()},
        "reset_after": Variant({"reset_after": True}, RECIPE, None,
                               description="Keras 3 GRU cell (reset_after=True) instead of TF1's"),
        "text_only": Variant({"modalities": ("text",), "hops": 0}, _recipe(("text",)), None,
                             description="the text branch alone, no hops (ours; the paper has no text-only result)"),
        "audio_only": Variant({"modalities": ("audio",), "hops": 0}, _recipe(("audio",)), None,
                              description="the audio branch alone, no hops (ours, for speech-only corpora; "
                                          "the paper has no audio-only result)"),
    },
    tiny=lambda variant: dict(gru_units={"audio": 4, "text": 4, "video": 4}, feature_dims={"audio": 6, "video": 5},
                              vocab_size=20, embedding_dim=4, hops=0 if variant in ("text_only", "audio_only") else 2),
    text_args=("vocab_size", "embedding_matrix"),
    attention=Attention(probe=attention_model,
                        over=lambda model: {layer.name: layer.name.split("_", 1)[1] for layer in hop_layers(model)}),
))
