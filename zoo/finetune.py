"""Fine-tune a released model on one's own recordings (``python -m zoo finetune``).

    python -m zoo finetune --model blstmatt-emodb-smoke --data my/manifest.csv --out my.weights.h5

    from zoo import finetune
    result = finetune.finetune("blstmatt-emodb-smoke", "my/manifest.csv", "my.weights.h5")
    model, extractors, labels = finetune.load("my.weights.h5")      # later, for prediction
    model = zoo.build("blstmatt", weights="my.weights.h5", **finetune.info("my.weights.h5")["build"])

The data is a manifest CSV (``path,label,speaker,...``; :mod:`zoo.data.manifest`). Steps:

1. Rows the loader cannot use (missing audio, a wrong number of fields, ...) and rows without a
   label are counted skips, printed with their file and line (``strict=True`` stops at the first).
2. The label set: the manifest's labels in sorted order, or ``labels=`` (that order; a row with
   another label is then an ``unknown_label`` skip). Labels are canonicalised as the loader does
   (``Anger`` -> ``angry``).
3. Validation on whole speakers held out: ``ceil(validation x speakers)`` speakers drawn with
   ``seed`` (:func:`zoo.data.protocols.carve_validation`). Fewer than 2 speakers is an error;
   ``speaker_split=False`` splits utterances at random instead (stratified by label) and says that
   the validation speakers then also trained, so its figures are optimistic.
4. The release's feature extractors, rebuilt from its manifest entry and checked against the
   recorded configuration (:func:`zoo.weights.extractors`, :func:`zoo.weights.check_features`).
5. The released body with a new, freshly initialised head for the labels
   (``zoo.weights.load(new_head=True, freeze=...)``; also when the count equals the release's,
   unless the labels are the release's own, in its order). ``freeze="body"`` (default) trains
   the head only (a linear probe, Keras' transfer-learning guide), ``"none"`` every layer.
6. Training through :mod:`zoo.experiment` (its datasets, :meth:`~zoo.experiment.Experiment.fit`
   with checkpoints and resumption in ``run_dir``, :meth:`~zoo.experiment.Experiment.evaluate`):
   the recipe's optimizer and callbacks plus ``EarlyStopping(val_loss, restore_best_weights)``,
   balanced class weights (scikit-learn ``compute_class_weight``), then the validation report
   (mean class recall, accuracy, macro-F1, confusion matrix) printed and stored.
7. ``out`` (a ``.weights.h5`` file) and its sidecar ``out`` with ``.json`` for ``.h5``: the model,
   variant, builder arguments (``classes`` = the label names), the release it came from, the
   feature extractors (the manifest's ``features`` schema) and the validation metrics. Both are
   written to temporary names and renamed into place: no partial file on failure.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, Union

from zoo.model_inputs import check_dataset

SCHEMA = 1
KIND = "zoo.finetune"
WEIGHTS_SUFFIX = ".weights.h5"
DEFAULT_EPOCHS = 30
DEFAULT_PATIENCE = 5
# Fine-tuning every layer moves a trained body: a tenth of the release's learning rate
# (Keras' transfer-learning guide: "a very low learning rate" once the body is unfrozen).
UNFROZEN_LR_FACTOR = 0.1
REPORT_METRICS = (("mean_class_recall", "mean class recall"), ("overall_accuracy", "accuracy"),
                  ("macro_f1", "macro-F1"))


class FinetuneError(ValueError):
    """Input that cannot be fine-tuned on (the message names the file and the problem)."""


@dataclasses.dataclass
class Result:
    """What :func:`finetune` returns: the fine-tuned model (best epoch), its extractors and labels,
    the sidecar's content and the two files written."""

    model: object
    extractors: dict
    labels: List[str]
    info: dict
    weights_path: Path
    sidecar_path: Path


