"""Evaluation metrics under explicit names, and the papers' names mapped to ours.

- ``overall_accuracy`` = correct / N (what most SER papers call WA).
- ``mean_class_recall`` = mean of per-class recalls = balanced accuracy (most papers' UA).
- ``macro_f1`` (unweighted mean of per-class F1), ``cohen_kappa``, ``confusion_matrix``.
- ``ccc``: concordance correlation coefficient with POPULATION moments over the WHOLE
  evaluation set, ``2 rho s_x s_y / (s_x^2 + s_y^2 + (mu_x - mu_y)^2)`` (Atmaja & Akagi 2020
  Eq. 1). Averaging a per-batch CCC (what the authors' code printed) gives a different
  number; :func:`batch_averaged_ccc` exists only to reproduce such print-outs.

Classification metrics are scikit-learn's; CCC is written out in numpy because
scikit-learn has none.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np
from sklearn import metrics as skm

__all__ = [
    "overall_accuracy",
    "mean_class_recall",
    "macro_f1",
    "cohen_kappa",
    "confusion_matrix",
    "ccc",
    "batch_averaged_ccc",
    "classification_report",
    "regression_report",
    "PAPER_METRIC_NAMES",
    "to_our_names",
]

DIMENSIONS = ("valence", "arousal", "dominance")


def _pair(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("cannot compute a metric on an empty set")
    return y_true, y_pred


def overall_accuracy(y_true, y_pred) -> float:
    """Correct / N (usually called WA, weighted accuracy)."""
    return float(skm.accuracy_score(*_pair(y_true, y_pred)))


def mean_class_recall(y_true, y_pred) -> float:
    """Mean over the classes present in ``y_true`` of per-class recall (balanced accuracy;
    usually called UA, unweighted accuracy)."""
    return float(skm.balanced_accuracy_score(*_pair(y_true, y_pred)))


def macro_f1(y_true, y_pred, labels: Optional[Sequence] = None) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: classes seen in either)."""
    return float(skm.f1_score(*_pair(y_true, y_pred), labels=labels, average="macro", zero_division=0))


def cohen_kappa(y_true, y_pred, labels: Optional[Sequence] = None) -> float:
    """Cohen's kappa (chance-corrected agreement)."""
    return float(skm.cohen_kappa_score(*_pair(y_true, y_pred), labels=labels))


