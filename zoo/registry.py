"""The model registry: every model module and its documented variants.

``zoo.list_models()`` names them as ``"<module>"`` (the default variant) and
``"<module>:<variant>"``; ``zoo.build(name, **kwargs)`` builds one; ``python -m zoo models``
prints the markdown table of all of them.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Iterable, List

MODEL_MODULES = ("gru_bert", "amh", "parallelnet", "blstmatt", "csa", "dser")


def get_module(model: str) -> ModuleType:
    """The module of a registered model (``"amh"`` -> ``zoo.amh``)."""
    model = model.split(":", 1)[0]
    if model not in MODEL_MODULES:
        raise ValueError(f"unknown model {model!r}; registered: {', '.join(MODEL_MODULES)}")
    return importlib.import_module(f"zoo.{model}")


def split_name(name: str):
    model, _, variant = name.partition(":")
    return model, variant or "default"


def variant_kwargs(name: str) -> dict:
    """The builder arguments of ``"<model>[:<variant>]"``."""
    model, variant = split_name(name)
    variants = get_module(model).VARIANTS
    if variant not in variants:
        raise ValueError(f"unknown variant {variant!r} of {model}; known: {', '.join(variants)}")
    return dict(variants[variant])


def list_models(include_variants: bool = True) -> List[str]:
    """Registered names: each model, and ``model:variant`` for every non-default variant."""
    names: List[str] = []
    for model in MODEL_MODULES:
        names.append(model)
        if include_variants:
            names += [f"{model}:{v}" for v in get_module(model).VARIANTS if v != "default"]
    return names


def build(name: str, **kwargs):
    """Build ``"<model>[:<variant>]"``; ``kwargs`` override the variant's arguments.

    ``weights=`` (a release name of ``weights/manifest.json`` or a file) and ``freeze=`` go
    through :func:`zoo.weights.build`, which verifies the file before loading it;
    ``weights="imagenet"`` is left to the builder (ParallelNet's backbones).
    """
    if (kwargs.get("weights") not in (None, "imagenet")) or kwargs.get("freeze") is not None:
        from zoo import weights

        return weights.build(name, **kwargs)
    model, _ = split_name(name)
    return get_module(model).build(**{**variant_kwargs(name), **kwargs})


def paper_of(name: str):
    """The Paper of ``"<model>[:<variant>]"``: ``module.PAPERS[variant]`` when defined."""
    model, variant = split_name(name)
    module = get_module(model)
    return getattr(module, "PAPERS", {}).get(variant, module.PAPER)


def _shape(tensor) -> str:
    return "(" + ", ".join("T" if d is None else str(d) for d in tuple(tensor.shape)[1:]) + ")"


def model_table(names: Iterable[str] | None = None) -> str:
    """A markdown table: name, parameters, inputs, outputs, paper."""
    import keras

    rows = ["| model | parameters | inputs | outputs | paper |", "|---|---:|---|---|---|"]
    for name in names or list_models():
        net = build(name)
        inputs = ", ".join(f"`{t.name.split(':')[0]}` {_shape(t)}" for t in net.inputs)
        outputs = ", ".join(_shape(t) for t in net.outputs)
        rows.append(f"| `{name}` | {net.count_params():,} | {inputs} | {outputs} | {paper_of(name).short} |")
        del net
        keras.backend.clear_session()
    return "\n".join(rows)
