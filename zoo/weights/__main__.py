"""``python -m zoo.weights {table,list,verify,release}``.

    python -m zoo.weights table                     # markdown "Pretrained weights" table (README)
    python -m zoo.weights list                      # release names, files, where they are found
    python -m zoo.weights verify [NAME ...]         # sha256/size of present files + parameter counts
    python -m zoo.weights release blstmatt --corpus synthetic --profile smoke
    python -m zoo.weights release csa --corpus manifest --root /path/to/emodb --folds 2
    python -m zoo.weights release amh:audio_only --corpus ravdess --root R --classes angry happy neutral sad
"""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zoo.weights", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", help="manifest path (default weights/manifest.json)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("table", help="print the markdown table of releases")
    sub.add_parser("list", help="list releases and where their files are")
    verify = sub.add_parser("verify", help="check files (sha256, size) and parameter counts")
    verify.add_argument("names", nargs="*")
    r = sub.add_parser("release", help="train through benchmarks.runner and release the weights")
    r.add_argument("model", help="model or model:variant")
    r.add_argument("--corpus", required=True, help="synthetic, emodb, manifest, iemocap, ...")
    r.add_argument("--root", help="corpus root (manifest folder, wav folder, IEMOCAP_full_release, ...)")
    r.add_argument("--profile", default="smoke", help="zoo.profiles profile (smoke, real, paper)")
    r.add_argument("--folds", type=int, help="CV folds to run (default: the profile's)")
    r.add_argument("--seeds", nargs="+", type=int, help="seeds (default: the profile's)")
    r.add_argument("--protocol", help="override the recipe's protocol for the CV figures")
    r.add_argument("--classes", nargs="+", help="label set: 'all' (every label of the corpus) or label names "
                                                 "(default: the recipe's where the corpus has them), as the "
                                                 "benchmark's --classes")
    r.add_argument("--rule", choices=("all", "fold0"), default="all",
                   help="released file: trained on all speakers (default) or CV fold 0 seed 0")
    r.add_argument("--name", help="release name (default model[-variant]-corpus-profile)")
    r.add_argument("--url", help="where the file will be downloadable from (optional)")
    r.add_argument("--storage", choices=("auto", "full", "trainable_part", "float16"), default="auto",
                   help="what the file holds (default auto: full if under the commit limit, else the trainable "
                        "part where the frozen encoder comes from a preset, else float16, else full in the cache)")
    r.add_argument("--data-licence", help="licence of the training data (needed for unknown corpora)")
    r.add_argument("--weights-licence", help="licence of the released weights")
    r.add_argument("--faces", metavar="PATH", help="--corpus ravdess_fer: the FER-2013 folder whose faces are "
                                                    "paired with the RAVDESS utterances of --root")
    r.add_argument("--pairing-seed", type=int, default=0, help="--corpus ravdess_fer: the pairing's seed (default 0)")
    r.add_argument("--extra-corpus", metavar="CORPUS",
                   help="multi-corpus training: every record of this corpus joins the training part of each CV fold "
                        "(tested on --corpus' speakers only) and the released model's training")
    r.add_argument("--extra-root", metavar="PATH", help="root of --extra-corpus")
    r.add_argument("--runs", help="checkpoint folder (resumable; default $ZOO_CACHE_DIR/release-runs)")
    r.add_argument("--cache", help="feature cache folder")
    r.add_argument("--verbose", type=int, default=0)
    r.add_argument("--deterministic", action="store_true",
                   help="TensorFlow's deterministic mode (op determinism, fixed thread counts), as the benchmark's "
                        "--deterministic: the CV runs then equal the benchmark's runs of the same setting")
    from zoo.cli import add_workers_argument

    add_workers_argument(r)
    return p


def _verify(names, manifest_path) -> int:
    import keras

    from zoo import registry
    from zoo.weights import find_file, manifest

    failures = 0
    for name, entry in manifest.entries(manifest_path).items():
        if names and name not in names:
            continue
        try:
            path = find_file(entry, manifest_path, download=False)
            where = str(path)
        except FileNotFoundError:
            where = "file absent"
        model = registry.build(f"{entry['model']}:{entry['variant']}", **entry["build"])
        ok = model.count_params() == entry["parameters"]
        failures += not ok
        print(f"{name}: {where}; parameters {model.count_params():,} "
              f"{'==' if ok else '!='} {entry['parameters']:,}")
        keras.backend.clear_session()
    return 1 if failures else 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    from zoo.cli import apply_workers, classes_option, quiet_tensorflow

    quiet_tensorflow(deterministic_mode=getattr(args, "deterministic", False))
    from zoo import weights

    if args.command == "table":
        print(weights.table(args.manifest))
        return 0
    if args.command == "list":
        from zoo.weights import manifest

        for name, entry in manifest.entries(args.manifest).items():
            try:
                where = str(weights.find_file(entry, args.manifest, download=False))
            except FileNotFoundError:
                where = "absent (" + ("url" if entry.get("url") else "run its command") + ")"
            except weights.ChecksumError as error:
                where = f"BAD: {error}"
            print(f"{name}\t{entry['model']}:{entry['variant']}\t{entry['size'] / 1e6:.1f} MB\t{where}")
        return 0
    if args.command == "verify":
        try:
            return _verify(args.names, args.manifest)
        except (weights.WeightsError, weights.ManifestError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.extra_root and not args.extra_corpus:
        print("error: --extra-root needs --extra-corpus", file=sys.stderr)
        return 2
    if args.faces and args.corpus != "ravdess_fer":
        print("error: --faces is for --corpus ravdess_fer", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    from zoo.weights.release import release

    apply_workers(args)
    command = "python -m zoo.weights " + shlex.join(a for a in argv if a not in ("--manifest", args.manifest))
    entry = release(args.model, args.corpus, args.root, profile=args.profile, folds=args.folds, seeds=args.seeds,
                    protocol=args.protocol, rule=args.rule, name=args.name, runs_dir=args.runs,
                    cache_dir=args.cache, manifest_path=args.manifest, data_licence=args.data_licence,
                    weights_licence=args.weights_licence, url=args.url, command=command, storage=args.storage,
                    loader_options=({"faces": args.faces, "seed": args.pairing_seed} if args.corpus == "ravdess_fer"
                                    else None),
                    classes=classes_option(args.classes), extra_corpus=args.extra_corpus,
                    extra_root=args.extra_root, verbose=args.verbose)
    metrics = ", ".join(f"{k} {v['mean']:.3f} ± {v['std']:.3f}" for k, v in entry["metrics"].items())
    print(f"released {entry['name']}: {entry['file']} ({entry['size'] / 1e6:.1f} MB, "
          f"{'committed' if entry['committed'] else 'not committed'}, storage {entry.get('storage', 'full')}), "
          f"{entry['parameters']:,} parameters; {metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