def confusion_matrix(y_true, y_pred, labels: Optional[Sequence] = None) -> np.ndarray:
    """Counts; row = true class, column = predicted class, in ``labels`` order."""
    return skm.confusion_matrix(*_pair(y_true, y_pred), labels=labels)


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient over the whole set, population moments (ddof=0).

    Returns NaN when it is undefined (both vectors constant and equal: 0 / 0).
    """
    x, y = _pair(y_true, y_pred)
    x, y = x.astype(np.float64), y.astype(np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("ccc: non-finite values in y_true or y_pred")
    mx, my = x.mean(), y.mean()
    cov = np.mean((x - mx) * (y - my))
    denom = x.var() + y.var() + (mx - my) ** 2
    return float(2.0 * cov / denom) if denom > 0 else float("nan")


def batch_averaged_ccc(y_true, y_pred, batch_size: int) -> float:
    """Mean of per-batch CCCs over consecutive batches. NOT our metric: it only reproduces the
    number the Atmaja & Akagi code printed; use :func:`ccc` for results."""
    x, y = _pair(y_true, y_pred)
    values = [ccc(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, x.size, batch_size)]
    return float(np.nanmean(values))


def _as_ids(values, labels: Sequence[str], what: str) -> np.ndarray:
    """Integer class ids (index into ``labels``) from ids or label names."""
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind in "iu":
        bad = values[(values < 0) | (values >= len(labels))]
        if bad.size:
            raise ValueError(f"{what}: class id {bad[0]} is outside 0..{len(labels) - 1}")
        return values.astype(np.int64)
    index = {name: i for i, name in enumerate(labels)}
    missing = sorted({str(v) for v in values if v not in index})
    if missing:
        raise ValueError(f"{what}: labels {missing} are not in the label set {tuple(labels)}")
    return np.asarray([index[v] for v in values], dtype=np.int64)


def classification_report(y_true, y_pred, labels: Sequence[str]) -> Dict:
    """Every classification metric under our names.

    ``y_true``/``y_pred`` are integer ids into ``labels`` or label names. ``y_pred`` may also
    be an ``(N, C)`` array of posteriors (argmax taken). Returns ``overall_accuracy``,
    ``mean_class_recall``, ``macro_f1``, ``cohen_kappa``, ``confusion_matrix`` (nested list,
    rows = true), ``per_class`` {label: precision/recall/f1/support}, ``labels``, ``n``.
    """
    labels = tuple(labels)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=-1)
    t, p = _as_ids(y_true, labels, "y_true"), _as_ids(y_pred, labels, "y_pred")
    t, p = _pair(t, p)
    ids = list(range(len(labels)))
    prec, rec, f1, support = skm.precision_recall_fscore_support(t, p, labels=ids, zero_division=0)
    return {
        "overall_accuracy": overall_accuracy(t, p),
        "mean_class_recall": mean_class_recall(t, p),
        "macro_f1": macro_f1(t, p, labels=ids),
        "cohen_kappa": cohen_kappa(t, p, labels=ids),
        "confusion_matrix": confusion_matrix(t, p, labels=ids).tolist(),
        "per_class": {name: {"precision": float(prec[i]), "recall": float(rec[i]),
                             "f1": float(f1[i]), "support": int(support[i])}
                      for i, name in enumerate(labels)},
        "labels": list(labels),
        "n": int(t.size),
    }


ArrayOrDict = Union[np.ndarray, Mapping[str, np.ndarray]]


def regression_report(y_true: ArrayOrDict, y_pred: ArrayOrDict,
                      names: Sequence[str] = DIMENSIONS) -> Dict[str, float]:
    """``ccc_<name>`` per dimension over the whole set, plus ``ccc_mean``.

    Accepts dicts keyed by dimension name, or ``(N, D)`` arrays whose columns follow
    ``names`` (a 1-D array is one dimension, ``names[0]``).
    """
    def columns(y, what):
        if isinstance(y, Mapping):
            return {k: np.asarray(v).reshape(-1) for k, v in y.items()}
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if y.ndim != 2 or y.shape[1] > len(names):
            raise ValueError(f"{what}: expected (N, <= {len(names)}) values, got shape {y.shape}")
        return {names[j]: y[:, j] for j in range(y.shape[1])}

    t, p = columns(y_true, "y_true"), columns(y_pred, "y_pred")
    if set(t) != set(p):
        raise ValueError(f"y_true has dimensions {sorted(t)} but y_pred has {sorted(p)}")
    order = [n for n in names if n in t] + sorted(set(t) - set(names))
    report = {f"ccc_{n}": ccc(t[n], p[n]) for n in order}
    report["ccc_mean"] = float(np.mean(list(report.values())))
    return report


# Each paper's metric names -> ours. "names" maps the paper's label to our metric name;
# "certain" says whether the paper defines it; "note" cites where the mapping comes from.
PAPER_METRIC_NAMES: Dict[str, Dict] = {
    "usual": {
        "names": {"WA": "overall_accuracy", "UA": "mean_class_recall", "UAR": "mean_class_recall"},
        "certain": True,
        "note": "The meanings most SER papers use.",
    },
    "gru_bert": {  # Kumar, Kaushik, Raman, Interspeech 2021
        "names": {"UA": "overall_accuracy", "WA": "mean_class_recall"},
        "certain": True,
        "note": "The paper reports UA 75.0 / WA 71.7 (Sec. 4, Table 6) without defining them; the authors' "
                "main_IEMOCAP.py computes its 'weighted Acc.' as the mean of per-class recalls and its "
                "'unweighted Acc.' as correct / N.",
    },
    "amh": {  # Yoon, Dey, Lee, Jung, ICASSP 2020
        "names": {"WA": "overall_accuracy", "UA": "mean_class_recall"},
        "certain": False,
        "note": "Sec. 4 names WA/UA without formulas. The published 0.624 WA / 0.597 UA were "
                "scikit-learn PRECISION values (authors' later statement); use the "
                "corrected accuracies 0.617 WA / 0.547 UA under the usual meanings.",
    },
    "parallelnet": {  # Kumar, Malik, Raman, PRL/MTAP 2022-23
        "names": {"accuracy": "overall_accuracy", "macro f1": "macro_f1", "CohenKappa": "cohen_kappa"},
        "certain": True,
        "note": "Sec. 4.2: accuracy, macro F1 [32], Cohen's kappa [33].",
    },
    "blstmatt": {  # Jalal, Milner, Hain, Interspeech 2020
        "names": {"UA": "overall_accuracy", "WA": "mean_class_recall"},
        "certain": True,
        "note": "Swapped: Eq. 6 defines UA = (TP+TN)/(P+N) (overall accuracy) and "
                "WA = (TP/P + TN/N)/2 (mean class recall, two-class form).",
    },
    "csa": {  # same paper as blstmatt
        "names": {"UA": "overall_accuracy", "WA": "mean_class_recall"},
        "certain": True,
        "note": "Same paper and Eq. 6 as blstmatt (names swapped).",
    },
    "dser": {  # Atmaja & Akagi, O-COCOSDA 2020
        "names": {"CCC V": "ccc_valence", "CCC A": "ccc_arousal", "CCC D": "ccc_dominance"},
        "certain": False,
        "note": "CCC per dimension (Table II). The authors' code printed CCC averaged over "
                "batches (see batch_averaged_ccc); ours is over the whole test set, so the "
                "reported numbers are comparable only approximately.",
    },
}


def to_our_names(paper: str, numbers: Mapping[str, float]) -> Dict[str, float]:
    """Rename a paper's reported numbers to our metric names (``KeyError`` on unknown names)."""
    if paper not in PAPER_METRIC_NAMES:
        raise KeyError(f"unknown paper {paper!r}; known: {sorted(PAPER_METRIC_NAMES)}")
    names = PAPER_METRIC_NAMES[paper]["names"]
    unknown = sorted(set(numbers) - set(names))
    if unknown:
        raise KeyError(f"{paper}: metric names {unknown} not in {sorted(names)}")
    return {names[k]: float(v) for k, v in numbers.items()}