# ----------------------------------------------------------------------------- files
def sidecar_path(weights) -> Path:
    """``my.weights.h5`` -> ``my.weights.json`` (a ``.json`` path is returned as is)."""
    path = Path(weights)
    if path.suffix == ".json":
        return path
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise FinetuneError(f"{path}: a fine-tuned weights file must end in {WEIGHTS_SUFFIX} (Keras' rule "
                            "for save_weights)")
    return path.with_suffix(".json")


def is_finetuned(path) -> bool:
    """Whether ``path`` is a fine-tuned ``.weights.h5`` (or its ``.json``) with a sidecar beside it."""
    try:
        side = sidecar_path(path)
    except FinetuneError:
        return False
    return side.is_file() and Path(path).is_file()


def info(path) -> dict:
    """The sidecar of a fine-tuned file (``my.weights.h5`` or ``my.weights.json``)."""
    side = sidecar_path(path)
    if not side.is_file():
        raise FileNotFoundError(f"{side}: no sidecar beside {path} (written by `python -m zoo finetune`); "
                                "without it the model, builder arguments and features are unknown")
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise FinetuneError(f"{side}: not a readable sidecar ({error})") from None
    missing = [k for k in ("kind", "schema", "model", "variant", "build", "labels", "features", "weights")
               if k not in data]
    if missing or data.get("kind") != KIND:
        raise FinetuneError(f"{side}: not a zoo fine-tuning sidecar (kind {data.get('kind')!r}, missing {missing})")
    if data["schema"] > SCHEMA:
        raise FinetuneError(f"{side}: sidecar schema {data['schema']} is newer than this zoo's ({SCHEMA})")
    return data


def _verify(weights_path: Path, data: dict, side: Path) -> None:
    from zoo import weights

    size, digest = weights_path.stat().st_size, weights.sha256(weights_path)
    if (size, digest) != (data.get("size"), data.get("sha256")):
        raise weights.ChecksumError(f"{weights_path}: {size:,} bytes, sha256 {digest}; its sidecar {side} says "
                                    f"{data.get('size')} bytes, sha256 {data.get('sha256')} (a replaced or "
                                    "truncated file: fine-tune again)")


def build_arguments(name: str, weights, kwargs: dict):
    """``(name, kwargs)`` for ``zoo.build(name, weights=<fine-tuned file>, **kwargs)``: the model
    variant and builder arguments of the file's sidecar under the caller's (what makes
    ``zoo.build("blstmatt", weights="my.weights.h5", classes=[...])`` build the graph the file
    was saved from). The file is checked against the sidecar's sha256; a different model,
    variant or label set is an error."""
    data = info(weights)
    side = sidecar_path(weights)
    model, _, variant = str(name).partition(":")
    if model != data["model"] or (variant and variant != data["variant"]):
        raise FinetuneError(f"{weights}: fine-tuned {data['model']}:{data['variant']} (sidecar {side}), not {name!r}")
    classes = kwargs.get("classes")
    if classes is not None:
        given = [str(x) for x in classes] if isinstance(classes, (list, tuple)) else None
        if (given is not None and given != data["labels"]) or (given is None and int(classes) != len(data["labels"])):
            raise FinetuneError(f"{weights}: its head has the labels {data['labels']} (sidecar {side}); "
                                f"classes={classes!r} does not match")
    _verify(Path(weights), data, side)
    return f"{model}:{data['variant']}", {**data["build"], **kwargs}


def load(path, *, verify: bool = True):
    """``(model, extractors, labels)`` of a fine-tuned file, rebuilt from its sidecar.

    ``path``: the ``.weights.h5`` or its ``.json``. The file is checked against the sidecar's
    sha256 and size, loaded strictly into a freshly built graph (:func:`zoo.weights.load`), and the
    extractors are rebuilt and checked against the recorded configuration
    (:func:`zoo.weights.extractors`). What :func:`zoo.predict` needs for a fine-tuned model.
    """
    from zoo import labels_of, weights

    data = info(path)
    side = sidecar_path(path)
    weights_path = side.parent / data["weights"]
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path}: weights file named by {side} not found")
    if verify:
        _verify(weights_path, data, side)
    model = weights.load(weights_path, f"{data['model']}:{data['variant']}", build=dict(data["build"]))
    labels = [str(x) for x in data["labels"]]
    if labels_of(model) is not None and list(labels_of(model)) != labels:
        raise FinetuneError(f"{side}: the model's head carries {list(labels_of(model))}, the sidecar {labels}")
    return model, weights.extractors(data), labels


