"""SpecAugment-style masking of frame features in training batches (Park et al., Interspeech 2019).

For every utterance of a batch, ``time_masks`` spans of up to ``time_width`` (a fraction of the
utterance's true length) frames and ``freq_masks`` bands of up to ``freq_width`` feature
dimensions are set to zero (the mean of utterance-normalised features). Models that take
``<name>_length`` inputs keep a wholly zeroed frame as a frame of the utterance, as SpecAugment
does; models that mask all-zero frames (``Masking(0.0)``) drop it like padding. The true length
is the batch's ``<name>_length`` when it has one, else the last non-zero frame. The masks are drawn with stateless random ops
from ``(seed, epoch, batch)``, so an epoch's augmentation is the same after a resume.
Only float inputs with a variable time axis are augmented; the test and validation data never are.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class SpecAugment:
    time_masks: int = 2
    time_width: float = 0.1
    freq_masks: int = 2
    freq_width: int = 3

    def describe(self) -> str:
        return (f"SpecAugment: {self.time_masks} time masks of up to {self.time_width:.0%} of the frames and "
                f"{self.freq_masks} frequency masks of up to {self.freq_width} bands per training utterance")


def _spans(key, count, max_width, extent, total):
    """A (B, total) float mask: 0 inside ``count`` random spans per row, else 1. Row ``b``'s spans
    are at most ``max_width[b]`` steps wide and lie inside its first ``extent[b]`` steps."""
    import tensorflow as tf

    batch = tf.shape(max_width)[0]
    keep = tf.ones((batch, total), tf.float32)
    positions = tf.range(total)[None, :]
    for k in range(count):
        draws = tf.random.stateless_uniform((batch, 2), seed=key + tf.constant([0, 7919 * (k + 1)], tf.int64))
        width = tf.minimum(tf.floor(draws[:, 0] * (max_width + 1.0)), max_width)
        start = tf.floor(draws[:, 1] * tf.maximum(extent - width + 1.0, 0.0))
        width, start = tf.cast(width, tf.int32), tf.cast(start, tf.int32)
        inside = (positions >= start[:, None]) & (positions < (start + width)[:, None])
        keep = keep * (1.0 - tf.cast(inside, tf.float32))
    return keep


def apply(dataset, inputs: Sequence[str], config: SpecAugment, seed: int, epoch: int):
    """``dataset`` of ``(inputs dict, targets[, weights])`` batches with ``inputs`` masked."""
    import tensorflow as tf

    names = list(inputs)

    def augment(index, batch):
        features, rest = batch[0], batch[1:]
        features = dict(features)
        base = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64), index])
        for i, name in enumerate(names):
            x = features[name]
            shape = tf.shape(x)
            b, t, d = shape[0], shape[1], shape[2]
            if f"{name}_length" in features:  # the pipeline's true lengths (zoo.pipeline.LENGTH_SUFFIX)
                lengths = tf.cast(features[f"{name}_length"], tf.float32)
            else:  # the last non-zero frame (zero padding follows it)
                nonzero = tf.cast(tf.reduce_any(tf.not_equal(x, 0.0), axis=-1), tf.int32)
                lengths = tf.cast(t - tf.argmax(tf.reverse(nonzero, axis=[1]), axis=1, output_type=tf.int32),
                                  tf.float32)
                lengths = tf.where(tf.reduce_any(nonzero > 0, axis=1), lengths, 0.0)
            key = base + tf.constant([0, 104_729], tf.int64) * (i + 1)
            time_keep = _spans(key, config.time_masks, tf.floor(config.time_width * lengths), lengths, t)
            freq_keep = _spans(key + tf.constant([1, 0], tf.int64), config.freq_masks,
                               tf.fill([b], float(config.freq_width)), tf.fill([b], tf.cast(d, tf.float32)), d)
            features[name] = x * tf.cast(time_keep[:, :, None] * freq_keep[:, None, :], x.dtype)
        return (features, *rest)

    return dataset.enumerate().map(lambda i, batch: augment(i, batch), num_parallel_calls=tf.data.AUTOTUNE)
