"""What each model is measured with: sizes, batch, input shapes and synthetic data.

Every model trains at its recipe's batch size (``RECIPE.batch_size``; BLSTMATT's lab code
used batch 1, its recipe says 32, and 32 is used). Sizes are the CPU smoke profile's
(``zoo.profiles.PROFILES["smoke"].build``) where the paper sizes are too slow for a
shared 2-core CPU; DSER has no smoke override and its paper text branch (3 LSTMs of
300/256/256 units over 554 tokens at batch 256) takes tens of seconds a step here, so it
gets the reduced widths in :data:`BENCH_EXTRA` (and a variable-length text input instead of
the smoke profile's 32-token cap: this benchmark feeds the recipe's 554 tokens). Inference latency uses the paper sizes
(one utterance is cheap), except AMH without its video branch (``video_resnet`` runs an
ImageNet ResNet-50 on the frames; the smoke profile drops it too).

Synthetic features have the shapes the recipe extractors give (``zoo.features``):
frame rates are 100 frames/s for ``fbank``/``mfcc_deltas`` (25/10 ms windows) and
22,050 / 512 = 43.1 frames/s for gru_bert's librosa ``logmel``/``mfcc``/``chroma``
(hop 512 at 22.05 kHz); transcripts have about 2.6 words per second (IEMOCAP: mean 4.5 s,
about 12 words).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

#: Builder arguments on top of the smoke profile's (AMH: an IEMOCAP-sized vocabulary, as
#: DSER's default 3,438 words; DSER: narrower text LSTMs and embedding, see above).
BENCH_EXTRA = {
    "amh": {"vocab_size": 3438},
    "dser": {"text_units": (64, 64, 64), "embedding_dim": 64},
}
#: Builder arguments for the latency section (paper sizes, see the module docstring).
LATENCY_BUILD = {
    "amh": {"modalities": ("audio", "text")},
}
#: Tiny widths for ``--quick`` (checks that the code runs; numbers mean nothing).
QUICK_BUILD = {
    "gru_bert": {"text_encoder": None, "gru_units": {"mel": 4, "mfcc": 4, "chroma": 4},
                 "branch_units": {"mel": 4, "mfcc": 4, "chroma": 4}, "fusion_units": 8},
    "amh": {"modalities": ("audio", "text"), "gru_units": {"audio": 4, "text": 4}, "hops": 1,
            "vocab_size": 50, "embedding_dim": 4},
    "parallelnet": {"speech_backbone": "mobilenetv2", "image_backbone": "mobilenetv2",
                    "speech_shape": (32, 32, 1), "image_shape": (32, 32, 3), "fusion_dim": 8,
                    "n1_filters": (4,), "head_units": (8,), "backbone_kwargs": {"alpha": 0.35}},
    "blstmatt": {"lstm_units": 4, "attention_units": 4, "num_layers": 1},
    "csa": {"filters": (4,), "kernel_sizes": (3,)},
    "dser": {"acoustic_units": (4, 4), "text_units": (4, 4), "branch_dim": 4,
             "fusion_units": (4,), "vocab_size": 50, "embedding_dim": 4},
}

FBANK_RATE = 100.0            # frames per second, 10 ms hop
LIBROSA_RATE = 22050 / 512    # frames per second, hop 512 at 22.05 kHz
WORDS_PER_SECOND = 2.6
BERT_VOCAB = 30522


@dataclasses.dataclass(frozen=True)
class Stream:
    """One model input: how its synthetic array looks for an utterance of ``s`` seconds.

    ``kind``: ``"frames"`` (``(round(rate * s), dim)`` float32 frames), ``"tokens"``
    (int32 ids, about 2.6 words a second; ``fixed`` zero-pads to ``length``, BERT adds
    [CLS]/[SEP]) or ``"fixed"`` (a float32 array of ``shape``).
    """

    kind: str
    dim: int = 0
    rate: float = 0.0
    shape: Tuple[int, ...] = ()
    length: Optional[int] = None
    fixed: bool = False
    vocab: int = 3438

    @property
    def variable(self) -> bool:
        return self.kind == "frames" or (self.kind == "tokens" and not self.fixed)

    def spec_shape(self) -> tuple:
        if self.kind == "frames":
            return (None, self.dim)
        if self.kind == "tokens":
            return (self.length if self.fixed else None,)
        return tuple(self.shape)

    def steps(self, seconds: float) -> int:
        """Length of the variable axis for an utterance of ``seconds``."""
        if self.kind == "frames":
            return max(1, int(round(self.rate * seconds)))
        if self.kind == "tokens":
            return max(1, int(round(WORDS_PER_SECOND * seconds)))
        raise ValueError("fixed-shape inputs have no length")

    def make(self, seconds: float, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "frames":
            return rng.standard_normal((self.steps(seconds), self.dim)).astype(np.float32)
        if self.kind == "fixed":
            return rng.random(self.shape).astype(np.float32)
        n = self.steps(seconds)
        if self.fixed:
            n = min(n, self.length)
        words = rng.integers(1000 if self.vocab == BERT_VOCAB else 2, self.vocab, n).astype(np.int32)
        if self.vocab == BERT_VOCAB:  # [CLS] pieces [SEP], truncated to the length
            words = np.concatenate([[101], words[: self.length - 2], [102]]).astype(np.int32)
        if not self.fixed:
            return words
        out = np.zeros(self.length, np.int32)
        out[: len(words)] = words[: self.length]
        return out


_LENGTH_INPUTS: Dict[tuple, list] = {}


@dataclasses.dataclass(frozen=True)
class Setup:
    """How one model is benchmarked (see the module docstring)."""

    model: str
    streams: Dict[str, Stream]
    build: dict
    batch_size: int
    epoch_batches: int           # throughput: batches per timed epoch
    bucket_input: Optional[str]  # the recurrent input that bucketing sorts by (None: not recurrent)
    truncate: Optional[dict] = None
    chunking: Optional[tuple] = None
    size_note: str = ""
    quick: bool = False

    @property
    def recipe(self):
        from zoo import registry

        return registry.recipe_of(self.model)

    def build_model(self, **overrides):
        from zoo import registry

        return registry.build(self.model, **{**self.build, **overrides})

    @property
    def length_inputs(self) -> list:
        """The inputs whose true lengths the model takes as ``<name>_length`` (its masks), read
        from one build of the setup (cached per process)."""
        key = (self.model, repr(sorted(self.build.items())))
        if key not in _LENGTH_INPUTS:
            import keras

            from zoo import pipeline

            model = self.build_model()
            _LENGTH_INPUTS[key] = pipeline.length_inputs([t.name.split(":")[0] for t in model.inputs])[1]
            del model
            keras.backend.clear_session()
        return list(_LENGTH_INPUTS[key])

    def compile(self, model):
        """Compile with the recipe (one loss per output for multi-output models).
        ``quick``: eager execution (no tf.function tracing, which costs more than a toy run)."""
        from zoo.recipe import compile_model

        compile_model(model, self.recipe)
        if self.quick:
            model.run_eagerly = True
        return model

    @property
    def targets(self) -> tuple:
        return tuple(self.recipe.targets)

    @property
    def label_set(self):
        return None if "label" not in self.targets else list(self.recipe.label_set)


def _streams(model: str, quick: bool, build: dict) -> Dict[str, Stream]:
    # --quick: 1/50 of the frames for the recurrent models, so eager toy runs take seconds
    # (CSA keeps them: its 30-frame chunks need them, and its convolutions are cheap).
    slow = 50.0 if quick and model != "csa" else 1.0
    if model == "gru_bert":
        rate = LIBROSA_RATE / slow
        return {"mel": Stream("frames", 128, rate), "mfcc": Stream("frames", 40, rate),
                "chroma": Stream("frames", 12, rate)} | (
            {} if quick else {"text": Stream("tokens", length=30, fixed=True, vocab=BERT_VOCAB)})
    if model == "amh":
        return {"audio": Stream("frames", 120, FBANK_RATE / slow),
                "text": Stream("tokens", length=128, vocab=50 if quick else 3438)}
    if model == "parallelnet":  # the build's input sizes (smoke profile: 64 x 64)
        return {"speech": Stream("fixed", shape=tuple(build.get("speech_shape", (128, 128, 1)))),
                "image": Stream("fixed", shape=tuple(build.get("image_shape", (128, 128, 3))))}
    if model in ("blstmatt", "csa"):
        return {"fbank": Stream("frames", 23, FBANK_RATE / slow)}
    if model == "dser":
        return {"hsf": Stream("fixed", shape=(68,)),
                "text": Stream("tokens", length=554, fixed=True, vocab=50 if quick else 3438)}
    raise ValueError(f"unknown model {model!r}")


#: Batches per timed throughput epoch (parallelnet's steps take seconds each here).
EPOCH_BATCHES = {"gru_bert": 3, "amh": 2, "parallelnet": 1, "blstmatt": 3, "csa": 6, "dser": 1}
BUCKET_INPUT = {"gru_bert": "mel", "amh": "audio", "blstmatt": "fbank", "dser": "text"}


def get(model: str, quick: bool = False) -> Setup:
    """The :class:`Setup` of ``model`` (``quick``: toy widths and batches)."""
    from zoo import registry
    from zoo.profiles import PROFILES

    spec = registry.get_spec(model)
    if quick:
        build = dict(QUICK_BUILD[model])
    else:
        build = {**PROFILES["smoke"].build.get(model, {}), **BENCH_EXTRA.get(model, {})}
    if model == "dser":
        # Variable-length text input: the recipe's 554-token batches (throughput) and the
        # bucketed lengths both fit. The smoke profile's 32-token cap is not used here.
        build["max_length"] = None
    note = "toy widths (--quick)" if quick else (", ".join(f"{k}={v}" for k, v in build.items()) or "paper sizes")
    truncate = {"audio": 750} if model == "amh" else None  # AMH recipe: 750 audio frames (code)
    chunking = spec.chunking.options(build) if spec.chunking is not None else None
    batch = 4 if quick else spec.variant().recipe.batch_size
    return Setup(model=model, streams=_streams(model, quick, build), build=build, batch_size=batch,
                 epoch_batches=1 if quick else EPOCH_BATCHES[model], bucket_input=BUCKET_INPUT.get(model),
                 truncate=truncate, chunking=chunking, size_note=note, quick=quick)
