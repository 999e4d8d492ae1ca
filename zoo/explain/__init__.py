"""Explainability of the zoo's models: the three analyses of the papers, as library functions.

- :mod:`zoo.explain.intersection` — intersection matrices and embedding plots of any layer
  (Kumar, Kaushik, Raman 2021, Sec. 2.2, Eq. 6-9, Table 5);
- :mod:`zoo.explain.shapley` — Shapley values by divide and conquer over speech and image
  (Kumar, Malik, Raman, ParallelNet, Sec. 3.3, Eq. 3-5);
- :mod:`zoo.explain.attention` — attention weights over time aligned to forced-aligned words
  and phones, and the vowel / consonant comparison (Jalal, Milner, Hain 2020, Sec. 5.1);
- :mod:`zoo.explain.plots` — the PNG figures; ``python -m zoo.explain`` — the command line.
"""
from .attention import (VOWELS, Segment, attention_inputs, attention_weights, frame_centres, frame_timing,
                        phone_class, phones_of_frames, read_alignment, vowel_consonant_attention)
from .intersection import (IntersectionResult, class_intervals, default_layers, embed, interval_overlap,
                           intersection_from_embedding, intersection_from_intervals, intersection_matrix,
                           layer_outputs)
from .shapley import (AsrUnavailable, ShapleyResult, divide_and_conquer_shapley, keep_mask, kept_audio,
                      partition, samples_mask, time_importance, transcribe)

__all__ = [
    "intersection_matrix", "intersection_from_embedding", "intersection_from_intervals", "interval_overlap",
    "class_intervals", "embed", "layer_outputs", "default_layers", "IntersectionResult",
    "divide_and_conquer_shapley", "partition", "ShapleyResult", "time_importance", "keep_mask",
    "samples_mask", "kept_audio", "transcribe", "AsrUnavailable",
    "read_alignment", "Segment", "frame_timing", "frame_centres", "phones_of_frames", "phone_class",
    "attention_weights", "attention_inputs", "vowel_consonant_attention", "VOWELS",
]
