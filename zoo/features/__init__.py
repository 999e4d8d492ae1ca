"""Feature extractors by registry name, and the content-hash cache.

    from zoo import features
    mfcc = features.get("mfcc", pooling="mean")     # an Extractor
    x = features.FeatureCache("~/.cache/zoo").get_or_compute(mfcc, record)

Names: ``logmel``, ``mfcc``, ``chroma`` (option ``pooling="mean"``), ``mfcc_deltas``,
``fbank``, ``logmel_image``, ``paa_frames``, ``paa_hsf``, ``word_ids``, ``bert_tokens``,
``image``, ``video_resnet``; :class:`FrozenEncoder` (a frozen part of a model over another
extractor's feature) is made by the experiment from a built model, not by name. Heavy
libraries (librosa, pyAudioAnalysis, keras, keras-hub, gensim) are imported on first use.
"""
from __future__ import annotations

from .base import Extractor, FeatureError
from .cache import CacheStats, FeatureCache
from .frozen import FrozenEncoder
from .normalize import Normalized, speaker_cmvn, utterance_cmvn
from .paa import PaaFrames, PaaHSF, high_level_statistics
from .spectral import MFCC, Chroma, FBank, LogMel, LogMelImage, MFCCDeltas, chunk_frames
from .text import BertTokens, Vocabulary, WordIds, embedding_matrix, offline_minilm_path, tokenize
from .vision import Image, VideoResNet

EXTRACTORS = {
    cls.name: cls
    for cls in (LogMel, MFCC, Chroma, MFCCDeltas, FBank, LogMelImage, PaaFrames, PaaHSF,
                WordIds, BertTokens, Image, VideoResNet)
}


def get(name, **options) -> Extractor:
    """A configured extractor: ``get("fbank")``, ``get("logmel", log=False, pooling="mean")``.

    ``name`` may also be a :class:`zoo.recipe.FeatureSpec` (its options are merged under
    ``options``). ``normalize="utterance"`` wraps a frame extractor in per-utterance CMVN
    (:class:`zoo.features.normalize.Normalized`).
    """
    if hasattr(name, "extractor") and hasattr(name, "options"):  # a FeatureSpec
        name, options = name.extractor, {**name.options, **options}
    try:
        cls = EXTRACTORS[name]
    except KeyError:
        raise ValueError(f"unknown feature extractor {name!r}; known: {sorted(EXTRACTORS)}") from None
    options = dict(options)
    normalize = options.pop("normalize", None)
    extractor = cls(**options)
    return extractor if normalize is None else Normalized(extractor, normalize)


__all__ = [
    "EXTRACTORS", "get", "Extractor", "FeatureError", "FeatureCache", "CacheStats",
    "LogMel", "MFCC", "Chroma", "MFCCDeltas", "FBank", "LogMelImage", "chunk_frames",
    "PaaFrames", "PaaHSF", "high_level_statistics",
    "WordIds", "BertTokens", "Vocabulary", "tokenize", "embedding_matrix", "offline_minilm_path",
    "Image", "VideoResNet", "Normalized", "utterance_cmvn", "FrozenEncoder",
]
