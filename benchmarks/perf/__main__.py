"""``python -m benchmarks.perf``: training throughput, pipeline overhead, length bucketing,
inference latency and mixed precision, as markdown + JSON.

    python -m benchmarks.perf                          # all six models, ~10 min on 2 CPU cores
    python -m benchmarks.perf --models blstmatt csa --sections throughput latency
    python -m benchmarks.perf --quick --out /tmp/perf  # toy sizes: checks that it runs (seconds)
    python -m benchmarks.perf --sections frozen traces --append   # adds a run to perf.md / perf.json

Writes ``<out>/<name>.md`` and ``<out>/<name>.json`` (default ``benchmarks/results/perf``;
``perf-quick`` with ``--quick``) and prints the markdown.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODELS = ("gru_bert", "amh", "parallelnet", "blstmatt", "csa", "dser")
SECTIONS = ("throughput", "bucketing", "latency", "precision", "frozen", "traces")
DEFAULT_SECTIONS = ("throughput", "bucketing", "latency", "precision")
log = logging.getLogger("benchmarks.perf")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(DEFAULT_SECTIONS),
                   help=f"default {' '.join(DEFAULT_SECTIONS)}; frozen (frozen encoders once per utterance) "
                        "and traces (training-step traces per epoch) on request")
    p.add_argument("--quick", action="store_true", help="toy sizes and one repeat: checks the code, not speed")
    p.add_argument("--repeats", type=int, help="timed epochs per arm, throughput/precision (default 3; quick 1)")
    p.add_argument("--bucket-repeats", type=int, help="timed epochs per bucketing row (default 2; quick 1)")
    p.add_argument("--bucket-utterances", type=int, help="utterances per bucketing epoch (default max(256, 8 x batch))")
    p.add_argument("--latency-repeats", type=int, help="timed runs per model (default 10; quick 2)")
    p.add_argument("--precision-on-cpu", action="store_true",
                   help="run the mixed-precision section without a GPU (code-path check, meaningless speed)")
    p.add_argument("--note", default="", help="a sentence for the top of the markdown (e.g. the machine's load)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results"))
    p.add_argument("--name", help="file stem (default perf, or perf-quick with --quick)")
    p.add_argument("--append", action="store_true",
                   help="append this run (its command, load and sections) to <name>.md and <name>.json "
                        "instead of replacing them")
    p.add_argument("--traces-utterances", type=int, help="utterances per traces epoch (default 4 x batch)")
    return p.parse_args(argv)


def _guard(rows, model, fn, *args, **kwargs):
    """Run one measurement; an exception becomes a row with the error (and a logged traceback)."""
    try:
        rows.append(fn(*args, **kwargs))
    except Exception as error:  # one model's failure must not lose the others' numbers
        log.error("%s failed:\n%s", model, traceback.format_exc())
        rows.append({"model": model, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"})


def run(args) -> dict:
    import tempfile

    import keras

    from benchmarks.perf import bucketing, frozen, latency, precision, setups, throughput, timing, traces

    timing.quiet_keras()
    repeats = args.repeats or (1 if args.quick else 3)
    bucket_repeats = args.bucket_repeats or (1 if args.quick else 2)
    latency_repeats = args.latency_repeats or (2 if args.quick else 10)
    bucket_utterances = args.bucket_utterances or (8 if args.quick else None)
    rows = {s: [] for s in args.sections}
    for model_name in args.models:
        setup = setups.get(model_name, quick=args.quick)
        wants_training = "throughput" in rows or ("bucketing" in rows and setup.bucket_input)
        if not wants_training:
            continue
        log.info("== %s: training sections", model_name)
        try:
            model = setup.compile(setup.build_model())
        except Exception as error:
            for s in ("throughput", "bucketing"):
                if s in rows:
                    rows[s].append({"model": model_name, "error": f"build: {type(error).__name__}: {error}"})
            log.error("%s build failed:\n%s", model_name, traceback.format_exc())
            continue
        if "throughput" in rows:
            _guard(rows["throughput"], model_name, throughput.measure, setup, model, repeats)
        if "bucketing" in rows and setup.bucket_input:
            _guard(rows["bucketing"], model_name, bucketing.measure, setup, model, bucket_repeats,
                   bucket_utterances)
        del model
        keras.backend.clear_session()
    if "latency" in rows:
        with tempfile.TemporaryDirectory(prefix="zoo-perf-") as folder:
            record = latency.make_record(folder, seconds=1.0 if args.quick else latency.SECONDS)
            for model_name in args.models:
                log.info("== %s: latency", model_name)
                _guard(rows["latency"], model_name, latency.measure, setups.get(model_name, quick=args.quick),
                       record, latency_repeats)
    if "precision" in rows:
        for model_name in args.models:
            log.info("== %s: precision", model_name)
            _guard(rows["precision"], model_name, precision.measure, setups.get(model_name, quick=args.quick),
                   repeats, args.precision_on_cpu)
    if "frozen" in rows:
        for model_name in args.models:
            if model_name in frozen.MODELS:
                log.info("== %s: frozen encoders", model_name)
                for setup in frozen.setups_of(model_name, quick=args.quick):
                    _guard(rows["frozen"], model_name, frozen.measure, setup, repeats=max(2, repeats - 1))
                    keras.backend.clear_session()
    if "traces" in rows:
        for model_name in args.models:
            log.info("== %s: traces", model_name)
            _guard(rows["traces"], model_name, traces.measure, setups.get(model_name, quick=args.quick),
                   args.traces_utterances or 0)
    descriptions = {"throughput": throughput.__doc__, "bucketing": bucketing.__doc__,
                    "latency": latency.__doc__, "precision": precision.__doc__, "frozen": frozen.__doc__,
                    "traces": traces.__doc__}
    return {s: {"description": _paragraphs(descriptions[s]), "rows": rows[s]} for s in args.sections}


def _paragraphs(doc: str) -> str:
    """A module docstring without its first line, for the markdown."""
    import textwrap

    body = doc.split("\n", 1)[1] if "\n" in doc else ""
    return textwrap.dedent(body).strip()


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    from benchmarks.perf import report

    started, load_start = time.perf_counter(), os.getloadavg()[0]
    sections = run(args)
    words = sys.argv[1:] if argv is None else list(argv)
    results = {"meta": {
        "command": "python -m benchmarks.perf " + " ".join(shlex.quote(a) for a in words),
        "date": datetime.date.today().isoformat(), "wall_seconds": time.perf_counter() - started,
        "load_start": load_start, "load_end": os.getloadavg()[0], "quick": args.quick, "note": args.note,
        "machine": report.machine()}, "sections": sections}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("perf-quick" if args.quick else "perf")
    markdown = report.markdown(results, appended=args.append)
    md, js = out / f"{stem}.md", out / f"{stem}.json"
    if args.append and md.exists() and js.exists():
        previous = json.loads(js.read_text())
        previous.setdefault("appended", []).append(results)
        md.write_text(md.read_text().rstrip("\n") + "\n\n" + markdown + "\n")
        js.write_text(json.dumps(previous, indent=1, default=float) + "\n")
    else:
        md.write_text(markdown + "\n")
        js.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
