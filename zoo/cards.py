"""Model cards: one markdown page per model, generated from the module itself.

The card is the module docstring (paper sections, equations, every departure from the
paper and the authors' code), the recipe, the paper's reported numbers under our metric
names, and the variants with their arguments, parameter counts and own paper numbers. ``python -m zoo cards --out docs/models``
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


def card(model: str) -> str:
    """The markdown card of one model, from its module and its spec (nothing is built)."""
    import importlib

    spec = registry.get_spec(model)
    module = importlib.import_module(spec.module)
    default = spec.variant()
    paper = default.paper
    lines = [f"# `zoo.{model}` — {paper.short}", "", f"> {paper.citation}", ""]
    if paper.url:
        lines += [f"Authors' page or code: {paper.url}", ""]
    lines += ["## What it is and how it departs from the paper", "", inspect.cleandoc(module.__doc__ or ""), ""]
    lines += ["## Recipe (default variant)", "", *_recipe_rows(default.recipe), ""]
    if default.recipe.notes:
        lines += [default.recipe.notes, ""]
    lines += ["## Reported numbers, under our metric names", "",
              f"Dataset: {paper.dataset}. Protocol: {paper.protocol}.", "",
              "| metric | value | the paper's name |", "|---|---:|---|"]
    lines += [f"| `{k}` | {v:.3f} | {paper.paper_names.get(k, '')} |" for k, v in paper.reported.items()]
    if paper.metric_notes:
        lines += ["", paper.metric_notes]
    lines += ["", "## Variants", "", "| name | arguments | parameters | paper's numbers | what |", "|---|---|---:|---|---|"]
    for variant, entry in spec.variants.items():
        name = model if variant == "default" else f"{model}:{variant}"
        numbers = ", ".join(f"`{k}` {v:.3f}" for k, v in entry.paper.reported.items()) if entry.paper else "—"
        params = f"{spec.parameters[variant]:,}" if variant in spec.parameters else "—"
        args = ", ".join(f"{k}={v!r}" for k, v in entry.build_args.items()) or "—"
        lines.append(f"| `{name}` | `{args}` | {params} | {numbers} | {entry.description} |".replace("`—`", "—"))
    return "\n".join(lines) + "\n"


def write_cards(out, models=registry.MODEL_MODULES) -> list:
    """Write ``<out>/<model>.md`` for each model; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for model in models:
        path = out / f"{model}.md"
        path.write_text(card(model))
        paths.append(path)
    return paths
