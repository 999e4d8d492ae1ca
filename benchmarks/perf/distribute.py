"""``python -m benchmarks.perf.distribute``: training steps/s on one device against
``tf.distribute.MirroredStrategy`` (:mod:`zoo.distribute`).

    python -m benchmarks.perf.distribute                       # blstmatt and csa, ~12 min on 2 shared cores
    python -m benchmarks.perf.distribute --models csa --rounds 1 --repeats 1 --out /tmp/dist

Each arm runs in a fresh process (logical devices must be configured before TensorFlow
starts): the model at the speed benchmark's sizes and recipe batch size
(:mod:`benchmarks.perf.setups`), built and compiled under the arm's strategy, trains through
``model.fit`` on the zoo pipeline's stream (:class:`benchmarks.perf.timing.Pipeline`, 4.5 s
utterances, the global batch = the recipe's); one untimed epoch (tracing), then ``repeats``
timed epochs. The arms run in ``rounds`` rounds, in reverse order every other round (ABC CBA ABC),
so that load drifts on a shared machine hit every arm alike; each arm's timed epochs of all
rounds give the median. Reported: steps/s (wall), and the process CPU time per step (all
threads), which other jobs on a shared machine disturb far less than wall time. Arms on a
machine without a GPU:

* ``one device``: no strategy (what ``--strategy default`` trains with);
* ``mirrored, 1 CPU device``: ``MirroredStrategy(["/cpu:0"])``, the strategy's own overhead;
* ``mirrored, 2 logical CPUs``: the CPU split in two logical devices
  (``zoo.distribute.logical_cpus(2)``), each replica gets half of every global batch.

Logical CPU devices share the machine's cores: there is no extra hardware, so they show what
the replication and all-reduce machinery costs; a wall-clock gain can only come from running
the two half-batch steps at once where one step alone leaves a core idle.
With GPUs the arms are one GPU without a strategy, ``MirroredStrategy`` on that one GPU, and
on every GPU.

Writes ``<out>/distribute.md`` (and the raw numbers in ``distribute.json``) and prints the markdown.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

log = logging.getLogger("benchmarks.perf.distribute")
ROOT = Path(__file__).resolve().parents[2]
MODELS = ("blstmatt", "csa")
CPU_ARMS = ("one device", "mirrored, 1 CPU device", "mirrored, 2 logical CPUs")
GPU_ARMS = ("one GPU", "mirrored, 1 GPU", "mirrored, every GPU")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf.distribute", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS), help="zoo models (default: blstmatt csa)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per arm (default 3)")
    p.add_argument("--batches", type=int, default=4, help="global batches per epoch (default 4)")
    p.add_argument("--rounds", type=int, default=3, help="rounds over the arms, ABC CBA ABC ... (default 3)")
    p.add_argument("--note", default="", help="a sentence for the top of the markdown (e.g. the machine's load)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one arm, print its JSON
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- one arm (child)
def measure_arm(arm: str, model_name: str, repeats: int, batches: int) -> dict:
    """Steps/s of one arm, in this (fresh) process."""
    from zoo import distribute

    devices = None
    if arm == "mirrored, 2 logical CPUs":
        devices = distribute.logical_cpus(2)
    import numpy as np
    import tensorflow as tf

    from benchmarks.perf import data, setups, timing
    from benchmarks.perf.data import MEAN_SECONDS

    timing.quiet_keras()
    gpus = [d.name.replace("physical_device:", "") for d in tf.config.list_physical_devices("GPU")]
    strategy = None
    if arm == "mirrored, 1 CPU device":
        strategy = distribute.make_strategy("mirrored", ["/cpu:0"])
    elif arm == "mirrored, 2 logical CPUs":
        strategy = distribute.make_strategy("mirrored", devices)
    elif arm == "mirrored, 1 GPU":
        strategy = distribute.make_strategy("mirrored", ["/gpu:0"])
    elif arm == "mirrored, every GPU":
        strategy = distribute.make_strategy("mirrored")
    setup = setups.get(model_name)
    n = batches * setup.batch_size
    if setup.chunking is not None:  # CSA trains on chunks: enough utterances for n of them
        length, overlap = setup.chunking[:2]
        per_utterance = 1 + (setup.streams["fbank"].steps(MEAN_SECONDS) - length) // (length - overlap)
        n = -(-n // per_utterance)
    table = data.table(setup, [MEAN_SECONDS] * n, seed=1)
    pipe = timing.Pipeline(setup, table)
    with distribute.scope(strategy):
        model = setup.compile(setup.build_model())
    stream = pipe.stream
    if strategy is not None:
        distribute.prepare_model(model, strategy)
        stream = distribute.shard_by_data(stream)
    with distribute.scope(strategy):
        timing.fit_epoch(model, stream, pipe.steps)  # tracing
        wall, cpu = [], []
        for _ in range(repeats):
            w, c = timing.fit_epoch(model, stream, pipe.steps, cpu=True)
            wall.append(w)
            cpu.append(c)
    seconds = timing.median(wall)
    return {"arm": arm, "model": model_name, "replicas": 1 if strategy is None else strategy.num_replicas_in_sync,
            "global_batch": setup.batch_size, "steps": pipe.steps, "samples": pipe.samples,
            "epoch_seconds": wall, "cpu_seconds": cpu, "steps_per_second": pipe.steps / seconds,
            "samples_per_second": pipe.samples / seconds, "cpu_ms_per_step": 1000 * float(np.median(cpu)) / pipe.steps,
            "size": setup.size_note, "gpus": gpus}


# ----------------------------------------------------------------------------- parent
def _has_gpu() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import tensorflow as tf; "
                            "print(len(tf.config.list_physical_devices('GPU')))"],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    return probe.returncode == 0 and probe.stdout.strip().splitlines()[-1:] != ["0"]


def run_arm(arm: str, model: str, repeats: int, batches: int, timeout: int = 1800) -> dict:
    child = json.dumps({"arm": arm, "model": model, "repeats": repeats, "batches": batches})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.perf.distribute", "--child", child],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        log.error("%s / %s failed:\n%s", model, arm, done.stderr[-3000:])
        return {"arm": arm, "model": model, "error": tail[0][:300]}
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["process_seconds"] = round(time.perf_counter() - started, 1)
    return row


def _combine(arm_rows: list) -> dict:
    """One row per arm: the median over the timed epochs of every round."""
    import numpy as np

    good = [r for r in arm_rows if "error" not in r]
    if not good:
        return arm_rows[0]
    row = dict(good[0])
    row["epoch_seconds"] = [s for r in good for s in r["epoch_seconds"]]
    row["cpu_seconds"] = [s for r in good for s in r["cpu_seconds"]]
    seconds = float(np.median(row["epoch_seconds"]))
    row.update(steps_per_second=row["steps"] / seconds, samples_per_second=row["samples"] / seconds,
               cpu_ms_per_step=1000 * float(np.median(row["cpu_seconds"])) / row["steps"], rounds=len(good),
               failed_rounds=len(arm_rows) - len(good), round_steps_per_second=[r["steps_per_second"] for r in good])
    return row


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = ["# Training on several devices: steps/s with and without MirroredStrategy", "",
             f"Command: `{meta['command']}` ({meta['date']}, {meta['wall_seconds']:.0f} s; load average "
             f"{meta['load_start']:.1f} at the start, {meta['load_end']:.1f} at the end).", "",
             f"Machine: {meta['machine']}.", ""]
    if meta.get("note"):
        lines += [meta["note"], ""]
    lines += [_doc_body(), "",
              "| model | arm | replicas | global batch | steps/epoch | timed epochs | steps/s | each round | "
              "vs one device | CPU ms/step | vs one device |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model in meta["models"]:
        rows = [r for r in results["rows"] if r["model"] == model]
        base = next((r for r in rows if "error" not in r and r["arm"] in ("one device", "one GPU")), None)
        for r in rows:
            if "error" in r:
                lines.append(f"| {model} | {r['arm']} | | | | | error: {r['error']} | | | | |")
                continue
            speed = f"{r['steps_per_second'] / base['steps_per_second']:.2f}x" if base else ""
            cost = f"{r['cpu_ms_per_step'] / base['cpu_ms_per_step']:.2f}x" if base else ""
            lines.append(f"| {model} | {r['arm']} | {r['replicas']} | {r['global_batch']} | {r['steps']} | "
                         f"{len(r['epoch_seconds'])} | {r['steps_per_second']:.2f} | "
                         f"{' / '.join(f'{x:.2f}' for x in r.get('round_steps_per_second', []))} | {speed} | "
                         f"{r['cpu_ms_per_step']:.0f} | {cost} |")
    lines += ["", "Sizes: " + "; ".join(f"{m}: {s}" for m, s in meta["sizes"].items()) + ".", ""]
    if not meta["gpu"]:
        lines += ["**No GPU was available**, so the measurement that matters for real use, one GPU with and "
                  "without `MirroredStrategy` (and the speed-up on several GPUs), was not made. The same command "
                  "on a GPU machine measures it: its arms become one GPU, `MirroredStrategy` on that GPU, and "
                  "`MirroredStrategy` on every GPU.", "",
                  "What a 2-core CPU can show: the two logical CPU devices share the same two cores, so the "
                  "rows measure what the replication costs (splitting each global batch, running the step on "
                  "each replica, all-reducing the gradients), in CPU time per step above all; a wall-clock "
                  "gain can only come from the two half-batch steps overlapping on cores that one step leaves "
                  "idle, not from extra hardware. Other jobs share the machine: each round's steps/s shows the "
                  "noise, and ratios within a run are what to read, not the absolute rates. A recurrent "
                  "model iterates every frame on each replica: on a CPU a recurrent step costs about the same "
                  "at any batch size, so two replicas running the whole frame loop on half a batch each can "
                  "cost up to twice the CPU time of one; a convolutional model's work divides with the "
                  "batch.", ""]
    return "\n".join(lines)


def _doc_body() -> str:
    import textwrap

    body = __doc__.split("\n\n", 2)[2]
    return textwrap.dedent(body.rsplit("\nWrites", 1)[0]).strip()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(measure_arm(spec["arm"], spec["model"], spec["repeats"], spec["batches"]), default=float))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    from benchmarks.perf import report

    started, load_start = time.perf_counter(), os.getloadavg()[0]
    gpu = _has_gpu()
    arms = GPU_ARMS if gpu else CPU_ARMS
    rows, sizes = [], {}
    for model in args.models:
        runs = {arm: [] for arm in arms}
        for r in range(args.rounds):
            for arm in (arms if r % 2 == 0 else arms[::-1]):
                log.info("== %s: %s (round %d)", model, arm, r + 1)
                row = run_arm(arm, model, args.repeats, args.batches)
                runs[arm].append(row)
                sizes.setdefault(model, row.get("size"))
                if "error" not in row:
                    log.info("   %.2f steps/s (%d replicas)", row["steps_per_second"], row["replicas"])
        rows += [_combine(arm_rows) for arm_rows in runs.values()]
    machine = report.machine()
    words = sys.argv[1:] if argv is None else list(argv)
    results = {"meta": {
        "command": " ".join(["python -m benchmarks.perf.distribute", *map(shlex.quote, words)]),
        "date": datetime.date.today().isoformat(), "wall_seconds": time.perf_counter() - started,
        "load_start": load_start, "load_end": os.getloadavg()[0], "note": args.note, "gpu": gpu,
        "models": list(args.models), "sizes": sizes,
        "machine": f"{machine['cpu']}, {machine['cores_usable']} usable cores, {machine['os']}, Python "
                   f"{machine['python']}, TensorFlow {machine['libraries'].get('tensorflow')}, Keras "
                   f"{machine['libraries'].get('keras')}, GPUs: {', '.join(machine['gpus']) or 'none'}"},
        "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (out / "distribute.md").write_text(text + "\n")
    (out / "distribute.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
