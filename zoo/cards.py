"""Model cards: one markdown page per model, generated from the module itself.

The card is the module docstring (paper sections, equations, every departure from the
paper and the authors' code), the recipe, the paper's reported numbers under our metric
names, and the variants with their parameter counts. ``python -m zoo cards --out docs/models``
writes them; nothing in a card is typed twice.
"""
from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from zoo import registry


def _recipe_rows(recipe) -> list:
    rows = ["| field | value |", "|---|---|"]
    for field in dataclasses.fields(recipe):
        value = getattr(recipe, field.name)
        if field.name == "features":
            value = "; ".join(f"`{k}` ← `{v.extractor}` {dict(v.options) or ''}".strip() for k, v in value.items())
        elif field.name == "notes" or value in (None, (), {}, ""):
            continue
        rows.append(f"| {field.name} | {str(value).replace('|', '/')} |")
    return rows


def card(model: str, parameters: bool = True) -> str:
    """The markdown card of one model (``parameters=False`` skips building the variants)."""
    module = registry.get_module(model)
    paper = module.PAPER
    lines = [f"# `zoo.{model}` — {paper.short}", "", f"> {paper.citation}", ""]
    if paper.url:
        lines += [f"Authors' page or code: {paper.url}", ""]
    lines += ["## What it is and how it departs from the paper", "", inspect.cleandoc(module.__doc__ or ""), ""]
    lines += ["## Recipe (`RECIPE`)", "", *_recipe_rows(module.RECIPE), ""]
    if module.RECIPE.notes:
        lines += [module.RECIPE.notes, ""]
    lines += ["## Reported numbers (`PAPER`), under our metric names", "",
              f"Dataset: {paper.dataset}. Protocol: {paper.protocol}.", "",
              "| metric | value | the paper's name |", "|---|---:|---|"]
    lines += [f"| `{k}` | {v:.3f} | {paper.paper_names.get(k, '')} |" for k, v in paper.reported.items()]
    if paper.metric_notes:
        lines += ["", paper.metric_notes]
    lines += ["", "## Variants (`VARIANTS`)", ""]
    header = "| name | arguments |" + (" parameters |" if parameters else "")
    lines += [header, "|---|---|" + ("---:|" if parameters else "")]
    for variant, kwargs in module.VARIANTS.items():
        name = model if variant == "default" else f"{model}:{variant}"
        row = f"| `{name}` | `{kwargs}` |"
        if parameters:
            import keras

            row += f" {registry.build(name).count_params():,} |"
            keras.backend.clear_session()
        lines.append(row)
    return "\n".join(lines) + "\n"


def write_cards(out, models=registry.MODEL_MODULES, parameters: bool = True) -> list:
    """Write ``<out>/<model>.md`` for each model; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for model in models:
        path = out / f"{model}.md"
        path.write_text(card(model, parameters))
        paths.append(path)
    return paths
