"""Model specs: what the zoo knows of each paper's model, as data.

Every model module ends with one :class:`ModelSpec` passed to :func:`register_model` (the way
torchvision registers its builders): the builder; its variants, each with its build arguments,
its recipe and its own paper numbers (or none); the parameter anchors; the label names; a tiny
configuration for the shared tests; and the model-specific pieces that generic code must not
guess by name (the builder arguments filled from a training vocabulary, chunked inference,
attention probes, the layers the explainability tools read).

Builders follow one contract (``keras.applications``): explicit keyword arguments,
``build(include_top=True, weights=None, classes=..., variant="default", name=..., **sizes)``;
:func:`builder` makes ``variant=`` select a listed variant (its arguments under the caller's)
and rejects unknown arguments up front, naming the known ones.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Callable, Dict, Mapping, Optional, Tuple

from zoo.recipe import Paper, Recipe

DEFAULT = "default"


@dataclasses.dataclass(frozen=True)
class Variant:
    """One named configuration of a model.

    ``build_args``: arguments of the builder; ``recipe``: how it is trained; ``paper``: the
    numbers its paper reports for exactly this configuration (None when the paper reports none);
    ``description``: one line.
    """

    build_args: Mapping
    recipe: Recipe
    paper: Optional[Paper] = None
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Chunking:
    """Chunked inference: fixed-length chunks of the ``input`` frames, posteriors averaged per
    utterance. The chunk length is the builder argument ``frames_arg`` (``default_frames`` when
    not given); chunks overlap by ``overlap`` frames; ``drop_short`` leaves utterances shorter
    than a chunk out (of training and of the test)."""

    frames_arg: str
    default_frames: int
    overlap: int
    drop_short: bool = True

    def frames(self, build_args: Mapping) -> int:
        return int(build_args.get(self.frames_arg) or self.default_frames)

    def options(self, build_args: Mapping) -> Tuple[int, int, bool]:
        """``(chunk frames, overlap, drop_short)`` as ``zoo.pipeline`` takes them."""
        return self.frames(build_args), self.overlap, self.drop_short


@dataclasses.dataclass(frozen=True)
class Attention:
    """Attention probes for the explainability tools: ``probe(model)`` is a Keras model from the
    same inputs to ``{name: (B, T) weights}``, sharing the trained layers; ``over(model)`` maps
    each name to the input whose frames the weights run over."""

    probe: Callable
    over: Callable


@dataclasses.dataclass(frozen=True)
class Combination:
    """A system combination of this model's utterance posteriors with another model's on the same
    test utterances: ``combine(p_partner, p_self) -> p``, reported as ``name`` beside ``paper``."""

    partner: str
    combine: Callable
    name: str
    description: str
    paper: Optional[Paper] = None


@dataclasses.dataclass(frozen=True)
class Frozen:
    """A part of the model that may be frozen: the layers between model input ``input`` and the
    input of layer ``into`` (the first layer of the trainable part that reads their output).

    When a build leaves every weight of that part untrainable (e.g. a frozen pre-trained
    encoder) and the part is deterministic, its output is a function of the input alone:
    :mod:`zoo.frozen` cuts the model there, the experiment computes the part once per utterance
    (cached like a feature, under the input name :attr:`name`) and trains the rest.

    ``source``: ``f(builder arguments) -> str``, the named pre-trained source the builder
    loads this part's weights from with those arguments (a preset, an offline package), so a
    release may store only the rest (:mod:`zoo.weights.storage`, ``storage="trainable_part"``);
    it raises ``ValueError`` saying why when the part's weights would not be rebuilt that way
    (random initialisation, fine-tuned, an in-memory model). ``None``: never rebuilt."""

    input: str
    into: str
    source: Optional[Callable[[Mapping], str]] = None

    @property
    def name(self) -> str:
        """The trainable part's input that takes the precomputed output."""
        return f"{self.input}_encoded"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything the registry, the experiment, the cards and the tests know of one model.

    ``parameters``: each variant's parameter count at full size with the default classes (anchors
    the tests check by building, and that ``python -m zoo models`` prints without building).
    ``frozen``: the parts that may be frozen (:class:`Frozen`), precomputed once per utterance
    when a build freezes them.
    """

    name: str
    build: Callable
    variants: Mapping[str, Variant]
    parameters: Mapping[str, int] = dataclasses.field(default_factory=dict)
    labels: Tuple[str, ...] = ()
    tiny: object = dataclasses.field(default_factory=dict)  # a Mapping, or variant name -> Mapping
    text_args: Tuple[str, ...] = ()
    chunking: Optional[Chunking] = None
    attention: Optional[Attention] = None
    explain_layers: Tuple[str, ...] = ()
    combination: Optional[Combination] = None
    frozen: Tuple[Frozen, ...] = ()
    module: str = ""

    def __post_init__(self):
        if DEFAULT not in self.variants:
            raise ValueError(f"model spec {self.name!r} has no {DEFAULT!r} variant")

    def variant(self, name: str = DEFAULT) -> Variant:
        """The :class:`Variant` called ``name`` (a clear error listing the known ones)."""
        try:
            return self.variants[name or DEFAULT]
        except KeyError:
            raise ValueError(f"unknown variant {name!r} of {self.name}; known: {', '.join(self.variants)}") from None

    def tiny_args(self, variant: str = DEFAULT) -> dict:
        """Builder arguments of a tiny model of ``variant`` (the shared tests build these)."""
        return dict(self.tiny(variant) if callable(self.tiny) else self.tiny)

    def names(self):
        """``"<model>"`` and ``"<model>:<variant>"`` for every non-default variant."""
        return [self.name] + [f"{self.name}:{v}" for v in self.variants if v != DEFAULT]

    @property
    def is_classifier(self) -> bool:
        return "label" in self.variants[DEFAULT].recipe.targets


_REGISTRY: Dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Register a model spec under ``spec.name`` (once; a second spec of that name is an error)."""
    old = _REGISTRY.get(spec.name)
    if old is not None and old.module != spec.module:
        raise ValueError(f"model {spec.name!r} is registered already (by {old.module})")
    _REGISTRY[spec.name] = spec
    return spec


def registered() -> Dict[str, ModelSpec]:
    """The specs registered so far, by name (``zoo.registry`` imports every model module first)."""
    return dict(_REGISTRY)


def builder(model: str):
    """Decorate a model's ``build`` with the builder contract.

    ``variant=`` must name a registered variant; its ``build_args`` are applied under the
    arguments the caller gave; arguments the builder does not take are a ``TypeError`` listing
    the ones it does, before anything is built.
    """
    def wrap(fn):
        signature = inspect.signature(fn)
        known = [p for p in signature.parameters if p != "variant"]

        @functools.wraps(fn)
        def build(*args, variant: str = DEFAULT, **kwargs):
            unknown = sorted(set(kwargs) - set(signature.parameters))
            if unknown:
                raise TypeError(f"{model}.build() got unknown arguments {unknown}; it takes {known}")
            spec = _REGISTRY.get(model)
            if spec is None:
                raise RuntimeError(f"model {model!r} is not registered (import zoo.{model})")
            given = signature.bind_partial(*args, **kwargs).arguments
            return fn(**{**spec.variant(variant).build_args, **given, "variant": variant})

        return build

    return wrap
