"""End-to-end inference latency: a 4-second wav to a prediction, one utterance.

Per model: the recipe's extractors (``zoo.experiment.make_extractors``, no cache; every
audio extractor decodes and resamples the file itself, as training's feature step does)
then the model in a compiled ``tf.function(lambda x: model(x, training=False))`` on a
batch of one (CSA: every 30-frame chunk of the utterance in one batch, posteriors
averaged). One untimed warm-up (tracing, librosa/numba compilation), then ``repeats``
timed runs; medians of features, model and total are reported.

Inputs besides audio: a transcript ("I told you I don't want to talk about it.") for
the text extractors (the word vocabulary is built on it) and a 256 x 256 PNG face
stand-in for ParallelNet's ``image`` extractor.
"""
from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.perf import setups, timing

TRANSCRIPT = "I told you I don't want to talk about it."
SECONDS = 4.0


def make_record(folder: str, seconds: float = SECONDS):
    """A 16 kHz speech-like wav (``benchmarks.features.make_clips``) + a PNG image."""
    from PIL import Image

    from benchmarks.features import make_clips

    record = make_clips(folder, 1, seconds)[0]
    image = os.path.join(folder, "face.png")
    pixels = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(image)
    return record.replace(transcript=TRANSCRIPT, image_path=image)


def _input_names(model):
    return [t.name.split(":")[0] for t in model.inputs]


def _extractor_overrides(setup) -> dict:
    if setup.quick and setup.model == "parallelnet":  # the toy ParallelNet takes 32 x 32 inputs
        return {"speech": {"n_mels": 32, "size": 32}, "image": {"size": 32}}
    return {}


def measure(setup, record, repeats: int = 10) -> dict:
    """Median seconds of features, model and total for ``record`` (see the module docstring)."""
    import keras
    import tensorflow as tf

    from zoo.experiment import make_extractors
    from zoo import pipeline, registry

    # Paper sizes (setups.LATENCY_BUILD), not the reduced training sizes; --quick: toy widths.
    build = dict(setup.build) if setup.quick else dict(setups.LATENCY_BUILD.get(setup.model, {}))
    model = registry.build(setup.model, **build)
    names = _input_names(model)
    extractors = make_extractors(setup.recipe, [record], names, _extractor_overrides(setup))
    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def features():
        arrays = {name: ex.extract(record) for name, ex in extractors.items()}
        if setup.chunking is not None:
            length, overlap = setup.chunking[:2]
            arrays = {n: pipeline.chunk_sequence(a, length, overlap) for n, a in arrays.items()}
        else:
            arrays = {n: a[None] for n, a in arrays.items()}
            for n in pipeline.length_inputs(names)[1]:  # the masks' true lengths: the whole utterance
                arrays[f"{n}_length"] = np.array([arrays[n].shape[1]], np.int32)
        return {n: tf.constant(a) for n, a in arrays.items()}

    def run():
        t0 = time.perf_counter()
        x = features()
        t1 = time.perf_counter()
        out = predict(x)
        out = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
        if setup.chunking is not None:
            out = [o.mean(axis=0, keepdims=True) for o in out]
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, out

    t0 = time.perf_counter()
    run()
    warmup = time.perf_counter() - t0
    feats, models = [], []
    for _ in range(repeats):
        f, m, out = run()
        feats.append(f)
        models.append(m)
    shapes = {n: list(np.shape(x)) for n, x in features().items()}
    result = {
        "model": setup.model, "audio_seconds": _duration(record), "sizes": _size_note(setup, build),
        "parameters": int(model.count_params()),
        "extractors": {n: ex.name for n, ex in extractors.items()}, "input_shapes": shapes,
        "output_shapes": [list(o.shape) for o in out], "warmup_seconds": round(warmup, 3),
        "features_seconds": timing.median(feats), "model_seconds": timing.median(models),
        "total_seconds": timing.median(np.add(feats, models)),
        "features_runs": [round(x, 4) for x in feats], "model_runs": [round(x, 4) for x in models],
    }
    keras.backend.clear_session()
    return result


def _size_note(setup, build) -> str:
    if setup.quick:
        return setup.size_note
    return ", ".join(f"{k}={v}" for k, v in build.items()) or "paper sizes"


def _duration(record) -> float:
    import soundfile

    return float(soundfile.info(record.audio_path).duration)
