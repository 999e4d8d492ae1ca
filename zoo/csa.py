"""CSA: convolutional self-attention on fixed-length chunks of 23-d log-Mel filterbanks, plus the
BLSTMATT + CSA system combination.

Paper: M. A. Jalal, R. Milner, T. Hain, Interspeech 2020, Sec. 3.2 (Eq. 1-5), 4.3.2, 5; model from Jalal, Moore, Hain, ASRU 2019 [27, 37]. No code exists
anywhere; this is built from the paper and the SAGAN self-attention it follows.

Graph (our reading, all sizes settable)::

    fbank (chunk, 23) -> as a (chunk, 23, 1) time x frequency image
      -> 3 x [Conv2D(128, k, same) -> BatchNorm -> ReLU], k = 5, 3, 2   ("small kernels 2-6")
      -> ConvSelfAttention: ŷ = y + γ · (l(y) · softmax(j(y)ᵀ k(y))), j, k: 128 -> 16, γ(0) = 0
      -> GlobalAveragePooling over positions -> Dense(classes) -> softmax   ("linearly projects")

Chunks (Sec. 4.3.2): utterances cut into ``chunk_frames`` chunks (20-120; best and default 30)
overlapping by 10 frames; utterances shorter than a chunk are left out (the paper leaves them out
of training AND test; :func:`chunk_utterances` reports which were left out). The utterance
posterior is the mean of its chunks' posteriors (:func:`utterance_posteriors`).

System combination (Sec. 5): "the CSA output posterior probabilities scaled by a factor of 0.4 and
then multiplied by the posterior probabilities from the BLSTMATT" read as a log-linear
combination ``log P = log P_blstmatt + 0.4 · log P_csa`` (:func:`combine`), renormalised.

Masks: none are needed; every chunk is whole (an utterance shorter than a chunk is left out, or
with ``pad_short`` zero-padded and then seen whole by the convolutions, as in the paper's
fixed-size inputs). The utterance-level model BLSTMATT masks from true lengths.

Departures / our choices (each with the argument that gives the other reading):
- 2-D convolutions over time x frequency (``conv="2d"``): "spatial feature", "spatio-temporal
  context" and the SAGAN origin point to 2-D maps. ``conv="1d"`` treats the 23 bands as channels
  of a 1-D map over time (attention then runs over frames only).
- Filters ``(128, 128, 128)`` ("these layers produce 128 channel feature maps"), kernels
  ``(5, 3, 2)``, stride 1, no pooling (``pool_size=(1, 2)`` halves frequency per block, to save
  memory on long chunks): the paper gives none of these numbers.
- "seven feature spaces" / "except l, performs downsampling": read as SAGAN's query/key channel
  reduction C -> C/8 (``reduction``); the value projection keeps C channels.
- Classifier on the average over positions (``pooling="average"``) so the weights do not depend
  on the chunk length; ``pooling="flatten"`` gives a Dense over the flattened map.
- Training recipe: the paper states Adam 1e-4 and ReduceLROnPlateau (4, 0.8) for both models but
  no batch size or epochs for CSA; batch 64, 50 epochs are ours.
- Chunking keeps only whole chunks (a tail shorter than the hop is not used); ``pad_short=True``
  in :func:`make_chunks` zero-pads short utterances instead of leaving them out.
- BatchNorm momentum: the paper gives none; Keras' 0.99 is the default (``bn_momentum``; PyTorch's
  default, ``momentum=0.1`` in its convention, is Keras' 0.9). With a few dozen steps per epoch the
  0.99 moving averages lag the training statistics for several epochs, and the validation
  posteriors with them: on EmoDB's validation speakers 0.9 gave 0.795 mean class recall against
  0.568 (``python -m benchmarks.probes option csa bn_momentum 0.99 0.9 --corpus emodb``), so the
  ``real`` profiles build CSA with 0.9 (the builder's default stays 0.99).
- Combination: the paper does not say whether the product was renormalised; argmax is the same
  either way. ``combine(..., renormalize=False)`` returns the raw weighted product.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import keras
import numpy as np
from scipy.special import softmax as _softmax

from zoo.blstmatt import RECIPE as _BLSTMATT_RECIPE
from zoo.data.labels import IEMOCAP_4
from zoo.features.spectral import average_chunk_posteriors
from zoo.features.spectral import chunk_frames as _chunk_frames
from zoo.layers.conv_attention import ConvSelfAttention
from zoo.layers.outputs import Predictions, resolve_classes
from zoo.recipe import Paper
from zoo.spec import Chunking, Combination, ModelSpec, Variant, builder, register_model

CHUNK_FRAMES = 30
CHUNK_OVERLAP = 10
COMBINATION_WEIGHT = 0.4


@builder("csa")
def build(include_top: bool = True, weights: Optional[str] = None, classes: Union[int, Sequence[str]] = IEMOCAP_4,
          variant: str = "default", name: str = "csa", *, chunk_frames: int = CHUNK_FRAMES, input_dim: int = 23,
          filters: Sequence[int] = (128, 128, 128), kernel_sizes: Sequence[int] = (5, 3, 2), conv: str = "2d",
          pool_size=None, reduction: int = 8, pooling: str = "average", bn_momentum: float = 0.99) -> keras.Model:
    """Build CSA (Jalal et al. 2020, Sec. 3.2 / 4.3.2).

    ``chunk_frames``, ``input_dim``, ``filters``, ``kernel_sizes``, ``conv`` ("2d"/"1d"),
    ``pool_size``, ``reduction`` (query/key channels C // reduction), ``pooling``
    ("average"/"flatten"), ``bn_momentum`` (the BatchNorm moving averages' momentum; Keras'
    0.99, the paper gives none). Input ``fbank`` (chunk_frames, input_dim). Output ``predictions``, the
    chunk posterior ``(B, classes)``, or without ``include_top`` the pooled attention features.
    ``weights``: ``.weights.h5`` or None. Utterance-level inference (chunking and posterior
    averaging) is in ``SPEC.chunking``.
    """
    classes, labels = resolve_classes(classes, IEMOCAP_4)
    if conv not in ("1d", "2d"):
        raise ValueError(f"conv must be '1d' or '2d', got {conv!r}")
    if pooling not in ("average", "flatten"):
        raise ValueError(f"pooling must be 'average' or 'flatten', got {pooling!r}")
    if not 0.0 <= bn_momentum < 1.0:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")
    if len(filters) != len(kernel_sizes) or not filters:
        raise ValueError(f"filters {tuple(filters)} and kernel_sizes {tuple(kernel_sizes)} must have the same length >= 1")
    for arg, value in (("chunk_frames", chunk_frames), ("input_dim", input_dim)):
        if int(value) < 1:
            raise ValueError(f"{arg} must be >= 1, got {value}")

    inputs = keras.Input((chunk_frames, input_dim), name="fbank")
    if conv == "2d":
        x = keras.layers.Reshape((chunk_frames, input_dim, 1), name="as_image")(inputs)
        conv_layer, pool_layer = keras.layers.Conv2D, keras.layers.MaxPooling2D
    else:
        x = inputs
        conv_layer, pool_layer = keras.layers.Conv1D, keras.layers.MaxPooling1D
    for i, (n_filters, kernel) in enumerate(zip(filters, kernel_sizes), start=1):
        x = conv_layer(int(n_filters), int(kernel), padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
        if pool_size is not None:
            x = pool_layer(pool_size, padding="same", name=f"block{i}_pool")(x)
    x = ConvSelfAttention(reduction=reduction, name="self_attention")(x)
    if pooling == "average":
        pool = keras.layers.GlobalAveragePooling2D if conv == "2d" else keras.layers.GlobalAveragePooling1D
        x = pool(name="pool")(x)
    else:
        x = keras.layers.Flatten(name="pool")(x)
    outputs = x
    if include_top:
        logits = keras.layers.Dense(classes, name="logits")(x)
        outputs = Predictions(labels, name="predictions")(logits)
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model


def make_chunks(frames: np.ndarray, chunk_frames: int = CHUNK_FRAMES, overlap: int = CHUNK_OVERLAP,
                pad_short: bool = False) -> np.ndarray:
    """Cut one utterance ``(T, D)`` into ``(n, chunk_frames, D)`` chunks overlapping by ``overlap``.

    Chunks start every ``chunk_frames - overlap`` frames; only whole chunks are kept. An utterance
    shorter than one chunk gives ``n = 0`` (Sec. 4.3.2) unless ``pad_short`` zero-pads it to one chunk.
    """
    frames = np.asarray(frames)
    if frames.ndim != 2:
        raise ValueError(f"expected frames (T, D), got shape {frames.shape}")
    if not 0 <= overlap < chunk_frames:
        raise ValueError(f"need 0 <= overlap < chunk_frames, got overlap={overlap}, chunk_frames={chunk_frames}")
    return _chunk_frames(frames, chunk_frames, overlap, drop_short=not pad_short or len(frames) == 0)


def chunk_utterances(utterances: Sequence[np.ndarray], chunk_frames: int = CHUNK_FRAMES, overlap: int = CHUNK_OVERLAP,
                     pad_short: bool = False):
    """Chunk many utterances: ``(chunks, utterance_index, left_out)``.

    ``utterance_index[i]`` is the position in ``utterances`` of chunk ``i``; ``left_out`` lists the
    positions of utterances that gave no chunk (shorter than ``chunk_frames``), so the caller can
    report them.
    """
    pieces, index, left_out, dim = [], [], [], None
    for i, frames in enumerate(utterances):
        chunks = make_chunks(frames, chunk_frames, overlap, pad_short)
        dim = chunks.shape[-1]
        if len(chunks) == 0:
            left_out.append(i)
            continue
        pieces.append(chunks)
        index.append(np.full(len(chunks), i, dtype="int64"))
    if not pieces:
        return np.zeros((0, chunk_frames, dim or 0), "float32"), np.zeros((0,), "int64"), left_out
    return np.concatenate(pieces), np.concatenate(index), left_out


def utterance_posteriors(chunk_probs: np.ndarray, utterance_index: np.ndarray,
                         num_utterances: Optional[int] = None, missing: str = "raise") -> np.ndarray:
    """Mean of each utterance's chunk posteriors (Sec. 4.3.2): ``(num_utterances, classes)``.

    ``utterance_index[i]`` in ``[0, num_utterances)`` names chunk ``i``'s utterance. Utterances
    without chunks raise a ValueError naming them, or give NaN rows with ``missing="nan"``.
    """
    chunk_probs = np.asarray(chunk_probs, dtype="float64")
    utterance_index = np.asarray(utterance_index, dtype="int64")
    if chunk_probs.ndim != 2 or utterance_index.shape != (chunk_probs.shape[0],):
        raise ValueError(f"need chunk_probs (N, C) and utterance_index (N,); got {chunk_probs.shape}, "
                         f"{utterance_index.shape}")
    if num_utterances is None:
        num_utterances = int(utterance_index.max()) + 1 if utterance_index.size else 0
    if utterance_index.size and (utterance_index.min() < 0 or utterance_index.max() >= num_utterances):
        raise ValueError(f"utterance_index must lie in [0, {num_utterances})")
    if not utterance_index.size:
        return np.full((num_utterances, chunk_probs.shape[1]), np.nan)
    posteriors = average_chunk_posteriors(chunk_probs, utterance_index, num_utterances)
    empty = np.flatnonzero(np.isnan(posteriors).any(axis=1))
    if empty.size and missing == "raise":
        raise ValueError(f"{empty.size} utterance(s) have no chunks (shorter than the chunk?): "
                         f"{empty[:10].tolist()}{' ...' if empty.size > 10 else ''}")
    return posteriors


def combine(p_blstmatt: np.ndarray, p_csa: np.ndarray, weight: float = COMBINATION_WEIGHT,
            renormalize: bool = True, floor: float = 1e-12) -> np.ndarray:
    """System combination (Sec. 5): ``P ∝ exp(log P_blstmatt + weight · log P_csa)``.

    Probabilities are floored at ``floor`` before the log. With ``renormalize`` each row sums to
    one (softmax of the combined log-probabilities); otherwise the raw product ``P_b · P_c^weight``.
    """
    p_b = np.clip(np.asarray(p_blstmatt, dtype="float64"), floor, None)
    p_c = np.clip(np.asarray(p_csa, dtype="float64"), floor, None)
    if p_b.shape != p_c.shape:
        raise ValueError(f"posterior shapes differ: {p_b.shape} vs {p_c.shape}")
    log_p = np.log(p_b) + float(weight) * np.log(p_c)
    return _softmax(log_p, axis=-1) if renormalize else np.exp(log_p)


# The paper's training settings (Sec. 4.3) are BLSTMATT's; only batch and epochs differ.
RECIPE = _BLSTMATT_RECIPE.replace(
    batch_size=64,
    epochs=50,
    notes=("Jalal 2020 Sec. 4.3: Adam 1e-4, ReduceLROnPlateau patience 4 factor 0.8; frame-level training "
           "on 30-frame chunks with a 10-frame overlap (zoo.csa.chunk_utterances), utterances shorter than "
           "a chunk left out; utterance posterior = mean of chunk posteriors (zoo.csa.utterance_posteriors). "
           "Batch 64 and 50 epochs are ours (not stated)."),
)

_CITATION = ("M. A. Jalal, R. Milner, T. Hain. Empirical Interpretation of Speech Emotion Perception with "
             "Attention Based Model for Speech Emotion Recognition. Interspeech 2020.")
_METRIC_NOTES = (
    "The paper's UA is defined as (TP+TN)/(P+N) = our overall_accuracy and its WA as (TP/P + TN/N)/2 = our "
    "mean_class_recall (Eq. 6; names swapped relative to most SER papers; the two-class formula's extension "
    "to four classes is not stated). Utterances shorter than the chunk were left out of the test set.")

# Table 1, CSA rows: chunk frames -> (paper UA = overall_accuracy, paper WA = mean_class_recall).
PAPER_BY_CHUNK = {20: (0.758, 0.694), 30: (0.763, 0.688), 40: (0.751, 0.680), 50: (0.739, 0.678),
                  60: (0.751, 0.670), 70: (0.741, 0.647), 80: (0.732, 0.674), 90: (0.748, 0.669),
                  100: (0.746, 0.659), 110: (0.738, 0.675), 120: (0.722, 0.642)}


def _chunk_paper(frames: int) -> Paper:
    ua, wa = PAPER_BY_CHUNK[frames]
    return Paper(citation=_CITATION, short=f"Jalal et al. 2020 (CSA, {frames} frames)",
                 dataset="IEMOCAP IEM4 (angry, happy+excited, sad, neutral)", protocol="session5",
                 reported={"overall_accuracy": ua, "mean_class_recall": wa},
                 paper_names={"overall_accuracy": "UA", "mean_class_recall": "WA"},
                 metric_notes=f"Table 1, CSA at {frames} frames" + (" (best UA). " if frames == 30 else ". ")
                 + _METRIC_NOTES)


PAPER = _chunk_paper(CHUNK_FRAMES)

COMBINATION_PAPER = Paper(
    citation=_CITATION,
    short="Jalal et al. 2020 (BLSTMATT + CSA, SYSComb)",
    dataset="IEMOCAP IEM4 (angry, happy+excited, sad, neutral)",
    protocol="session5",
    reported={"overall_accuracy": 0.805, "mean_class_recall": 0.740},
    paper_names={"overall_accuracy": "UA", "mean_class_recall": "WA"},
    metric_notes="Table 1, SYSComb V./30: BLSTMATT x CSA(30 frames)^0.4. " + _METRIC_NOTES,
)

_CHUNKS = (20, 40, 60, 80, 100, 120)  # the paper's chunk-length sweep (Table 1), 30 being the default
# Parameters of each variant at full size, default classes (checked by tests/models/test_harness.py).
PARAMETERS = {
    "default": 238_885,
    "conv1d": 119_333,
    "chunk20": 238_885,
    "chunk40": 238_885,
    "chunk60": 238_885,
    "chunk80": 238_885,
    "chunk100": 238_885,
    "chunk120": 238_885,
}
SPEC = register_model(ModelSpec(
    name="csa", module=__name__, build=build, parameters=PARAMETERS, labels=IEMOCAP_4,
    variants={
        "default": Variant({}, RECIPE, PAPER, description="CSA on 30-frame chunks (Table 1)"),
        "conv1d": Variant({"conv": "1d"}, RECIPE, None,
                          description="1-D convolutions over time, bands as channels (our alternative reading)"),
        **{f"chunk{n}": Variant({"chunk_frames": n}, RECIPE, _chunk_paper(n),
                                description=f"CSA on {n}-frame chunks (Table 1)") for n in _CHUNKS},
    },
    tiny={"filters": (4, 4), "kernel_sizes": (3, 2), "chunk_frames": 12},
    chunking=Chunking(frames_arg="chunk_frames", default_frames=CHUNK_FRAMES, overlap=CHUNK_OVERLAP, drop_short=True),
    combination=Combination(partner="blstmatt", combine=combine, name="blstmatt+csa", paper=COMBINATION_PAPER,
                            description="log P = log P_blstmatt + 0.4 log P_csa on the same test utterances (Sec. 5)"),
))
