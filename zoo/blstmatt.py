"""BLSTMATT: bidirectional LSTM with globally contextualised attention on 23-d log-Mel filterbanks.

Paper: M. A. Jalal, R. Milner, T. Hain, "Empirical Interpretation of Speech Emotion Perception
with Attention Based Model for Speech Emotion Recognition", Interspeech 2020; model from
Milner et al., ASRU 2019 [26] (the same lab's code).

Graph (Sec. 3.1, 4.2, 4.3.1)::

    fbank (T, 23) + fbank_length -> LengthMask -> BiLSTM(512/dir, all steps) -> BiLSTM(512/dir, all steps)
      -> GlobalContextAttention(128): m = mean_t h_t, u_t = tanh(W h_t + b) ⊙ tanh(W_m m + b_m),
         e_t = w·u_t + c, a = masked softmax_t(e), context = Σ_t a_t h_t  (1024)
      -> Dense(classes) -> softmax

Parameters at 23-d input, 4 classes (Keras single-bias LSTMs): 8,757,637 = BLSTM 8,491,008 +
attention 262,529 + output 4,100 (asserted in the tests). :func:`attention_model` returns a
model whose second output holds the attention weights (B, T) of each utterance (Sec. 5.1,
Fig. 1: plotted against forced-alignment phones; one weight per 10 ms frame).

Training (Sec. 4.3): Adam lr 1e-4, ReduceLROnPlateau (patience 4, factor 0.8), cross-entropy,
IEM4 (4 classes, happy + excited), sessions 1-4 train / session 5 test.

Masks: the padded frames are masked from the true lengths (input ``fbank_length`` (B,) int32,
:class:`zoo.layers.LengthMask`), so an all-zero frame of digital silence inside an utterance is
kept; ``lengths=False`` gives the previous graph (one input, ``Masking(0.0)``: every all-zero
frame masked).

Departures (each with the argument that gives the other reading):
- Batch size: the lab's code trains on whole utterances with batch size 1 for 100 epochs; we pad
  and mask so batches of 32 are exact per utterance (the padding never reaches the LSTM state,
  the mean ``m`` or the softmax). ``RECIPE.replace(batch_size=1)`` reproduces the lab's setting.
- Sec. 4.3.1 says the attention computes "a context vector of size 128, which is projected to
  1024 nodes"; we follow the same lab's code (128 is the attention's inner size, the context is the 1024-d weighted sum of BLSTM outputs), which is what the parameter
  anchor counts. There is no extra 128 -> 1024 projection.
- PyTorch LSTMs carry two bias vectors per gate; Keras one (4·512 fewer parameters per
  direction and layer). The function is the same.
- ReduceLROnPlateau monitors ``val_loss`` (the paper does not say what it monitored).
- The paper's "UA" is overall accuracy and its "WA" the (two-class) mean recall, Eq. 6: see
  ``PAPER.metric_notes``.
- Dropout: none is stated; ``dropout`` (on each LSTM layer's inputs) defaults to 0.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import keras

from zoo.data.labels import IEMOCAP_4
from zoo.layers.gated_attention import GlobalContextAttention
from zoo.layers.masking import sequence_input
from zoo.layers.outputs import Predictions, resolve_classes
from zoo.recipe import FeatureSpec, Paper, Recipe
from zoo.spec import Attention, ModelSpec, Variant, builder, register_model



@builder("blstmatt")
def build(include_top: bool = True, weights: Optional[str] = None, classes: Union[int, Sequence[str]] = IEMOCAP_4,
          variant: str = "default", name: str = "blstmatt", *, input_dim: int = 23, lstm_units: int = 512,
          num_layers: int = 2, attention_units: int = 128, max_frames: Optional[int] = None,
          dropout: float = 0.0, lengths: bool = True) -> keras.Model:
    """Build BLSTMATT (Jalal et al. 2020, Sec. 3.1 / 4.3.1).

    ``classes``: a count or the label names (default the IEMOCAP 4: angry, happy, sad, neutral);
    ``input_dim``; ``lstm_units`` (per direction); ``num_layers``; ``attention_units``;
    ``max_frames`` (None = variable); ``dropout`` (on each LSTM layer's inputs). Inputs ``fbank``
    (T, input_dim), zero-padded, and ``fbank_length`` (B,) int32, the true frame counts the mask
    comes from (``lengths=False``: no length input, all-zero frames masked as before). With ``include_top`` the output
    ``predictions`` is the class posterior ``(B, classes)``; without it the 2·lstm_units attention
    context. ``weights`` is a ``.weights.h5`` path or None.
    """
    classes, labels = resolve_classes(classes, IEMOCAP_4)
    for arg, value in (("input_dim", input_dim), ("lstm_units", lstm_units),
                       ("num_layers", num_layers), ("attention_units", attention_units)):
        if int(value) < 1:
            raise ValueError(f"{arg} must be >= 1, got {value}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")

    inputs, x = sequence_input((max_frames, input_dim), "fbank", lengths, layer_name="masking")
    for i in range(num_layers):
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(lstm_units, return_sequences=True, dropout=dropout),
            merge_mode="concat", name=f"blstm_{i + 1}")(x)
    context, _ = GlobalContextAttention(attention_units, name="attention")(x)
    outputs = context
    if include_top:
        logits = keras.layers.Dense(classes, name="logits")(context)
        outputs = Predictions(labels, name="predictions")(logits)
    model = keras.Model(inputs if lengths else inputs[0], outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model


def attention_model(model: keras.Model) -> keras.Model:
    """A model with the same inputs giving ``(outputs, attention weights (B, T))``.

    Works on a freshly built or a loaded ``.keras`` BLSTMATT; weights are shared, not copied.
    """
    layer = model.get_layer("attention")
    _, weights = layer.output
    return keras.Model(model.inputs, [model.outputs[0], weights], name=f"{model.name}_attention")


RECIPE = Recipe(
    optimizer="Adam",
    optimizer_options={"learning_rate": 1e-4},
    loss="sparse_categorical_crossentropy",
    batch_size=32,
    epochs=100,
    features={"fbank": FeatureSpec("fbank")},
    label_set=IEMOCAP_4,
    targets=("label",),
    callbacks=(("ReduceLROnPlateau", {"monitor": "val_loss", "patience": 4, "factor": 0.8}),),
    protocol="session5",
    corpus="iemocap",
    metrics=("overall_accuracy", "mean_class_recall", "macro_f1"),
    notes=("Jalal 2020 Sec. 4.3: Adam 1e-4, ReduceLROnPlateau patience 4 factor 0.8. Whole utterances, "
           "zero-padded and masked from the true lengths. The lab's code used batch size 1 and 100 epochs; batch 32 is ours."),
)

PAPER = Paper(
    citation=("M. A. Jalal, R. Milner, T. Hain. Empirical Interpretation of Speech Emotion Perception with "
              "Attention Based Model for Speech Emotion Recognition. Interspeech 2020."),
    short="Jalal et al. 2020 (BLSTMATT)",
    dataset="IEMOCAP IEM4 (angry, happy+excited, sad, neutral; 4,290 train / 1,241 test)",
    protocol="session5",
    reported={"overall_accuracy": 0.801, "mean_class_recall": 0.735},
    paper_names={"overall_accuracy": "UA", "mean_class_recall": "WA"},
    metric_notes=(
        "Table 1 reports UA 80.1 / WA 73.5. Eq. 6 defines UA = (TP+TN)/(P+N), i.e. correct/total = our "
        "overall_accuracy, and WA = (TP/P + TN/N)/2, a mean of per-class recalls = our mean_class_recall "
        "(the names are swapped relative to most SER papers). Eq. 6 is written for two classes; how it "
        "was extended to four classes is not stated, so the mean_class_recall mapping is uncertain."),
)

# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 8_757_637,
}
SPEC = register_model(ModelSpec(
    name="blstmatt", module=__name__, build=build, parameters=PARAMETERS, labels=IEMOCAP_4,
    # The lab's batch-size-1 training is a recipe change (RECIPE.replace(batch_size=1)), not a graph change.
    variants={"default": Variant({}, RECIPE, PAPER,
                                 description="BLSTM + global-context attention (Table 1, BLSTMATT)")},
    tiny={"lstm_units": 4, "attention_units": 4, "num_layers": 1},
    attention=Attention(
        probe=lambda model: keras.Model(model.inputs, {"attention": model.get_layer("attention").output[1]}),
        over=lambda model: {"attention": "fbank"}),
))
