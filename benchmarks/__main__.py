"""``python -m benchmarks``: our numbers beside the papers', as markdown tables.

    python -m benchmarks                                  # smoke profile, built-in corpus
    python -m benchmarks --profile paper --corpus iemocap --root /data/IEMOCAP_full_release
    python -m benchmarks --models blstmatt csa --corpus emodb --root ../shared/data/emodb/wav
    python -m benchmarks --profile paper --iemocap /data/IEMOCAP_full_release --strategy mirrored
    python -m benchmarks --models gru_bert:audio_only svm_hsf --profile real --corpus emodb --root ../shared/data/emodb \
        --test-corpus ravdess --test-root ../shared/data/ravdess          # cross-corpus: train EmoDB, test RAVDESS
    python -m benchmarks --models gru_bert:audio_only svm_hsf --profile real_sn_trim_peak --corpus ravdess \
        --root ../shared/data/ravdess --extra-corpus emodb --extra-root ../shared/data/emodb   # RAVDESS folds, EmoDB added to training
    python -m benchmarks --models gru_bert:text_only amh:text_only tfidf_lr --profile real --corpus meld \
        --root ../shared/data/meld                                        # MELD's official split, its 7 emotions
    python -m benchmarks --models parallelnet parallelnet:speech_only parallelnet:image_only --profile real \
        --corpus ravdess_fer --root ../shared/data/ravdess --faces ../shared/data/fer2013   # speech + FER faces

Writes ``results.json``, ``results.md`` and one confusion-matrix PNG per run under
``--out`` (default ``runs/results/<profile>-<corpus>``, outside the tracked files; ``--publish``
writes the committed ``benchmarks/results/<profile>-<corpus>``); checkpoints go under ``--runs``
so an interrupted benchmark resumes where it stopped. A cross-corpus run's tag is
``<profile>-<corpus>-to-<test corpus>`` and its captions say ``corpus `<train> → <test>```; a
multi-corpus run's is ``<profile>-<corpus>-with-<extra corpus>`` (``corpus `<corpus> + <extra> in training```);
``--protocol P`` adds ``-P`` and ``--classes`` ``-all-classes`` (or the names), so a run with other
classes or another protocol never resumes another's checkpoints.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    from benchmarks.runner import default_models
    from zoo.cli import add_workers_argument
    from zoo.profiles import PROFILES

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=default_models(),
                   help="models or model:variant (default: all six)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    p.add_argument("--corpus", default="synthetic",
                   help="synthetic (built-in, default), iemocap, emodb, ravdess, cremad, msp_improv, "
                        "msp_podcast, sier, manifest, meld (text; official split), ravdess_fer (RAVDESS speech "
                        "paired with FER-2013 faces: --faces)")
    p.add_argument("--root", help="corpus root (IEMOCAP_full_release folder, manifest CSV, ...)")
    p.add_argument("--iemocap", metavar="PATH", help="shorthand for --corpus iemocap --root PATH")
    p.add_argument("--test-corpus", metavar="CORPUS",
                   help="cross-corpus: train on --corpus, test on this corpus (protocol cross_corpus: one fold per "
                        "direction, repeated over the seeds; validation speakers from the training corpus only; the "
                        "classes both corpora have, default angry/happy/sad/neutral where both have them)")
    p.add_argument("--test-root", metavar="PATH", help="root of --test-corpus")
    p.add_argument("--extra-corpus", metavar="CORPUS",
                   help="multi-corpus training: every record of this corpus (in the label set) is added to the training "
                        "part of each fold of --corpus; validation and test speakers stay --corpus' own")
    p.add_argument("--extra-root", metavar="PATH", help="root of --extra-corpus")
    p.add_argument("--sample-rate", type=int,
                   help="cross-corpus or multi-corpus: the rate every audio input of both corpora is read at (default 16000)")
    p.add_argument("--faces", metavar="PATH",
                   help="ravdess_fer: the FER-2013 folder (train/<emotion>/*.jpg) whose faces are paired with the "
                        "RAVDESS utterances of --root (see python -m zoo.data pair-faces)")
    p.add_argument("--pairing-seed", type=int, default=0, help="ravdess_fer: the seed of the face pairing (default 0)")
    p.add_argument("--protocol", help="override the recipe's protocol (loso, session5, amh_10fold, speaker_kfold, official; "
                                      "text_safe: the text-safe form of each model's own protocol; cross_corpus "
                                      "comes with --test-corpus)")
    p.add_argument("--classes", nargs="+", help="label set: 'all' (every label of the corpus) or label names "
                                                "(default: the recipe's when the corpus has them)")
    p.add_argument("--seeds", nargs="+", type=int, help="override the profile's seeds")
    p.add_argument("--folds", type=int, help="run at most this many folds")
    p.add_argument("--out", help="results folder (default runs/results/<profile>-<corpus>, untracked)")
    p.add_argument("--publish", action="store_true",
                   help="write into the repository's committed benchmarks/results/<profile>-<corpus> instead")
    p.add_argument("--runs", default="runs", help="checkpoint folder (default ./runs)")
    add_workers_argument(p)
    p.add_argument("--cache", default=os.environ.get("ZOO_FEATURE_CACHE", os.path.expanduser("~/.cache/zoo/features")),
                   help="feature cache folder")
    p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPUs; slower on CPU)")
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                   help="tf.distribute strategy: default (one device), mirrored (every local GPU), multiworker "
                        "(the cluster of TF_CONFIG or of the Slurm job; every worker runs this command, --runs "
                        "and --cache on shared storage). The recipe's batch size is the global batch")
    p.add_argument("--deterministic", action="store_true",
                   help="TF op determinism and fixed thread counts (what the committed smoke results use)")
    p.add_argument("--utterances", type=int, help="size of the built-in corpus (default: the profile's, 500)")
    p.add_argument("--verbose", type=int, default=None,
                   help="Keras progress output (0, 1, 2; default: a progress bar on a terminal, none otherwise)")
    args = p.parse_args(argv)
    if args.iemocap:
        args.corpus, args.root = "iemocap", args.iemocap
    if args.test_root and not args.test_corpus:
        p.error("--test-root needs --test-corpus")
    if args.extra_root and not args.extra_corpus:
        p.error("--extra-root needs --extra-corpus")
    if args.sample_rate and not (args.test_corpus or args.extra_corpus):
        p.error("--sample-rate needs --test-corpus or --extra-corpus")
    if args.test_corpus and args.extra_corpus:
        p.error("--extra-corpus (multi-corpus training) and --test-corpus (cross-corpus) do not go together")
    if args.extra_corpus and args.extra_corpus == args.corpus:
        p.error("--extra-corpus must differ from --corpus")
    if args.protocol == "cross_corpus" and not args.test_corpus:
        p.error("--protocol cross_corpus needs --test-corpus (and --test-root)")
    if args.test_corpus and args.test_corpus == args.corpus:
        p.error("--test-corpus must differ from --corpus")
    if args.faces and args.corpus != "ravdess_fer":
        p.error("--faces is for --corpus ravdess_fer")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from zoo.cli import apply_workers, classes_option, quiet_tensorflow

    apply_workers(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    quiet_tensorflow(deterministic_mode=args.deterministic)
    import dataclasses

    import keras

    from benchmarks import report, runner

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    from zoo import distribute, experiment, profiles

    strategy = distribute.make_strategy(args.strategy)  # before any model: a multi-worker one must come first

    # Keras' progress bar on a terminal; in a log, the experiment's per-run lines (with an ETA) only.
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 0)
    profile = profiles.get(args.profile)
    if args.utterances:
        profile = dataclasses.replace(profile, utterances=args.utterances)
    corpus_name = f"{args.corpus} → {args.test_corpus}" if args.test_corpus else args.corpus  # train → test
    if args.extra_corpus:
        corpus_name = f"{args.corpus} + {args.extra_corpus} in training"
    # The folder of the results and of the checkpoints: every option that changes what is trained is
    # in it, so that a run with other classes or another protocol never resumes this one's checkpoints.
    tag = experiment.run_tag(profile.name, args.corpus, test_corpus=args.test_corpus, protocol=args.protocol,
                             classes=args.classes, extra_corpus=args.extra_corpus)
    loader_options = {"faces": args.faces, "seed": args.pairing_seed} if args.corpus == "ravdess_fer" else None
    published = Path(__file__).parent / "results" / tag
    out = Path(args.out) if args.out else (published if args.publish else Path(args.runs) / "results" / tag)
    runs_dir = Path(args.runs) / tag
    started = time.perf_counter()
    results = {}
    classes = classes_option(args.classes)
    for name in args.models:
        t0 = time.perf_counter()
        logging.info("== %s", name)
        results[name] = runner.run_model(name, args.corpus, args.root, profile=profile, out_runs=runs_dir,
                                         cache_dir=Path(args.cache), protocol=args.protocol, seeds=args.seeds,
                                         max_folds=args.folds, verbose=verbose, classes=classes,
                                         strategy=strategy if distribute.is_distributed(strategy) else None,
                                         test_corpus=args.test_corpus, test_root=args.test_root,
                                         sample_rate=args.sample_rate, loader_options=loader_options,
                                         extra_corpus=args.extra_corpus, extra_root=args.extra_root)
        results[name]["setup"]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "profile": profile.name, "profile_description": profile.description,
            "corpus": corpus_name, "machine": runner.machine(),
            "date": datetime.date.today().isoformat(), "wall_seconds": round(time.perf_counter() - started, 1)}
    if not distribute.is_chief(strategy):  # the chief writes the results; a worker only trained its share
        logging.info("worker %d of %d: results are written by the chief", *distribute.task(strategy))
        return 0
    markdown = report.write(out, results, meta)
    print(markdown)
    logging.info("wrote %s (results.md, results.json, confusion/) in %.0f s", out, meta["wall_seconds"])
    return 0


def cli(argv=None) -> int:
    """:func:`main` with the user's mistakes (a missing corpus, an unknown model or class) as one
    ``error:`` line and exit status 2 instead of a traceback."""
    from zoo.data.records import CorpusError

    try:
        return main(argv)
    except (ValueError, FileNotFoundError, CorpusError) as error:
        print(f"python -m benchmarks: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