def _atomic_json(path: Path, data: dict) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=1, default=_json_default) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _save(model, name: str, build_args: dict, out: Path, sidecar: dict) -> dict:
    """Write the weights (re-saved from a freshly built graph: no optimizer state, exactly what
    ``zoo.build(..., weights=out)`` builds) and the sidecar, each to a temporary name first."""
    from zoo import registry, weights

    fresh = registry.build(name, **build_args)
    weights.transfer(model, fresh)
    if fresh.count_params() != model.count_params():
        raise RuntimeError(f"{name}: rebuilt {fresh.count_params():,} parameters, the fine-tuned model has "
                           f"{model.count_params():,}; the builder arguments {build_args} are incomplete")
    side = sidecar_path(out)
    tmp_weights = out.with_name(f".{out.name}.{os.getpid()}.tmp{WEIGHTS_SUFFIX}")
    tmp_side = None
    try:
        fresh.save_weights(tmp_weights)
        with open(tmp_weights, "rb") as f:
            os.fsync(f.fileno())
        sidecar = {**sidecar, "sha256": weights.sha256(tmp_weights), "size": tmp_weights.stat().st_size}
        tmp_side = _atomic_json(side, sidecar)
        os.replace(tmp_weights, out)
        try:
            os.replace(tmp_side, side)
        except BaseException:
            out.unlink(missing_ok=True)  # no weights without their sidecar
            raise
    finally:
        tmp_weights.unlink(missing_ok=True)
        if tmp_side is not None:
            tmp_side.unlink(missing_ok=True)
    return sidecar


# ----------------------------------------------------------------------------- data
def _say(verbose, *parts, err: bool = False) -> None:
    if verbose != 0:
        print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


def _read_manifest(manifest, labels, strict: bool, needs_text: bool, verbose):
    """``(loaded, records, label set, skips)``: the usable, labelled records of the manifest."""
    from zoo import data
    from zoo.data.labels import canonical_label
    from zoo.data.records import LoadReport

    try:
        loaded = data.load("manifest", manifest, labels=list(labels) if labels else "any", strict=strict)
    except ValueError as error:  # CorpusError (file:line) or a bad labels= option
        raise FinetuneError(str(error)) from None
    csv = str(manifest)
    report = loaded.report
    if report.total_skipped:
        _say(verbose, f"{csv}: {report.total_skipped} row(s) skipped:", err=True)
        for reason, count in sorted(report.skipped.items()):
            examples = report.examples.get(reason, [])
            _say(verbose, f"  {reason}: {count}" + "".join(f"\n    {e}" for e in examples)
                 + (f"\n    ... and {count - len(examples)} more" if count > len(examples) else ""), err=True)
    ours, records = LoadReport(), []
    for r in loaded.records:
        if not r.label:
            ours.skip("no_label", f"{r.utterance_id} ({r.audio_path}): no label (V/A/D only)")
        elif needs_text and not r.transcript:
            ours.skip("no_transcript", f"{r.utterance_id} ({r.audio_path}): the model reads text, the row has none")
        else:
            records.append(r)
    for reason, count in ours.skipped.items():
        _say(verbose, f"{csv}: {count} row(s) skipped ({reason}), e.g. {ours.examples[reason][0]}", err=True)
    if not records:
        raise FinetuneError(f"{csv}: no usable labelled row ({len(loaded.records)} read, "
                            f"{report.total_skipped + ours.total_skipped} skipped)")
    if labels:
        label_set = [canonical_label(x) for x in labels]
    else:
        label_set = sorted({r.label for r in records})
    counts = Counter(r.label for r in records)
    absent = [x for x in label_set if not counts[x]]
    if absent:
        raise FinetuneError(f"{csv}: no row has label(s) {absent} (labels: {label_set})")
    if len(label_set) < 2:
        raise FinetuneError(f"{csv}: one label only ({label_set}); a classifier needs at least 2")
    return loaded, records, label_set, ours


