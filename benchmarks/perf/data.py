"""Synthetic feature tables for the speed benchmarks (no audio decoding).

Utterance durations follow an IEMOCAP-like distribution: a lognormal with mean 4.5 s and
standard deviation 3.2 s (sigma = sqrt(ln(1 + (3.2/4.5)^2)) = 0.64), clipped to
[0.6, 34] s, the range of IEMOCAP's utterances.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

MIN_SECONDS, MAX_SECONDS, MEAN_SECONDS, STD_SECONDS = 0.6, 34.0, 4.5, 3.2


def iemocap_like_seconds(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` durations (s): lognormal, mean 4.5 s, sd 3.2 s, clipped to [0.6, 34] s."""
    sigma = np.sqrt(np.log1p((STD_SECONDS / MEAN_SECONDS) ** 2))
    mu = np.log(MEAN_SECONDS) - sigma ** 2 / 2
    return np.clip(rng.lognormal(mu, sigma, n), MIN_SECONDS, MAX_SECONDS)


def records(n: int, setup, rng: np.random.Generator):
    """``n`` Records with a label of the recipe's set (or V/A/D ratings in [-1, 1])."""
    from zoo.data.records import Record

    labels = setup.label_set
    out = []
    for i in range(n):
        label = labels[i % len(labels)] if labels else None
        vad = rng.uniform(-1, 1, 3) if labels is None else (None, None, None)
        out.append(Record(f"perf{i:05d}", "perf", label=label, valence=vad[0], arousal=vad[1],
                          dominance=vad[2], transcript="synthetic"))
    return out


def table(setup, seconds: Sequence[float], seed: int = 0):
    """A :class:`zoo.pipeline.FeatureTable` of synthetic features, one row per duration."""
    from zoo.pipeline import FeatureTable, InputSpec

    rng = np.random.default_rng(seed)
    recs = records(len(seconds), setup, rng)
    features: Dict[str, list] = {name: [] for name in setup.streams}
    for s in seconds:
        for name, stream in setup.streams.items():
            features[name].append(stream.make(float(s), rng))
    specs = {name: InputSpec(stream.spec_shape(), "int32" if stream.kind == "tokens" else "float32")
             for name, stream in setup.streams.items()}
    return FeatureTable(recs, features, specs)


def fold_of(tab):
    """A protocol fold that trains on every row of ``tab`` (and tests on its first)."""
    from zoo.data.protocols import Fold

    n = len(tab)
    return Fold("perf", np.arange(n), np.zeros(0, np.int64), np.arange(1), tuple(tab.records))


def padded_arrays(tab, setup):
    """``(inputs, targets)`` numpy arrays of ``tab``, zero-padded to the longest row, chunked
    like the pipeline for CSA: the in-memory baseline."""
    from zoo import pipeline

    if setup.chunking is not None:
        tab = pipeline.chunk_table(tab, *setup.chunking)
    inputs = {}
    for name, arrays in tab.features.items():
        if tab.specs[name].variable:
            keep = (setup.truncate or {}).get(name)
            arrays = [a[:keep] for a in arrays] if keep else arrays
            longest = max(a.shape[0] for a in arrays)
            out = np.zeros((len(arrays), longest, *arrays[0].shape[1:]), arrays[0].dtype)
            for i, a in enumerate(arrays):
                out[i, : a.shape[0]] = a
            inputs[name] = out
            if name in setup.length_inputs:
                inputs[f"{name}_length"] = np.asarray([a.shape[0] for a in arrays], np.int32)
        else:
            inputs[name] = np.stack(arrays)
    if setup.label_set is not None:
        targets = pipeline.label_ids(tab.records, setup.label_set)
    else:
        values = {t: np.asarray([getattr(r, t) for r in tab.records], np.float32) for t in setup.targets}
        targets = values if len(values) > 1 else next(iter(values.values()))
    return inputs, targets
