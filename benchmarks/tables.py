"""Markdown tables: our numbers (mean ± std over folds and seeds) beside the papers'.

Input is the list of per-run result dicts the runner writes (one per model, fold and
seed: ``{"model", "fold", "seed", "metrics": {name: value}, ...}``) plus each model's
``PAPER`` metadata. Every number is printed under our explicit metric names; the paper's
own name for it is shown beside its value.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Sequence

import numpy as np

CLASSIFICATION_METRICS = ("overall_accuracy", "mean_class_recall", "macro_f1", "cohen_kappa")
REGRESSION_METRICS = ("ccc_valence", "ccc_arousal", "ccc_dominance")


def mean_std(values: Sequence[float]) -> str:
    """``0.512 ± 0.031`` (sample std over runs, ddof=1, as everywhere in the zoo); ``0.512`` for one run."""
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if values.size == 0:
        return "—"
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def aggregate(runs: Iterable[dict]) -> Dict[str, Dict[str, List[float]]]:
    """``{model: {metric: [value per run]}}``."""
    table: Dict[str, Dict[str, List[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for metric, value in run["metrics"].items():
            if isinstance(value, (int, float)):
                table[run["model"]][metric].append(float(value))
    return table


def _metrics_of(values: Dict[str, List[float]]) -> List[str]:
    known = [m for m in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS) if m in values]
    return known


def baseline_table(name: str, values: Dict[str, List[float]], caption: str) -> str:
    """A classic baseline's table: our metrics only (no paper)."""
    lines = [f"**{name}** — classic baseline", "", f"_{caption}_", "", "| metric | ours |", "|---|---:|"]
    lines += [f"| `{metric}` | {mean_std(values.get(metric, []))} |" for metric in _metrics_of(values)]
    return "\n".join(lines)


def paper_table(model: str, values: Dict[str, List[float]], paper, caption: str) -> str:
    """One paper's table: metric, ours, the paper's value and its own name for it. ``paper`` is
    the variant's own numbers; None (the paper reports none for this variant) prints ours alone."""
    if paper is None:
        lines = [f"**{model}** — no number in the paper for this variant", "", f"_{caption}_", "",
                 "| metric | ours |", "|---|---:|"]
        lines += [f"| `{metric}` | {mean_std(values.get(metric, []))} |" for metric in _metrics_of(values)]
        return "\n".join(lines)
    lines = [f"**{model}** — {paper.citation}", "", f"_{caption}_", "",
             "| metric | ours | paper | paper's name |", "|---|---:|---:|---|"]
    for metric in dict.fromkeys([*_metrics_of(values), *paper.reported]):
        ours = mean_std(values.get(metric, []))
        theirs = paper.reported.get(metric)
        theirs_text = "—" if theirs is None else f"{theirs:.3f}"
        lines.append(f"| `{metric}` | {ours} | {theirs_text} | {paper.paper_names.get(metric, '')} |")
    lines.append("")
    lines.append(f"Paper: {paper.dataset}; {paper.protocol}. {paper.metric_notes}".strip())
    return "\n".join(lines)


def zoo_table(aggregated: Dict[str, Dict[str, List[float]]], extra_columns: Dict[str, Dict[str, str]] | None = None,
              caption: str = "") -> str:
    """All models on one corpus: one row per model, one column per metric present."""
    metrics = [m for m in (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
               if any(m in values for values in aggregated.values())]
    extra_columns = extra_columns or {}
    extra_names = list(dict.fromkeys(k for cols in extra_columns.values() for k in cols))
    header = ["model", *[f"`{m}`" for m in metrics], *extra_names]
    lines = []
    if caption:
        lines += [f"_{caption}_", ""]
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for model, values in aggregated.items():
        row = [f"`{model}`", *[mean_std(values.get(m, [])) for m in metrics],
               *[extra_columns.get(model, {}).get(k, "") for k in extra_names]]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