def split(records, validation: float = 0.2, seed: int = 0, speaker_split: bool = True, where: str = "manifest"):
    """The fine-tuning fold: whole speakers held out for validation (``speaker_split``), else a
    random utterance split stratified by label. The test part is empty."""
    import numpy as np

    from zoo.data import protocols

    if not 0.0 < validation < 1.0:
        raise FinetuneError(f"validation must be a fraction in (0, 1); got {validation}")
    empty = np.zeros(0, np.int64)
    if speaker_split:
        unknown = [r for r in records if not r.speaker]
        if unknown:
            raise FinetuneError(
                f"{where}: {len(unknown)} row(s) have no speaker (e.g. {unknown[0].utterance_id!r}, "
                f"{unknown[0].audio_path}): speaker-independent validation needs a 'speaker' column; "
                "--no-speaker-split splits utterances instead (the same speakers then train and validate)")
        speakers = sorted({r.speaker for r in records})
        if len(speakers) < 2:
            raise FinetuneError(
                f"{where}: all {len(records)} utterances are from one speaker ({speakers[0]!r}); speaker-"
                "independent validation needs at least 2 speakers. --no-speaker-split splits utterances at "
                "random instead, but then the validation speaker also trained (speakers leak) and the "
                "validation figures are optimistic")
        train, val = protocols.carve_validation(records, np.arange(len(records)), validation, seed)
        name = "finetune-speakers"
    else:
        fold = protocols.random_split(records, test=validation, seed=seed, allow_speaker_leakage=True,
                                      stratify=min(Counter(r.label for r in records).values()) >= 2)[0]
        train, val, name = fold.train, fold.test, "finetune-utterances"
    fold = protocols.Fold(name, train, val, empty, tuple(records))
    if speaker_split:
        protocols.assert_speaker_independent(fold)
    if not len(fold.train) or not len(fold.validation):
        raise FinetuneError(f"{where}: the split left an empty part ({fold.sizes()}); change --validation")
    return fold


def _check_training_labels(fold, table, label_set, where):
    trained = Counter(r.label for r in table.select(fold.train_records).records)
    missing = [x for x in label_set if not trained[x]]
    if missing:
        held = sorted({str(r.speaker) for r in fold.validation_records})
        raise FinetuneError(f"{where}: label(s) {missing} have no training utterance once the validation "
                            f"speakers {held} are held out; change --seed or --validation, or add recordings")
    validated = Counter(r.label for r in table.select(fold.validation_records).records)
    return [x for x in label_set if not validated[x]]


# ----------------------------------------------------------------------------- model
def _head_names(model, name: str, build_args: dict) -> List[str]:
    from zoo import registry, weights

    headless = registry.build(name, include_top=False, **{k: v for k, v in build_args.items() if k != "classes"})
    return weights.head_layer_names(model, headless)


def _build(entry: dict, name: str, build_args: dict, label_set, freeze, weights_manifest=None):
    from zoo import weights

    same = list(label_set) == list(entry["outputs"]["labels"])
    model = weights.load(entry["name"], name, classes=list(label_set), new_head=not same, freeze=freeze,
                         manifest_path=weights_manifest)
    if not model.trainable_weights:
        raise FinetuneError(f"freeze={freeze!r} leaves nothing to train (the new head too is frozen); use "
                            "'body' (the head trains) or 'none' (every layer trains)")
    return model, ("the release's own (same labels)" if same else "new")


