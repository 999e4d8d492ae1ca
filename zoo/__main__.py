"""``python -m zoo models``: the markdown table of every registered model and variant;
``python -m zoo cards``: one model card per model (docs/models/<model>.md);
``python -m zoo predict``: emotions of audio files with a released model (:mod:`zoo.predict`);
``python -m zoo finetune``: fine-tune a release on one's own manifest CSV (:mod:`zoo.finetune`);
``python -m zoo export``: a release or .keras file as SavedModel, LiteRT or ONNX, optionally waveform-in (:mod:`zoo.export`)."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser("models", help="print the markdown table of registered models")
    models.add_argument("names", nargs="*", help="restrict to these names (model or model:variant)")
    cards = sub.add_parser("cards", help="write one markdown model card per model")
    cards.add_argument("--out", default="docs/models", help="folder for <model>.md (default docs/models)")
    finetune = sub.add_parser("finetune", help="fine-tune a released model on a manifest CSV of your recordings")
    from zoo.finetune import add_arguments as finetune_arguments

    finetune_arguments(finetune)
    predict = sub.add_parser("predict", help="emotions of audio files with a released model (zoo.predict)")
    from zoo.predict import add_arguments as predict_arguments

    predict_arguments(predict)
    export = sub.add_parser("export", help="export a release or .keras file to SavedModel, LiteRT or ONNX (zoo.export)")
    from zoo.export import add_arguments as export_arguments

    export_arguments(export)
    args = parser.parse_args(argv)
    from zoo.cli import quiet_tensorflow

    quiet_tensorflow()
    if args.command == "models":
        from zoo.registry import model_table

        print(model_table(args.names or None))
    elif args.command == "cards":
        from zoo.cards import write_cards

        for path in write_cards(args.out):
            print(path)
    elif args.command == "finetune":
        from zoo.finetune import run_cli

        return run_cli(args)
    elif args.command == "predict":
        from zoo.predict import main as predict_main

        return predict_main(args)
    elif args.command == "export":
        from zoo.export import main as export_main

        return export_main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
