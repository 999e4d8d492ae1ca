"""``python -m zoo.data``: ``describe`` a corpus, ``synthesize`` the built-in one, ``pair-faces``.

    python -m zoo.data describe iemocap /data/IEMOCAP_full_release --classes 4
    python -m zoo.data describe manifest /data/emodb -o vad_range='[1, 5]'
    python -m zoo.data synthesize /tmp/synth --seed 0 --utterances 200
    python -m zoo.data pair-faces ../shared/data/ravdess ../shared/data/fer2013 paired/ravdess_fer.csv --seed 0

``describe`` reads label/transcript files only (no audio decoding) and prints JSON:
total, per label / session / speaker / gender, improvised/scripted (IEMOCAP), and the
report of skips. Bad input exits with status 2 and the ``CorpusError`` message.

``pair-faces`` pairs each RAVDESS utterance with a FER-2013 face of its emotion, each face at
most once, deterministically from ``--seed`` (:mod:`zoo.data.ravdess_fer`), writes the SIER
CSV ``label,speech,image,speaker`` (paths relative to the CSV) and prints the counts; the CSV
is read by ``--corpus ravdess_fer --root out.csv`` (or ``sier`` with the shared label names).
"""
from __future__ import annotations

import argparse
import inspect
import json
import sys

from . import LOADERS, load, summarize
from .records import CorpusError


def _option(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zoo.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("describe", help="count a corpus's records (JSON on stdout)")
    d.add_argument("corpus", choices=sorted(LOADERS))
    d.add_argument("root")
    d.add_argument("--classes", help="4, 7, all, or comma-separated label names")
    d.add_argument("--strict", action="store_true", help="stop at the first bad item")
    d.add_argument("--probe-audio", action="store_true", help="read wav headers (rate, channels)")
    d.add_argument("-o", "--option", action="append", type=_option, default=[],
                   metavar="KEY=VALUE", help="extra loader option (VALUE parsed as JSON if it can be)")
    s = sub.add_parser("synthesize", help="write the built-in synthetic corpus")
    s.add_argument("out_dir")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--utterances", type=int, default=None)
    f = sub.add_parser("pair-faces", help="RAVDESS speech + FER-2013 faces of the same emotion -> SIER CSV")
    f.add_argument("ravdess")
    f.add_argument("faces", help="FER-2013 folder (train/<emotion>/*.jpg)")
    f.add_argument("out_csv")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--classes", default="all", help="all (the 7 shared emotions), 4, or comma-separated names")
    return parser


def _describe(args) -> dict:
    options = dict(args.option)
    if args.classes is not None:
        classes = args.classes
        options["classes"] = classes.split(",") if "," in classes else classes
    if args.strict:
        options["strict"] = True
    if args.probe_audio:
        options["probe_audio"] = True
    accepted = inspect.signature(LOADERS[args.corpus]).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise SystemExit(f"error: loader {args.corpus!r} takes no option(s) {unknown}; "
                         f"it takes {[p for p in accepted if p != 'root']}")
    result = load(args.corpus, args.root, **options)
    summary = {"corpus": args.corpus, "root": args.root, "options": options}
    summary.update(summarize(result))
    return summary


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "describe":
            summary = _describe(args)
        elif args.command == "pair-faces":
            from zoo.data import ravdess_fer

            classes = args.classes.split(",") if "," in args.classes else args.classes
            result = ravdess_fer.build(args.ravdess, args.faces, seed=args.seed, classes=classes)
            summary = {"csv": ravdess_fer.write_csv(result.records, args.out_csv), "seed": args.seed}
            summary.update(summarize(result))
        else:
            from zoo.data.synthetic import synthesize  # lazy: another module, heavier imports

            kwargs = {"seed": args.seed}
            if args.utterances is not None:
                kwargs["utterances"] = args.utterances
            summary = synthesize(args.out_dir, **kwargs)
    except (CorpusError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, sort_keys=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