def _freeze_spec(freeze):
    if freeze is None:
        return "none"
    if isinstance(freeze, str) and "," in freeze:
        return [p.strip() for p in freeze.split(",") if p.strip()]
    return freeze


# ----------------------------------------------------------------------------- report
def format_report(data: dict) -> str:
    """The validation report printed at the end: metrics and the confusion matrix with label names."""
    v = data["validation"]
    labels = data["labels"]
    held = (f"{len(v['validation_speakers'])} held-out speaker(s): {', '.join(v['validation_speakers'])}"
            if v["split"] == "speakers" else "a random utterance split: speakers leak, figures optimistic")
    lines = [f"validation report ({v['n_validation']} utterances, {held}; best epoch "
             f"{data['training']['best_epoch']} of {data['training']['epochs_run']}):"]
    lines.append("  " + "   ".join(f"{text} {data['metrics'][key]:.3f}" for key, text in REPORT_METRICS
                                    if key in data["metrics"]))
    width = max(6, *(len(x) for x in labels))
    lines.append("  confusion matrix (rows: true label, columns: predicted):")
    lines.append("  " + " " * width + "".join(f" {x:>{width}}" for x in labels))
    for label, row in zip(labels, data["confusion_matrix"]):
        lines.append(f"  {label:>{width}}" + "".join(f" {n:>{width}d}" for n in row))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- fine-tuning
