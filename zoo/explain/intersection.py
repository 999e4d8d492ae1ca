"""Intersection matrices of class embeddings (Kumar, Kaushik, Raman, Interspeech 2021, Sec. 2.2).

For a chosen layer: its outputs on the TRAINING data -> ``StandardScaler`` -> ``PCA(3)``
(scikit-learn) -> per class i and component m the interval ``[L_i(m), R_i(m)] = mean ± 2σ``
with the population σ (Eq. 6-7) -> per-component overlap (Eq. 8)::

    I_ij(m) = max(min(R_i, R_j) - max(L_i, L_j), 0) / (max(R_i, R_j) - min(L_i, L_j))

-> ``I_ij = Π_m I_ij(m)`` (Eq. 9); the diagonal is 1. Table 5 of the paper shows the matrices
of the last three layers (for :mod:`zoo.gru_bert`: its spec's ``explain_layers``); the
off-diagonal values should shrink towards the output.

Readings the paper leaves open (ours in brackets): Eq. 6 writes σ without the square root,
but calls it the standard deviation and the authors' code uses ``np.std`` (we use the
population standard deviation); when both intervals are the same single point the ratio is
0/0 (we count identical points as a full overlap, 1, and distinct points as 0); a class
without samples in the data gets NaN off the diagonal (listed in ``missing_classes``).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np

from zoo.model_inputs import check_batch

__all__ = ["IntersectionResult", "class_intervals", "interval_overlap", "intersection_from_intervals",
           "embed", "intersection_from_embedding", "layer_outputs", "intersection_matrix", "default_layers"]


@dataclasses.dataclass
class IntersectionResult:
    """One layer's intersection matrix and what it was computed from."""

    layer: str
    matrix: np.ndarray            # (C, C), Eq. 9
    components: np.ndarray        # (N, n_components) PCA coordinates of the samples
    labels: np.ndarray            # (N,) class ids
    class_names: List[str]
    left: np.ndarray              # (C, n_components) L_i(m), Eq. 7
    right: np.ndarray             # (C, n_components) R_i(m)
    explained_variance_ratio: np.ndarray
    missing_classes: List[str] = dataclasses.field(default_factory=list)

    def off_diagonal_mean(self) -> float:
        """Mean of the off-diagonal entries (NaN entries of missing classes ignored)."""
        c = len(self.matrix)
        values = self.matrix[~np.eye(c, dtype=bool)]
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    def to_markdown(self, digits: int = 4) -> str:
        head = "| | " + " | ".join(self.class_names) + " |"
        rows = [head, "|---|" + "---:|" * len(self.class_names)]
        for name, row in zip(self.class_names, self.matrix):
            cells = ["n/a" if not np.isfinite(v) else f"{v:.{digits}f}" for v in row]
            rows.append(f"| **{name}** | " + " | ".join(cells) + " |")
        return "\n".join(rows)


