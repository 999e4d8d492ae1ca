"""``python -m zoo models``: the markdown table of every registered model and variant."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="zoo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser("models", help="print the markdown table of registered models")
    models.add_argument("names", nargs="*", help="restrict to these names (model or model:variant)")
    args = parser.parse_args(argv)
    if args.command == "models":
        from zoo.registry import model_table

        print(model_table(args.names or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