def finetune(release: str, manifest, out, *, labels: Optional[Sequence[str]] = None,
             freeze: Union[str, Sequence[str], None] = "body", epochs: int = DEFAULT_EPOCHS,
             batch_size: Optional[int] = None, learning_rate: Optional[float] = None, validation: float = 0.2,
             seed: int = 0, speaker_split: bool = True, class_weight: bool = True,
             patience: int = DEFAULT_PATIENCE, strict: bool = False, run_dir=None, cache_dir=None,
             verbose=None, weights_manifest=None) -> Result:
    """Fine-tune release ``release`` on the manifest CSV ``manifest``; write ``out`` and its sidecar.

    Args:
        labels: the label set in output order (default: the manifest's labels, sorted).
        freeze: ``"body"`` (default: only the new head trains), ``"none"``, or layer-name prefixes
            (a list, or one comma-separated string); ``"all"`` leaves nothing to train (an error).
        epochs, patience: at most ``epochs``; early stopping after ``patience`` epochs without a
            lower validation loss, the best epoch's weights restored.
        batch_size: default the release's. learning_rate: default the release's training rate
            (a tenth of it when ``freeze`` is not ``"body"``).
        validation: the fraction of speakers (of utterances without ``speaker_split``) held out.
        class_weight: balanced class weights (``n / (classes x count)``) in the loss.
        strict: a bad manifest row raises instead of being a counted, printed skip.
        run_dir: checkpoint folder (kept; the same command resumes there); default a temporary one.
        cache_dir: the feature cache (default ``$ZOO_FEATURE_CACHE`` or ``~/.cache/zoo/features``).
        verbose: ``None``: a progress bar on a terminal, one line per epoch otherwise; 0: silent;
            1 / 2 as Keras.
    """
    import keras

    from zoo import __version__, experiment, features, pipeline, profiles, registry, weights
    from zoo.weights.preprocessing import describe

    out = Path(out)
    sidecar_path(out)  # the name is checked before anything trains
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if epochs < 1 or patience < 0:
        raise FinetuneError(f"epochs must be >= 1 and patience >= 0; got {epochs}, {patience}")
    freeze = _freeze_spec(freeze)
    if freeze == "all":
        raise FinetuneError("freeze='all' would freeze the new head too, so nothing would train; use 'body' "
                            "(the head trains) or 'none' (every layer trains)")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise FinetuneError(f"{out.parent}: folder not writable")
    try:
        entry = weights.get(release, weights_manifest)
    except KeyError as error:
        raise FinetuneError(error.args[0]) from None
    if entry["outputs"]["kind"] != "classes":
        raise FinetuneError(f"release {release!r} predicts {entry['outputs'].get('targets')}, not classes; "
                            "fine-tuning on labels needs a classifier release")
    name = f"{entry['model']}:{entry['variant']}"
    spec = registry.get_spec(entry["model"])
    recipe = spec.variant(entry["variant"]).recipe

    # Data, labels, the split.
    loaded, records, label_set, skipped = _read_manifest(manifest, labels, strict, experiment.reads_text(recipe),
                                                         verbose)
    fold = split(records, validation, seed, speaker_split, str(manifest))
    if not speaker_split:
        _say(verbose, "warning: --no-speaker-split: validation utterances come from speakers who also train "
                      "(speakers leak); the validation figures are optimistic", err=True)

    # The release's preprocessing, checked.
    extractors = weights.extractors(entry)
    weights.check_features(entry, extractors)

    # The experiment: the release's recipe, our epochs, batch size, learning rate and early stopping.
    base_lr = entry.get("recipe", {}).get("learning_rate") or recipe.optimizer_options.get("learning_rate")
    learning_rate = learning_rate or base_lr * (1.0 if freeze == "body" else UNFROZEN_LR_FACTOR)
    batch_size = batch_size or entry.get("recipe", {}).get("batch_size") or recipe.batch_size
    stopping = {"monitor": "val_loss", "patience": int(patience), "restore_best_weights": True}
    recipe = recipe.replace(label_set=tuple(label_set), callbacks=tuple(
        c for c in recipe.callbacks if c[0] != "EarlyStopping") + (("EarlyStopping", stopping),))
    model_key = entry["model"]
    profile = profiles.Profile(
        name="finetune", description=f"fine-tuning release {release} on {manifest}", seeds=(seed,),
        epochs={model_key: int(epochs)}, batch_size={model_key: int(batch_size)},
        learning_rate={model_key: float(learning_rate)}, validation=validation,
        normalize=entry.get("normalize"))  # the release's normalisation applies to the new data too
    build_args = json.loads(json.dumps({**entry["build"], "classes": list(label_set)}))
    cache_dir = cache_dir or os.environ.get("ZOO_FEATURE_CACHE", os.path.expanduser("~/.cache/zoo/features"))
    exp = experiment.Experiment(
        name=name, spec=spec, variant=entry["variant"], recipe=recipe, profile=profile, corpus="manifest",
        root=str(manifest), protocol=fold.name, label_set=list(label_set), loaded=loaded, records=records,
        folds=[fold], build_args=build_args, input_names=list(entry["features"]),
        cache=features.FeatureCache(cache_dir), feature_overrides={})
    if entry.get("normalize") == "training":  # global CMVN: the release's statistics, not the new data's
        from zoo.features.normalize import statistics_from_json

        exp.normalization = statistics_from_json(entry["normalization"], f"release {release!r}")

    table = exp.features(fold.records, extractors)
    if table.report.total_skipped:
        _say(verbose, f"{manifest}: {table.report.total_skipped} recording(s) skipped by feature extraction: "
                      + "; ".join(e for ex in table.report.examples.values() for e in ex[:3]), err=True)
    unvalidated = _check_training_labels(fold, table, label_set, str(manifest))
    if not len(table.select(fold.validation_records)):
        raise FinetuneError(f"{manifest}: no validation recording is left after feature extraction")
    # zoo.pipeline.fold_datasets makes a dataset of every part and refuses an empty one: the
    # held-out part stands in for the (unused) test part too; it is evaluated as "validation".
    work = dataclasses.replace(fold, test=fold.validation)
    keras.utils.set_random_seed(seed)
    model, head = _build(entry, name, build_args, label_set, freeze, weights_manifest)
    # The model's inputs: the release's features and the <name>_length inputs it takes (its masks).
    exp.input_names = [t.name.split(":")[0] for t in model.inputs]
    datasets = exp.datasets(work, table, seed)
    for part in ("train", "validation"):  # the manifest's features against the release's inputs, before training
        check_dataset(model, datasets[part], where=f"{manifest} ({part} part, features of release {release!r})")
    exp.compile(model)
    weights_of = pipeline.class_weights(datasets["tables"]["train"], label_set) if class_weight else None

    counts = Counter(r.label for r in datasets["tables"]["train"].records)
    vcounts = Counter(r.label for r in datasets["tables"]["validation"].records)
    held = sorted({str(r.speaker) for r in fold.validation_records if r.speaker})
    _say(verbose, f"fine-tuning {release} ({name}) on {manifest}: labels {', '.join(label_set)}; "
                  f"{len(datasets['tables']['train'])} training / {len(datasets['tables']['validation'])} "
                  f"validation utterances" + (f" (validation speakers: {', '.join(held)})" if speaker_split else ""))
    _say(verbose, "  per label (train / validation): " + ", ".join(f"{x} {counts[x]}/{vcounts[x]}" for x in label_set))
    if weights_of:
        _say(verbose, "  class weights: " + ", ".join(f"{x} {weights_of[i]:.3g}" for i, x in enumerate(label_set)))
    _say(verbose, f"  head: {head}; freeze {freeze}; {sum(int(w.numpy().size) for w in model.trainable_weights):,} "
                  f"trainable parameters; lr {learning_rate:g}, batch {batch_size}, up to {epochs} epochs "
                  f"(early stopping, patience {patience})")
    if unvalidated:
        _say(verbose, f"warning: no validation utterance has label(s) {unvalidated}: their recall is 0 "
                      "by definition in the report", err=True)

    with tempfile.TemporaryDirectory(prefix="zoo-finetune-") as scratch:
        fitted = exp.fit(model, datasets, seed, run_dir or scratch, class_weight=weights_of,
                         verbose=verbose if verbose in (0, 1, 2) else 2)
    history = fitted["history"]
    losses = [row.get("val_loss") for row in history]
    best = min(range(len(losses)), key=lambda i: losses[i]) if all(x is not None for x in losses) else len(losses) - 1
    evaluation = exp.evaluate(model, datasets, part="validation")

    sidecar = {
        "schema": SCHEMA, "kind": KIND, "name": out.name[: -len(WEIGHTS_SUFFIX)], "weights": out.name,
        "model": entry["model"], "variant": entry["variant"], "build": build_args, "labels": list(label_set),
        "parameters": int(model.count_params()),
        "release": {"name": entry["name"], "sha256": entry["sha256"], "labels": list(entry["outputs"]["labels"])},
        "head": head,
        "features": describe(extractors, {k: v.get("options", {}) for k, v in entry["features"].items()}),
        "inference": entry.get("inference"),
        # The release's speaker normalisation, applied to the new data too (zoo.predict reads it).
        "normalize": entry.get("normalize"),
        **({"normalization": entry["normalization"]} if entry.get("normalize") == "training" else {}),
        "data": {"manifest": str(Path(manifest).resolve()), "utterances": len(records),
                 "speakers": len({r.speaker for r in records if r.speaker}),
                 "label_counts": {x: int(Counter(r.label for r in records)[x]) for x in label_set},
                 "skipped_by_loader": loaded.report.to_dict(), "skipped_unlabelled": skipped.to_dict(),
                 "skipped_by_features": table.report.to_dict()},
        "validation": {"split": "speakers" if speaker_split else "utterances", "fraction": validation,
                       "seed": seed, "speakers_leak": not speaker_split,
                       "train_speakers": sorted({str(r.speaker) for r in fold.train_records if r.speaker}),
                       "validation_speakers": held, "n_train": len(datasets["tables"]["train"]),
                       "n_validation": len(datasets["tables"]["validation"])},
        "training": {"freeze": freeze, "epochs": int(epochs), "epochs_run": len(history), "best_epoch": best + 1,
                     "stopped_early": fitted["stopped_early"], "batch_size": int(batch_size),
                     "learning_rate": float(learning_rate), "optimizer": recipe.optimizer, "loss": recipe.loss,
                     "class_weight": {x: weights_of[i] for i, x in enumerate(label_set)} if weights_of else None,
                     "callbacks": [list(c) for c in recipe.callbacks], "seed": seed, "history": history},
        "metrics": evaluation["metrics"], "confusion_matrix": evaluation["confusion_matrix"],
        "evaluated_on": "validation (the held-out part also chose the epoch)",
        "date": datetime.date.today().isoformat(),
        "versions": {"zoo": __version__, "keras": keras.__version__, "python": platform.python_version()},
    }
    sidecar = json.loads(json.dumps(sidecar, default=_json_default))
    sidecar = _save(model, name, build_args, out, sidecar)
    _say(verbose, format_report(sidecar))
    _say(verbose, f"wrote {out} and {sidecar_path(out)}")
    return Result(model, extractors, list(label_set), sidecar, out, sidecar_path(out))


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser) -> None:
    """The ``python -m zoo finetune`` options."""
    parser.add_argument("--model", required=True, metavar="RELEASE",
                        help="a classifier release of weights/manifest.json (python -m zoo.weights table)")
    parser.add_argument("--data", required=True, metavar="CSV",
                        help="manifest CSV: path,label,speaker[,...] (paths relative to the CSV's folder)")
    parser.add_argument("--out", required=True, help="the .weights.h5 to write (the sidecar .json goes beside it)")
    parser.add_argument("--labels", help="comma-separated label set in output order (default: the manifest's, sorted)")
    parser.add_argument("--freeze", default="body",
                        help="body (default: only the new head trains), none (every layer), or comma-separated "
                             "layer-name prefixes; all would leave nothing to train")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"at most (default {DEFAULT_EPOCHS})")
    parser.add_argument("--patience", type=int, default=DEFAULT_PATIENCE,
                        help=f"early-stopping patience on the validation loss (default {DEFAULT_PATIENCE})")
    parser.add_argument("--batch-size", type=int, help="default: the release's")
    parser.add_argument("--learning-rate", type=float,
                        help="default: the release's (a tenth of it unless --freeze body)")
    parser.add_argument("--validation", type=float, default=0.2,
                        help="fraction of the speakers held out for validation (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-speaker-split", action="store_true",
                        help="split utterances at random instead of speakers (speakers leak: optimistic figures)")
    parser.add_argument("--no-class-weights", action="store_true", help="no balanced class weights")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad manifest row")
    parser.add_argument("--run-dir", help="keep checkpoints here (the same command resumes)")
    parser.add_argument("--cache-dir", help="feature cache (default $ZOO_FEATURE_CACHE or ~/.cache/zoo/features)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    from zoo.cli import add_workers_argument

    add_workers_argument(parser)


def run_cli(args) -> int:
    """``python -m zoo finetune``: 0 when both files are written, 1 on bad input (the message names
    the file and the problem; nothing is written), 2 on a usage error (argparse)."""
    from zoo.cli import apply_workers

    apply_workers(args)
    try:
        finetune(args.model, args.data, args.out,
                 labels=[x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None,
                 freeze=args.freeze, epochs=args.epochs, batch_size=args.batch_size,
                 learning_rate=args.learning_rate, validation=args.validation, seed=args.seed,
                 speaker_split=not args.no_speaker_split, class_weight=not args.no_class_weights,
                 patience=args.patience, strict=args.strict, run_dir=args.run_dir, cache_dir=args.cache_dir,
                 verbose=0 if args.quiet else None)
    except (ValueError, FileNotFoundError) as error:  # FinetuneError, CorpusError, WeightsError, ...
        print(f"zoo finetune: error: {error}", file=sys.stderr)
        return 1
    return 0