def class_intervals(components: np.ndarray, labels: np.ndarray, n_classes: int,
                    width: float = 2.0) -> Tuple[np.ndarray, np.ndarray]:
    """``(L, R)``, each ``(n_classes, M)``: per class mean ∓ ``width`` population σ (Eq. 6-7).

    Rows of classes without samples are NaN.
    """
    components = np.asarray(components, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if components.ndim != 2 or len(components) != len(labels):
        raise ValueError(f"components must be (N, M) with N = len(labels); got {components.shape} and {labels.shape}")
    left = np.full((n_classes, components.shape[1]), np.nan)
    right = np.full_like(left, np.nan)
    for c in range(n_classes):
        rows = components[labels == c]
        if len(rows):
            mean, sigma = rows.mean(axis=0), rows.std(axis=0, ddof=0)  # population σ (Eq. 6)
            left[c], right[c] = mean - width * sigma, mean + width * sigma
    return left, right


def interval_overlap(l_i, r_i, l_j, r_j):
    """Eq. 8 for intervals ``[l_i, r_i]`` and ``[l_j, r_j]`` (broadcasting arrays).

    Overlap length over the length of their hull; 0 for disjoint intervals, 1 for identical
    ones; two equal single points count as identical (1), two distinct points as 0.
    """
    l_i, r_i, l_j, r_j = (np.asarray(v, dtype=np.float64) for v in (l_i, r_i, l_j, r_j))
    inner = np.maximum(np.minimum(r_i, r_j) - np.maximum(l_i, l_j), 0.0)
    hull = np.maximum(r_i, r_j) - np.minimum(l_i, l_j)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(hull > 0, inner / np.where(hull > 0, hull, 1.0), 0.0)
    same_point = (hull == 0) & (l_i == l_j)
    ratio = np.where(same_point, 1.0, ratio)
    return np.where(np.isnan(hull), np.nan, ratio)


def intersection_from_intervals(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The ``(C, C)`` intersection matrix: product over components of Eq. 8 (Eq. 9), diagonal 1."""
    left, right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    per_component = interval_overlap(left[:, None, :], right[:, None, :], left[None, :, :], right[None, :, :])
    matrix = np.prod(per_component, axis=-1)
    np.fill_diagonal(matrix, 1.0)
    return matrix


def embed(outputs: np.ndarray, n_components: int = 3):
    """``StandardScaler`` then ``PCA(n_components)`` (scikit-learn) of ``(N, D)`` layer outputs.

    Returns ``(components (N, k), scaler, pca)``; k = min(n_components, N, D).
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    if len(outputs) < 2:
        raise ValueError(f"need at least 2 samples for PCA; got {len(outputs)}")
    k = min(int(n_components), outputs.shape[0], outputs.shape[1])
    scaler = StandardScaler().fit(outputs)
    pca = PCA(n_components=k, svd_solver="full").fit(scaler.transform(outputs))
    return pca.transform(scaler.transform(outputs)), scaler, pca


def intersection_from_embedding(outputs: np.ndarray, labels, class_names: Sequence[str], layer: str = "",
                                n_components: int = 3, width: float = 2.0) -> IntersectionResult:
    """Sec. 2.2 steps i-vi on given layer outputs ``(N, D)`` and class ids ``(N,)``."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    class_names = list(class_names)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"class ids must be in [0, {len(class_names)}); got {labels.min()}..{labels.max()}")
    components, _, pca = embed(outputs, n_components)
    left, right = class_intervals(components, labels, len(class_names), width)
    missing = [name for c, name in enumerate(class_names) if not (labels == c).any()]
    return IntersectionResult(layer=layer, matrix=intersection_from_intervals(left, right),
                              components=components, labels=labels, class_names=class_names,
                              left=left, right=right, explained_variance_ratio=pca.explained_variance_ratio_,
                              missing_classes=missing)


def _first_output(layer):
    out = layer.output
    return out[0] if isinstance(out, (list, tuple)) else out


def default_layers(model, spec=None) -> Tuple[str, ...]:
    """The layers Sec. 2.2 / Table 5 look at: the spec's ``explain_layers`` when it has them
    (gru_bert: fusion, penultimate, predictions), else the last three layers with a flat
    ``(batch, features)`` output (dropout and input layers skipped)."""
    names = tuple(getattr(spec, "explain_layers", ()) or ())
    if names and all(_has_layer(model, n) for n in names):
        return names
    import keras

    flat = [layer.name for layer in model.layers
            if not isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout))
            and len(_first_output(layer).shape) == 2]
    if not flat:
        raise ValueError(f"{model.name} has no layer with a (batch, features) output")
    return tuple(flat[-3:])


def _has_layer(model, name: str) -> bool:
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def layer_outputs(model, layers: Sequence[str], data) -> Tuple[dict, np.ndarray]:
    """Outputs of ``layers`` on ``data`` as ``{layer: (N, D)}`` plus the labels ``(N,)``.

    ``data``: a ``tf.data.Dataset`` (or any iterable) of ``(inputs, labels[, weights])``
    batches, or one ``(inputs, labels)`` pair of arrays. Sequence outputs are flattened per
    sample (they must then have one length across batches).
    """
    import keras

    probe = keras.Model(model.inputs, [_first_output(model.get_layer(n)) for n in layers],
                        name=f"{model.name}_probe")
    if isinstance(data, tuple) and len(data) == 2 and not hasattr(data[1], "element_spec"):
        batches = [data]
    else:
        batches = data
    import tensorflow as tf

    # One graph for every batch shape (reduce_retracing relaxes the padded time axis).
    call = tf.function(lambda x: probe(x, training=False), reduce_retracing=True)
    outputs = {n: [] for n in layers}
    labels = []
    for i, batch in enumerate(batches):
        x, y = batch[0], batch[1]
        check_batch(model, x, where=f"layer_outputs: batch {i}")
        wanted = [t.name.split(":")[0] for t in model.inputs]
        given = list(x) if isinstance(x, dict) else wanted[:1]
        missing = [n for n in wanted if n not in given]
        if missing:  # the padded frames alone do not tell the true lengths the masks need
            raise ValueError(f"layer_outputs: batch {i} lacks the model's input(s) {missing}: build the data with "
                             "zoo.pipeline.make_dataset(..., lengths=True) so the batches carry the true lengths")
        values = call(x)
        values = values if isinstance(values, (list, tuple)) else [values]
        for n, v in zip(layers, values):
            v = np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64)
            outputs[n].append(v.reshape(len(v), -1))
        labels.append(np.asarray(y).reshape(-1))
    if not labels:
        raise ValueError("no data: the dataset yielded no batch")
    merged = {}
    for n, parts in outputs.items():
        widths = {p.shape[1] for p in parts}
        if len(widths) > 1:
            raise ValueError(f"layer {n!r} gives outputs of different sizes across batches {sorted(widths)}: "
                             "pick a layer with a fixed-size (pooled) output")
        merged[n] = np.concatenate(parts)
    return merged, np.concatenate(labels)


def intersection_matrix(model, layer, data, class_names: Optional[Sequence[str]] = None,
                        n_components: int = 3, width: float = 2.0):
    """Intersection matrix (Sec. 2.2, Eq. 6-9) of ``layer`` of ``model`` on ``data``.

    ``layer``: one layer name, or a sequence of names (then a list of results, one per
    layer, from a single pass over the data). ``data``: the TRAINING data as for
    :func:`layer_outputs`. ``class_names`` default to ``model.class_names`` or ``0..C-1``.
    """
    names = [layer] if isinstance(layer, str) else list(layer)
    outputs, labels = layer_outputs(model, names, data)
    if class_names is None:
        class_names = getattr(model, "class_names", None)
    if class_names is None:
        n = int(model.outputs[0].shape[-1]) if len(model.outputs) == 1 else int(labels.max()) + 1
        class_names = [str(i) for i in range(max(n, int(labels.max()) + 1))]
    results = [intersection_from_embedding(outputs[n], labels, class_names, n, n_components, width) for n in names]
    return results[0] if isinstance(layer, str) else results
