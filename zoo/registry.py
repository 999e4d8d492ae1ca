"""The model registry: every model's :class:`zoo.spec.ModelSpec`, by name.

``zoo.list_models()`` names them as ``"<model>"`` (the default variant) and
``"<model>:<variant>"``; :func:`build` builds one; :func:`recipe_of` / :func:`paper_of` give a
variant's own recipe and paper numbers (None where the paper reports none for it);
``python -m zoo models`` prints :func:`model_table` from the specs, without building anything.
"""
from __future__ import annotations

import importlib
from typing import Iterable, List, Optional, Tuple

from zoo import spec as _spec

MODEL_MODULES = ("gru_bert", "amh", "parallelnet", "blstmatt", "csa", "dser")


def specs() -> dict:
    """Every registered :class:`~zoo.spec.ModelSpec` by name (importing the model modules)."""
    for module in MODEL_MODULES:
        importlib.import_module(f"zoo.{module}")
    return _spec.registered()


def split_name(name: str) -> Tuple[str, str]:
    """``"csa:chunk40"`` -> ``("csa", "chunk40")``; ``"csa"`` -> ``("csa", "default")``."""
    model, _, variant = str(name).partition(":")
    return model, variant or _spec.DEFAULT


def get_spec(name: str) -> _spec.ModelSpec:
    """The spec of ``"<model>[:<variant>]"`` (an unknown model is a clear error)."""
    model, _ = split_name(name)
    if model not in MODEL_MODULES:
        raise ValueError(f"unknown model {model!r}; registered: {', '.join(MODEL_MODULES)}")
    importlib.import_module(f"zoo.{model}")
    return _spec.registered()[model]


def get_variant(name: str) -> _spec.Variant:
    model, variant = split_name(name)
    return get_spec(model).variant(variant)


def variant_kwargs(name: str) -> dict:
    """The builder arguments of ``"<model>[:<variant>]"``."""
    return dict(get_variant(name).build_args)


def recipe_of(name: str):
    """The training recipe of ``"<model>[:<variant>]"``."""
    return get_variant(name).recipe


def paper_of(name: str):
    """The paper's numbers for exactly ``"<model>[:<variant>]"``, or None when it reports none."""
    return get_variant(name).paper


def list_models(include_variants: bool = True) -> List[str]:
    """Registered names: each model, and ``model:variant`` for every non-default variant."""
    names: List[str] = []
    for model in MODEL_MODULES:
        names += get_spec(model).names() if include_variants else [model]
    return names


def build(name: str, **kwargs):
    """Build ``"<model>[:<variant>]"`` through its builder; ``kwargs`` override the variant's."""
    model, variant = split_name(name)
    return get_spec(model).build(variant=variant, **kwargs)


def _inputs(recipe) -> str:
    return ", ".join(f"`{k}` ← `{v.extractor}`" for k, v in recipe.features.items())


def model_table(names: Optional[Iterable[str]] = None) -> str:
    """A markdown table from the specs: name, parameters (full size), inputs, targets, paper."""
    rows = ["| model | parameters | inputs | outputs | paper's numbers |", "|---|---:|---|---|---|"]
    for name in names or list_models():
        model, variant_name = split_name(name)
        spec = get_spec(model)
        variant = spec.variant(variant_name)
        recipe = variant.recipe
        count = spec.parameters.get(variant_name)
        params = f"{count:,}" if count else "—"
        outputs = "classes" if "label" in recipe.targets else ", ".join(recipe.targets)
        paper = variant.paper.short if variant.paper else "— (none for this variant)"
        rows.append(f"| `{name}` | {params} | {_inputs(recipe)} | {outputs} | {paper} |")
    return "\n".join(rows)
