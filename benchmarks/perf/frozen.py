"""Frozen encoders run once per utterance: seconds per training epoch after the first.

The models whose smoke and real profiles freeze an encoder: gru_bert (``text_trainable=False``:
the offline all-MiniLM-L6-v2, 6 layers, over 30 word pieces) and ParallelNet (random frozen
MobileNetV2 backbones at 64 x 64; only the image N2 reads its input alone, the speech N2 reads
the trainable 1x1 conv's output and runs every step). Same synthetic utterances (IEMOCAP-like
durations, :mod:`benchmarks.perf.data`) and the bucketed pipeline training uses, two arms:

* ``end_to_end``: the built model, the frozen encoder in every step (training before
  ``zoo.frozen``);
* ``precomputed``: ``zoo.frozen.split`` of the same model: the encoder's output once per
  utterance (``zoo.features.FrozenEncoder.encode_arrays``, timed on its own as ``encode``: a
  one-off cost per fold, cached across runs), then the trainable part.

Each arm: one untimed epoch (tracing), then ``repeats`` epochs interleaved (ABAB), medians of
wall and process-CPU seconds. ``max |Δ posterior|``: the two arms' outputs on the epoch's
utterances with the same weights, before training (the precomputed path is the same model).
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.perf import data, timing

MODELS = ("gru_bert", "parallelnet")

#: BERT-base's sizes (Kumar et al. 2021 Sec. 2.1.2; keras-hub ``bert_base_en_uncased``), built with
#: random weights: a frozen encoder's cost depends on its sizes only, and the preset needs a download.
BERT_BASE = dict(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072,
                 max_sequence_length=512)


def setups_of(model: str, quick: bool = False) -> list:
    """The setups measured for ``model``: its smoke/real profile's, and for gru_bert also the
    paper's BERT-base frozen (variant ``frozen_bert``'s encoder; not with ``quick``)."""
    import dataclasses

    from benchmarks.perf import setups
    from zoo import text_encoders

    setup = setups.get(model, quick=quick)
    out = [setup]
    if model == "gru_bert" and not quick:
        encoder = text_encoders.tiny_bert_backbone(**BERT_BASE)
        out.append(dataclasses.replace(setup, build={**setup.build, "text_encoder": encoder},
                                       size_note=setup.size_note + ", text_encoder=BERT-base sizes (12 layers, "
                                                 "768 hidden; random weights, the cost of bert_base_en_uncased)"))
    return out


def _encode_table(split, table):
    """The trainable part's table (:func:`zoo.experiment.encoded_table`), encoded in memory
    (no feature cache), and the seconds the encoding took."""
    from zoo import experiment, frozen
    from zoo.features import FrozenEncoder

    class _Inner:  # the table's arrays are the inner features; only name/config/shape are read
        name, libraries = "synthetic", ("numpy",)

        def config(self):
            return {}

    seconds = 0.0

    def encode(part, encoder):
        nonlocal seconds
        extractor = FrozenEncoder(_Inner(), encoder, frozen.identity(encoder), part=part.name)
        started = time.perf_counter()
        values = extractor.encode_arrays(table.features[part.input])
        seconds += time.perf_counter() - started
        return values, extractor

    return experiment.encoded_table(split, table, encode), seconds


def measure(setup, repeats: int = 2, utterances: int = 0, seed: int = 0) -> dict:
    """Both arms for one model (see the module docstring)."""
    import keras

    from zoo import frozen, registry

    spec = registry.get_spec(setup.model)
    n = utterances or 4 * setup.batch_size
    seconds = data.iemocap_like_seconds(n, np.random.default_rng(seed))
    table = data.table(setup, seconds, seed=seed)
    keras.utils.set_random_seed(seed)
    model = setup.build_model()
    samples = {p.input: np.stack(table.features[p.input][:4]) for p in spec.frozen if p.input in table.features}
    split = frozen.split(model, spec.frozen, samples)
    if split is None:
        raise ValueError(f"{setup.model}: nothing frozen with {setup.build}")
    encoded, encode_seconds = _encode_table(split, table)
    same = _same_outputs(model, split.trainable, table, encoded, setup.length_inputs)
    arms = {"end_to_end": (setup.compile(model), timing.Pipeline(setup, table)),
            "precomputed": (setup.compile(split.trainable), timing.Pipeline(setup, encoded))}
    first = {arm: timing.fit_epoch(m, pipe.stream, pipe.steps, cpu=True) for arm, (m, pipe) in arms.items()}
    wall = {arm: [] for arm in arms}
    cpu = {arm: [] for arm in arms}
    for r in range(repeats):
        for arm in (list(arms) if r % 2 == 0 else list(arms)[::-1]):
            m, pipe = arms[arm]
            w, c = timing.fit_epoch(m, pipe.stream, pipe.steps, cpu=True)
            wall[arm].append(w)
            cpu[arm].append(c)
    med = {arm: timing.median(v) for arm, v in wall.items()}
    med_cpu = {arm: timing.median(v) for arm, v in cpu.items()}
    return {"model": setup.model, "sizes": setup.size_note, "batch_size": setup.batch_size, "utterances": n,
            "steps_per_epoch": arms["end_to_end"][1].steps,
            "parts": [f"{p.input} -> {p.into}" for p in split.parts],
            "parameters": {"end_to_end": int(model.count_params()),
                           "trainable_part": int(split.trainable.count_params())},
            "encode_seconds": encode_seconds, "max_abs_posterior_difference": same,
            "first_epoch": {arm: {"wall": w, "cpu": c} for arm, (w, c) in first.items()},
            "epoch_seconds": {arm: [round(x, 3) for x in v] for arm, v in wall.items()},
            "epoch_cpu_seconds": {arm: [round(x, 3) for x in v] for arm, v in cpu.items()},
            "median_seconds": med, "median_cpu_seconds": med_cpu,
            "speedup": med["end_to_end"] / med["precomputed"],
            "cpu_speedup": med_cpu["end_to_end"] / med_cpu["precomputed"]}


def _same_outputs(model, head, table, encoded, lengths=(), rows: int = 32) -> float:
    """max |posterior difference| of the two paths on the first ``rows`` utterances (one at a
    time: no padding differences; ``lengths``: the inputs with a ``<x>_length`` companion)."""
    import keras

    from zoo.pipeline import LENGTH_SUFFIX

    worst = 0.0
    for i in range(min(rows, len(table))):
        x = {n: table.features[n][i][None] for n in table.specs}
        xh = {n: encoded.features[n][i][None] for n in encoded.specs}
        for n in lengths:
            x[n + LENGTH_SUFFIX] = xh[n + LENGTH_SUFFIX] = np.asarray([len(table.features[n][i])], np.int32)
        a = keras.ops.convert_to_numpy(model(x, training=False))
        b = keras.ops.convert_to_numpy(head(xh, training=False))
        worst = max(worst, float(np.abs(a - b).max()))
    return worst
