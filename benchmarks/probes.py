"""Measurements behind choices of the ``real`` profiles, each reproducible with one command.

    python -m benchmarks.probes silence        # how much of each clip librosa.effects.trim keeps
    python -m benchmarks.probes meld-pooling   # MiniLM's [CLS] against its token mean, on MELD dev
    python -m benchmarks.probes modality-dropout --folds 2   # ParallelNet's modality_dropout, on validation speakers
    python -m benchmarks.probes augment --folds 2            # SpecAugment on RAVDESS, on validation speakers
    python -m benchmarks.probes option csa bn_momentum 0.99 0.9 --corpus emodb   # one builder option

* ``silence``: for every third 4-class clip (angry, happy, sad, neutral) of the EmoDB and
  RAVDESS development copies, read at 16 kHz, the fraction of samples that
  ``librosa.effects.trim(top_db=30)`` keeps (the ``real_sn_trim`` profile's trimming), per class.
* ``meld-pooling``: the frozen offline all-MiniLM-L6-v2 over MELD's transcripts (``bert_tokens``,
  30 word pieces), read as its [CLS] vector, the mean of its tokens, and that mean L2-normalised
  (``zoo.gru_bert`` ``text_pooling``); a class-balanced logistic regression (scikit-learn,
  C in 0.1 / 1 / 10) trained on the train split, mean class recall on the dev split (where the
  choice is made) and the test split.
* ``modality-dropout``: ParallelNet on RAVDESS speech paired with FER-2013 faces (7 classes,
  profile ``real_fer``, deterministic, seed 0), the fusion model with ``modality_dropout`` at
  each ``--rates`` value and ``parallelnet:speech_only`` beside it, trained on the first
  ``--folds`` speaker folds as the benchmark trains them; mean class recall on each fold's
  VALIDATION speakers (where the rate is chosen; never the test speakers) and, for information,
  on its test speakers.
* ``augment``: the audio models ``--models`` on a speech corpus (default RAVDESS, its 4 classes,
  profile ``real_sn_trim``, deterministic, seed 0) without augmentation and with
  :class:`zoo.augment.SpecAugment` (its defaults, and ``--strong``: 2 time masks of up to 20 % and
  2 frequency masks of up to 8 bands), the first ``--folds`` speaker folds; mean class recall on
  each fold's validation speakers (where the choice is made) and, for information, its test speakers.
* ``option``: one builder option of one model at each of the given values, on top of the
  profile's own overrides (default profile ``real_sn_trim``, the model's default classes,
  deterministic, seed 0), scored the same way.

Each prints a markdown table. The corpora are looked for in ``$ZOO_SHARED_DATA`` or
``../shared/data`` beside the checkout (``--root`` elsewhere).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

CLASSES = ("angry", "happy", "sad", "neutral")
POOLINGS = ("cls", "mean", "mean_l2")


def default_root(corpus: str) -> Path:
    base = os.environ.get("ZOO_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(base) / corpus


def silence(roots: dict, top_db: float = 30.0, every: int = 3) -> list:
    """Rows ``(corpus, clips, mean seconds, {class: kept fraction})``."""
    import librosa

    from zoo import data

    rows = []
    for corpus, root in roots.items():
        records = [r for r in data.load(corpus, root).records if r.label in CLASSES][::every]
        kept, seconds = {}, []
        for r in records:
            y, _ = librosa.load(r.audio_path, sr=16000)
            kept.setdefault(r.label, []).append(len(librosa.effects.trim(y, top_db=top_db)[0]) / len(y))
            seconds.append(len(y) / 16000)
        rows.append((corpus, len(records), float(np.mean(seconds)), {c: float(np.mean(kept[c])) for c in CLASSES}))
    return rows


def meld_pooling(root, batch: int = 256) -> list:
    """Rows ``(pooling, C, dev mean class recall, test mean class recall)``."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score

    from zoo import data, text_encoders
    from zoo.features.text import MINILM, BertTokens

    records = data.load("meld", root).records
    tokens = BertTokens(max_length=30)
    ids = np.stack([tokens.extract(r) for r in records])
    backbone = text_encoders.load_bert_backbone(MINILM, trainable=False)
    vectors = {p: [] for p in POOLINGS}
    for i in range(0, len(ids), batch):
        x = ids[i:i + batch]
        mask = (x != 0).astype("int32")
        out = backbone({"token_ids": x, "segment_ids": np.zeros_like(x), "padding_mask": mask})
        sequence = keras.ops.convert_to_numpy(out["sequence_output"])
        mean = (sequence * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        vectors["cls"].append(sequence[:, 0])
        vectors["mean"].append(mean)
        vectors["mean_l2"].append(mean / np.linalg.norm(mean, axis=1, keepdims=True))
    split = np.array([r.extra["split"] for r in records])
    labels = np.array([r.label for r in records])
    rows = []
    for pooling in POOLINGS:
        x = np.concatenate(vectors[pooling])
        for c in (0.1, 1.0, 10.0):
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
            model.fit(x[split == "train"], labels[split == "train"])
            recall = {part: recall_score(labels[split == part], model.predict(x[split == part]), average="macro")
                      for part in ("dev", "test")}
            rows.append((pooling, c, recall["dev"], recall["test"]))
    return rows


def modality_dropout(root, faces, rates=(0.0, 0.3, 0.5), folds: int = 2, seed: int = 0, runs=None) -> list:
    """Rows ``(model, rate, fold, epochs, validation mean class recall, test mean class recall)``."""
    import tempfile

    from zoo import profiles
    from zoo.data.ravdess_fer import SHARED_LABELS

    base = profiles.get("real_fer")
    runs = Path(runs or tempfile.mkdtemp(prefix="zoo-moddrop-"))
    options = {"classes": list(SHARED_LABELS), "loader_options": {"faces": str(faces), "seed": 0}}
    settings = [("parallelnet:speech_only", None)] + [("parallelnet", r) for r in rates]
    rows = []
    for name, rate in settings:
        profile = base if rate is None else _with_option(base, "parallelnet", "modality_dropout", rate)
        rows += [(name, rate, *run) for run in _validated_runs(name, "ravdess_fer", root, profile, folds, seed,
                                                               runs / f"{name.replace(':', '-')}-{rate}", **options)]
    return rows


def _with_option(profile, family: str, option: str, value):
    """``profile`` with the builder option ``option=value`` of ``family`` over its own overrides."""
    import dataclasses

    return dataclasses.replace(profile, build={**profile.build, family: {**profile.build.get(family, {}), option: value}})


def _validated_runs(name: str, corpus: str, root, profile, folds: int, seed: int, runs: Path, **options) -> list:
    """``(fold, epochs, validation mean class recall, test mean class recall)`` for each of the
    first ``folds`` folds of ``name`` on ``corpus`` under ``profile`` (``options``: more
    :func:`zoo.experiment.prepare` arguments), trained as the benchmark trains them,
    checkpoints under ``runs-<fold>``."""
    from zoo import experiment

    exp = experiment.prepare(name, corpus, str(root), profile=profile, max_folds=folds, **options)
    rows = []
    for fold in exp.folds:
        result = exp.run_fold(fold, seed, Path(f"{runs}-{fold.name}"), validation_metrics=True)
        rows.append((fold.name, result["epochs_run"], result["validation_metrics"]["mean_class_recall"],
                     result["metrics"]["mean_class_recall"]))
    return rows


AUGMENTS = ("none", "specaugment", "strong")


def augment_probe(corpus: str, root, models, profile: str = "real_sn_trim", settings=AUGMENTS[:2],
                  folds: int = 2, seed: int = 0, runs=None) -> list:
    """Rows ``(model, augment, fold, epochs, validation mean class recall, test mean class recall)``."""
    import dataclasses
    import tempfile

    from zoo import augment, profiles

    configs = {"none": None, "specaugment": augment.SpecAugment(),
               "strong": augment.SpecAugment(time_masks=2, time_width=0.2, freq_masks=2, freq_width=8)}
    base = profiles.get(profile)
    runs = Path(runs or tempfile.mkdtemp(prefix="zoo-augment-"))
    rows = []
    for name in models:
        for setting in settings:
            rows += [(name, setting, *run)
                     for run in _validated_runs(name, corpus, root, dataclasses.replace(base, augment=configs[setting]),
                                                folds, seed, runs / f"{name.replace(':', '-')}-{setting}")]
    return rows


def _print_validated(setting: str, rows) -> None:
    print(f"| model | {setting} | fold | epochs | validation mean class recall | test mean class recall |")
    print("|---|---:|---|---:|---:|---:|")
    for name, value, fold, epochs, val, test in rows:
        print(f"| {name} | {value} | {fold} | {epochs} | {val:.3f} | {test:.3f} |")
    sys.stdout.flush()


def option_probe(model: str, option: str, values, corpus: str, root, profile: str = "real_sn_trim",
                 folds: int = 2, seed: int = 0, runs=None) -> list:
    """Rows ``(model, value, fold, epochs, validation mean class recall, test mean class recall)``."""
    import tempfile

    from zoo import profiles

    base = profiles.get(profile)
    runs = Path(runs or tempfile.mkdtemp(prefix="zoo-option-"))
    rows = []
    for value in values:
        rows += [(model, value, *run)
                 for run in _validated_runs(model, corpus, root, _with_option(base, model.split(":")[0], option, value),
                                            folds, seed, runs / f"{model.replace(':', '-')}-{option}-{value}")]
    return rows


def _value(text: str):
    """A command-line value as Python reads it (``0.9``, ``3``, ``True``, ``(64, 64)``), else the text."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.probes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="probe", required=True)
    s = sub.add_parser("silence")
    s.add_argument("--emodb", help="EmoDB folder (default: the development copy)")
    s.add_argument("--ravdess", help="RAVDESS folder (default: the development copy)")
    m = sub.add_parser("meld-pooling")
    m.add_argument("--root", help="MELD folder (default: the development copy)")
    d = sub.add_parser("modality-dropout")
    d.add_argument("--root", help="RAVDESS folder (default: the development copy)")
    d.add_argument("--faces", help="FER-2013 folder (default: the development copy)")
    d.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    d.add_argument("--folds", type=int, default=2)
    d.add_argument("--runs", help="checkpoint folder (default: a new temporary one)")
    a = sub.add_parser("augment")
    a.add_argument("--corpus", default="ravdess")
    a.add_argument("--root", help="corpus folder (default: the development copy)")
    a.add_argument("--models", nargs="+", default=["gru_bert:audio_only", "blstmatt"])
    a.add_argument("--profile", default="real_sn_trim")
    a.add_argument("--strong", action="store_true", help="also the strong SpecAugment setting")
    a.add_argument("--folds", type=int, default=2)
    a.add_argument("--runs", help="checkpoint folder (default: a new temporary one)")
    o = sub.add_parser("option")
    o.add_argument("model")
    o.add_argument("option", help="a keyword of the model's builder")
    o.add_argument("values", nargs="+", type=_value)
    o.add_argument("--corpus", default="ravdess")
    o.add_argument("--root", help="corpus folder (default: the development copy)")
    o.add_argument("--profile", default="real_sn_trim")
    o.add_argument("--folds", type=int, default=2)
    o.add_argument("--runs", help="checkpoint folder (default: a new temporary one)")
    args = p.parse_args(argv)
    if args.probe in ("option", "augment", "modality-dropout"):  # the probes that train
        from zoo.cli import quiet_tensorflow

        quiet_tensorflow(deterministic_mode=True)
    if args.probe == "option":
        rows = option_probe(args.model, args.option, args.values, args.corpus, args.root or default_root(args.corpus),
                            profile=args.profile, folds=args.folds, runs=args.runs)
        _print_validated(args.option, rows)
        return 0
    if args.probe == "augment":
        rows = augment_probe(args.corpus, args.root or default_root(args.corpus), args.models, profile=args.profile,
                             settings=AUGMENTS if args.strong else AUGMENTS[:2], folds=args.folds, runs=args.runs)
        _print_validated("augment", rows)
        return 0
    if args.probe == "modality-dropout":
        rows = modality_dropout(args.root or default_root("ravdess"), args.faces or default_root("fer2013"),
                                rates=tuple(args.rates), folds=args.folds, runs=args.runs)
        _print_validated("modality_dropout", [(n, "" if r is None else f"{r:g}", *rest) for n, r, *rest in rows])
        return 0
    if args.probe == "silence":
        roots = {"emodb": args.emodb or default_root("emodb"), "ravdess": args.ravdess or default_root("ravdess")}
        print("| corpus | clips | mean s | " + " | ".join(f"kept: {c}" for c in CLASSES) + " |")
        print("|---|---:|---:|" + "---:|" * len(CLASSES))
        for corpus, n, seconds, kept in silence(roots):
            print(f"| {corpus} | {n} | {seconds:.2f} | " + " | ".join(f"{kept[c]:.2f}" for c in CLASSES) + " |")
    else:
        print("| pooling | C | dev mean class recall | test mean class recall |")
        print("|---|---:|---:|---:|")
        for pooling, c, dev, test in meld_pooling(args.root or default_root("meld")):
            print(f"| {pooling} | {c:g} | {dev:.3f} | {test:.3f} |")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
