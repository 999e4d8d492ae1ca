"""Recipes and paper metadata as data.

Every model module defines ``RECIPE`` (how its paper trains it) and ``PAPER`` (what the
paper reports, under our explicit metric names). The benchmark runner, the model cards and
the docs all read these objects, so no number is typed twice.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """Which extractor feeds a model input: ``zoo.features.get(extractor, **options)``."""

    extractor: str
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A paper's training recipe.

    ``optimizer`` is a Keras optimizer class name with ``optimizer_options`` (e.g.
    ``{"learning_rate": 1e-3, "clipnorm": 1.0}``); ``loss`` a name resolvable by
    ``zoo.losses.get`` or Keras; ``callbacks`` a list of ``(keras callback class name,
    options)``; ``features`` maps each model input name to a :class:`FeatureSpec`;
    ``targets`` are the output targets (``"label"`` or ``"valence"`` ...); ``protocol`` a
    name of ``zoo.data.protocols`` and ``protocol_options`` its arguments as the paper
    used them (e.g. ParallelNet's 30 % random test split); ``truncate`` the most steps
    kept per input (``zoo.pipeline.make_dataset(truncate=...)``, e.g. AMH's 750 frames);
    ``validation`` the fraction of the training speakers held out for validation when the paper
    or code states one (None: the profile's).
    """

    optimizer: str
    optimizer_options: dict
    loss: Any
    batch_size: int
    epochs: int
    features: dict
    label_set: Optional[tuple] = None
    targets: tuple = ("label",)
    loss_weights: Optional[Any] = None
    callbacks: tuple = ()
    protocol: str = "loso"
    protocol_options: dict = dataclasses.field(default_factory=dict)
    truncate: dict = dataclasses.field(default_factory=dict)
    validation: Optional[float] = None
    corpus: str = "iemocap"
    metrics: tuple = ("overall_accuracy", "mean_class_recall", "macro_f1")
    notes: str = ""

    def replace(self, **changes: Any) -> "Recipe":
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Paper:
    """A paper's citation and reported numbers mapped to our metric names.

    ``reported`` maps our metric name (``overall_accuracy``, ``mean_class_recall``,
    ``macro_f1``, ``ccc_valence`` ...) to the value as a fraction in [0, 1] (CCC as is).
    ``metric_notes`` records how the paper's own names were mapped and any doubt.
    """

    citation: str
    short: str
    dataset: str
    protocol: str
    reported: dict
    paper_names: dict = dataclasses.field(default_factory=dict)
    metric_notes: str = ""
    url: str = ""


# ----------------------------------------------------------------------------- compiling
def make_optimizer(name: str, options: dict):
    """A Keras optimizer by class name (``"Adam"``, ``"Nadam"``, ``"RMSprop"``)."""
    import keras

    return keras.optimizers.get({"class_name": name, "config": dict(options)})


def make_callbacks(specs) -> list:
    """Keras callbacks from a recipe's ``(class name, options)`` pairs."""
    import keras

    return [getattr(keras.callbacks, name)(**dict(options)) for name, options in specs]


def _loss(identifier):
    from zoo import losses

    return losses.get(identifier) if isinstance(identifier, str) else identifier


def compile_model(model, recipe: Recipe, *, learning_rate: Optional[float] = None, metrics=None,
                  **compile_kwargs):
    """Compile ``model`` with the recipe's optimizer, loss(es) and loss weights.

    A single loss on a model with several outputs is applied to every output (a fresh
    object each); dict loss weights are matched to the outputs by name.
    """
    options = dict(recipe.optimizer_options)
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    names = list(model.output_names)
    loss = recipe.loss
    if isinstance(loss, (list, tuple)):
        loss = [_loss(x) for x in loss]
    elif isinstance(loss, dict):
        loss = {k: _loss(v) for k, v in loss.items()}
    elif len(names) > 1:
        loss = {n: _loss(loss) for n in names}
    else:
        loss = _loss(loss)
    weights = recipe.loss_weights
    if isinstance(weights, dict):
        weights = {n: weights[n] for n in names} if len(names) > 1 else None
    if metrics is None and "label" in recipe.targets and len(names) == 1:
        metrics = ["accuracy"]
    model.compile(optimizer=make_optimizer(recipe.optimizer, options), loss=loss, loss_weights=weights,
                  metrics=metrics, **compile_kwargs)
    return model
