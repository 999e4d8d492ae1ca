"""``python -m zoo.explain <analysis> --model NAME --weights W.weights.h5 --corpus synthetic``

Analyses: ``intersection`` (Kumar et al. 2021 Sec. 2.2), ``shapley`` (ParallelNet Sec. 3.3),
``attention`` (Jalal et al. 2020 Sec. 5.1). Each writes PNGs and ``summary.md`` (with the
command that produced them) into ``--out``.

The model is rebuilt exactly as :mod:`zoo.experiment` built it for training (recipe, profile
build overrides, label set, text vocabulary of the fold's training part), so a
``final.weights.h5`` of ``python -m benchmarks`` loads. ``--train`` trains it first with the
same experiment (resumable: a finished run is reused) into ``--runs``. ``--weights`` takes a ``.weights.h5`` path, or a release name of ``zoo.weights`` (the
release's own builder arguments, extractors and labels are used).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

log = logging.getLogger("zoo.explain")
ANALYSES = ("intersection", "shapley", "attention")


# ----------------------------------------------------------------------------- setup
@dataclasses.dataclass
class Setup:
    """Everything the analyses need: the model with its weights, the fold and its features."""

    name: str
    spec: object
    model: object
    recipe: object
    label_set: list
    fold: object
    extractors: dict
    cache: object
    weights: str

    def table(self, records):
        from zoo import pipeline

        return pipeline.compute_features(records, self.extractors, cache=self.cache, on_error="skip")


def build_arguments(text: Optional[str]) -> dict:
    """``--build`` JSON; a string value ``"python:package.module.attribute"`` is imported
    (e.g. a callable ParallelNet backbone, :func:`zoo.explain.example_models.small_cnn`)."""
    import importlib

    kwargs = json.loads(text or "{}")
    if not isinstance(kwargs, dict):
        raise SystemExit(f"--build must be a JSON object, got {text!r}")
    for key, value in kwargs.items():
        if isinstance(value, str) and value.startswith("python:"):
            module, _, attribute = value[len("python:"):].rpartition(".")
            kwargs[key] = getattr(importlib.import_module(module), attribute)
    return kwargs


def release_names() -> List[str]:
    """Release names of ``zoo.weights`` (none when that module is absent or has no manifest)."""
    try:
        from zoo import weights as releases

        return list(releases.releases())
    except Exception:  # no zoo.weights, or no readable manifest: paths only
        return []


def prepare(args) -> Setup:
    """Rebuild the experiment's model for fold ``args.fold`` and load (or train) its weights, or
    load a ``zoo.weights`` release with its own builder arguments and extractors."""
    from zoo import experiment, profiles, registry

    release = None
    if args.weights and not os.path.isfile(args.weights) and args.weights in release_names():
        from zoo import weights as releases

        release = releases.get(args.weights)
        args.model = args.model or f"{release['model']}:{release['variant']}"
    if not args.model:
        raise SystemExit("give --model (or a release name as --weights)")
    spec = registry.get_spec(args.model)
    profile = profiles.get(args.profile)
    if args.utterances_in_corpus:
        profile = dataclasses.replace(profile, utterances=args.utterances_in_corpus)
    extra_build = build_arguments(args.build)
    model_name = spec.name
    profile = dataclasses.replace(  # --build and the training overrides, as the experiment takes them
        profile, build={**profile.build, model_name: {**profile.build.get(model_name, {}), **extra_build}},
        epochs={**profile.epochs, **({model_name: args.epochs} if args.epochs else {})},
        learning_rate={**profile.learning_rate, **({model_name: args.learning_rate} if args.learning_rate else {})},
        batch_size={**profile.batch_size, **({model_name: args.batch_size} if args.batch_size else {})})
    protocol = args.protocol or (release or {}).get("protocol", {}).get("name")
    exp = experiment.prepare(args.model, args.corpus, args.root, profile=profile, protocol=protocol,
                             cache_dir=Path(args.cache))
    label_set = exp.label_set
    if release is not None and release["outputs"]["kind"] == "classes":
        label_set = list(release["outputs"]["labels"])
    if label_set is None:
        raise SystemExit(f"{args.model} predicts no classes; the analyses need a classifier")
    if not 0 <= args.fold < len(exp.folds):
        raise SystemExit(f"--fold {args.fold}: protocol {exp.protocol} has {len(exp.folds)} folds")
    fold = exp.folds[args.fold]

    if release is not None:
        from zoo import weights as releases

        model = releases.load(args.weights)
        extractors = releases.extractors(args.weights)
        return Setup(args.model, spec, model, exp.recipe, label_set, fold, extractors, exp.cache,
                     f"release {args.weights}")

    weights = args.weights
    if args.train:
        run_dir = Path(args.runs) / args.model.replace(":", "-") / f"{fold.name}-seed{args.seed}"
        weights = str(run_dir / "final.weights.h5")
        if not os.path.isfile(weights):  # a finished run is reused as it is
            exp.run_fold(fold, args.seed, run_dir)
    if weights is None:
        raise SystemExit("give --weights (a .weights.h5 of this model and build, or a release name) or --train")
    if not os.path.isfile(weights):
        known = release_names()
        raise FileNotFoundError(f"{weights}: no such weights file, and not a release name"
                                + (f" ({', '.join(known)})" if known else ""))
    extractors = exp.extractors(fold.train_records)
    model = exp.build(extractors, args.seed)
    model.load_weights(weights)
    return Setup(args.model, spec, model, exp.recipe, list(label_set), fold, extractors, exp.cache, weights)


# ----------------------------------------------------------------------------- analyses
def run_intersection(setup: Setup, args, out: Path) -> List[str]:
    from zoo import pipeline

    from . import intersection, plots

    records = setup.fold.train_records
    if args.max_samples and len(records) > args.max_samples:
        keep = np.random.default_rng(args.seed).choice(len(records), args.max_samples, replace=False)
        records = [records[i] for i in sorted(keep)]
    table = setup.table(records)
    options = {}
    if setup.spec.chunking is not None:  # fixed-length chunks (CSA, Jalal et al. Sec. 4.3.2)
        chunk = int(setup.model.inputs[0].shape[1])
        options["chunking"] = (chunk, setup.spec.chunking.overlap, setup.spec.chunking.drop_short)
    lengths = pipeline.length_inputs([t.name.split(":")[0] for t in setup.model.inputs])[1]
    data = pipeline.make_dataset(table, setup.label_set, batch_size=32, targets=("label",), prefetch=False,
                                 lengths=lengths, **options)
    layers = args.layers or intersection.default_layers(setup.model, setup.spec)
    results = intersection.intersection_matrix(setup.model, list(layers), data, class_names=setup.label_set)
    lines = ["## Intersection matrices (Kumar et al. 2021, Sec. 2.2, Eq. 6-9)", "",
             f"Outputs of each layer on the {len(table)} training utterances of fold `{setup.fold.name}` "
             "-> StandardScaler -> PCA(3) -> per class mean ± 2σ (population) per component -> "
             "overlap (Eq. 8) multiplied over the three components (Eq. 9). Lower off-diagonal values = "
             "better separated classes; Table 5 of the paper has them shrinking towards the output.", "",
             "| layer | mean off-diagonal | PCA variance explained |", "|---|---:|---:|"]
    for r in results:
        lines.append(f"| `{r.layer}` | {r.off_diagonal_mean():.4f} | {np.sum(r.explained_variance_ratio):.2f} |")
    for k, r in enumerate(results):
        heat = plots.plot_intersection(r, out / f"intersection_{k}_{r.layer}.png")
        scatter = plots.plot_embedding(r, out / f"embedding_{k}_{r.layer}.png")
        lines += ["", f"### `{r.layer}`", "", r.to_markdown(), "",
                  f"![intersection {r.layer}]({Path(heat).name}) ![embedding {r.layer}]({Path(scatter).name})"]
        if r.missing_classes:
            lines.append(f"\nClasses without training samples (n/a): {', '.join(r.missing_classes)}")
    return lines


def _speech_input(setup: Setup):
    for name, ex in setup.extractors.items():
        if ex.name in ("logmel_image", "fbank", "logmel", "mfcc_deltas"):
            return name, ex
    return None, None


def run_shapley(setup: Setup, args, out: Path) -> List[str]:
    from zoo import pipeline

    from . import plots, shapley

    records = setup.fold.test_records
    table = setup.table(records)
    rows = list(range(min(args.utterances, len(table))))
    speech_name, speech_ex = _speech_input(setup)
    lines = ["## Shapley values by divide and conquer (ParallelNet, Sec. 3.3, Eq. 3-5)", "",
             f"Score = probability of the ground-truth class; absent parts set to zero. Each input halved "
             f"{args.depth} times ({2 ** args.depth} parts per input; images: rows and columns in turn; speech: "
             + ("the time axis only" if args.speech_split == "time" else "mel bands and time in turn")
             + "); Eq. 3 at every "
             "split (Owen value of the binary tree), so the parts add up to score(x) - score(0) (Eq. 5). Speech: "
             f"the map averaged over frequency; steps under the {shapley.SPEECH_PERCENTILE:.0f}th percentile "
             "set to zero (grey in the waveform).", "",
             "| utterance | label | p(label) | p(label) all zero | " +
             " | ".join(f"S_{n}" for n in table.specs) + " | Σ parts | evaluations |",
             "|---|---|---:|---:|" + "---:|" * len(table.specs) + "---:|---:|"]
    figures, notes = [], []
    for i in rows:
        record = table.records[i]
        inputs = {n: np.asarray(table.features[n][i]) for n in table.specs}
        target = int(pipeline.label_ids([record], setup.label_set)[0])
        axes = None
        if speech_name is not None and args.speech_split == "time":  # 2^depth time segments
            axes = {speech_name: (1,) if speech_ex.name == "logmel_image" else (0,)}
        result = shapley.divide_and_conquer_shapley(setup.model, inputs, target, depth=args.depth, axes=axes)
        values = result.parts()
        cells = [f"{values.get(n, result.total):+.4f}" for n in table.specs]
        total = sum(float(m.sum()) for m in result.maps.values())
        lines.append(f"| `{record.utterance_id}` | {record.label} | {result.score_full:.4f} | "
                     f"{result.score_empty:.4f} | " + " | ".join(cells) + f" | {total:+.4f} | {result.evaluations} |")
        uid = record.utterance_id
        for name, ex in setup.extractors.items():
            if ex.name == "image":
                figures.append(plots.plot_image_importance(inputs[name], result.maps[name], out / f"shapley_{uid}_{name}.png",
                                                           title=f"{uid} {name} ({record.label})"))
        if speech_name is not None:
            time_axis = 1 if speech_ex.name == "logmel_image" else 0
            if speech_ex.name == "logmel_image":
                figures.append(plots.plot_image_importance(inputs[speech_name], result.maps[speech_name],
                                                           out / f"shapley_{uid}_{speech_name}.png",
                                                           title=f"{uid} log-mel ({record.label})", spectrogram=True))
            curve = shapley.time_importance(result.maps[speech_name], time_axis=time_axis)
            keep = shapley.keep_mask(curve)
            import librosa

            signal, sr = librosa.load(record.audio_path, sr=None, mono=True)
            text = None
            if args.transcribe:
                try:
                    text = shapley.transcribe(shapley.kept_audio(signal, keep), sr)
                except shapley.AsrUnavailable as error:
                    notes.append(f"Transcription skipped: {error}")
                    args.transcribe = False
            figures.append(plots.plot_speech_importance(
                signal, sr, curve, keep, out / f"shapley_{uid}_waveform.png",
                title=f"{uid} ({record.label}): important speech in red, transcript {record.transcript!r}",
                transcript=text))
            if text is not None:
                notes.append(f"`{uid}` kept speech transcribed: {text!r} (transcript: {record.transcript!r})")
    lines += [""] + notes + [""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    return lines


def _frame_times(setup: Setup, input_name: str, n_frames: int):
    from . import attention

    hop, offset = attention.frame_timing(setup.extractors[input_name])
    return attention.frame_centres(n_frames, hop, offset)


def run_attention(setup: Setup, args, out: Path) -> List[str]:
    from . import attention, plots

    over = attention.attention_inputs(setup.model, setup.spec)
    timed = {k: v for k, v in over.items() if v in setup.extractors and _is_timed(setup.extractors[v])}
    if not timed:
        raise SystemExit(f"{setup.name}: none of its attention is over audio frames")
    records = [r for r in setup.fold.test_records if r.extra.get("phseg")]
    if args.max_stat_utterances:
        records = records[:args.max_stat_utterances]
    if not records:
        raise SystemExit("no test utterance has a forced alignment (.phseg) to align the attention to")
    table = setup.table(records)
    per_curve = {k: [] for k in timed}
    figures = []
    probe = setup.spec.attention.probe(setup.model)
    for i, record in enumerate(table.records):
        inputs = {n: np.asarray(table.features[n][i]) for n in table.specs}
        weights = attention.attention_weights(setup.model, setup.spec, inputs, probe)
        phones = attention.read_alignment(record.extra["phseg"])
        words = attention.read_alignment(record.extra["wdseg"]) if record.extra.get("wdseg") else []
        centres = {k: _frame_times(setup, timed[k], len(weights[k])) for k in timed}
        for k in timed:
            per_curve[k].append((weights[k], centres[k], phones))
        if i < args.utterances:
            figures.append(plots.plot_attention({k: weights[k] for k in timed}, centres, phones, words,
                                                out / f"attention_{record.utterance_id}.png",
                                                title=f"{record.utterance_id} ({record.label}): {record.transcript}"))
    lines = ["## Attention over time vs phones (Jalal et al. 2020, Sec. 5.1)", "",
             f"{len(table)} test utterances of fold `{setup.fold.name}` with forced alignments. Each model frame "
             "is assigned to the phone holding its centre (alignment: 10 ms frames; "
             + ", ".join(f"`{name}`: hop {1000 * attention.frame_timing(setup.extractors[name])[0]:.1f} ms"
                         for name in sorted(set(timed.values()))) +
             "). Relative attention = weight x number of frames (1 = uniform).", "",
             "| attention | vowel frames | consonant frames | vowel (relative) | consonant (relative) | "
             "other (relative) | vowel / consonant |", "|---|---:|---:|---:|---:|---:|---:|"]
    stats_all = {}
    for k, items in per_curve.items():
        stats = attention.vowel_consonant_attention(items)
        stats_all[k] = stats
        lines.append(f"| `{k}` | {stats['vowel']['frames']} | {stats['consonant']['frames']} | "
                     f"{stats['vowel']['mean_relative']:.3f} | {stats['consonant']['mean_relative']:.3f} | "
                     f"{stats['other']['mean_relative']:.3f} | {stats['vowel_over_consonant']:.3f} |")
    first = next(iter(stats_all))
    bars = plots.plot_vowel_consonant(stats_all[first], out / "attention_vowel_consonant.png",
                                      title=f"{setup.name} {first}: mean relative attention")
    skipped = sorted(set(over) - set(timed))
    if skipped:
        lines += ["", f"Attention over text tokens or video frames (not aligned to phones): {', '.join(skipped)}."]
    lines += ["", f"![vowel vs consonant]({Path(bars).name})", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    (out / "vowel_consonant.json").write_text(json.dumps(stats_all, indent=1))
    return lines


def _is_timed(extractor) -> bool:
    from . import attention

    try:
        attention.frame_timing(extractor)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- main
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m zoo.explain", description=__doc__.split("\n\n")[0])
    p.add_argument("analysis", choices=ANALYSES)
    p.add_argument("--model", default=None, help="registry name, model[:variant] (optional with a release)")
    p.add_argument("--weights", help=".weights.h5 path (or a zoo.weights release name)")
    p.add_argument("--train", action="store_true", help="train with zoo.experiment first (resumable)")
    p.add_argument("--corpus", default="synthetic", help="synthetic (built-in), iemocap, ... (as python -m benchmarks)")
    p.add_argument("--root", default=None, help="corpus root (synthetic: where to generate it)")
    p.add_argument("--profile", default="smoke", choices=("smoke", "paper"),
                   help="the benchmark profile whose build overrides the weights were trained with")
    p.add_argument("--build", default=None,
                   help='extra builder arguments as JSON; "python:pkg.module.attr" values are imported')
    p.add_argument("--epochs", type=int, default=None, help="--train: epochs instead of the profile's")
    p.add_argument("--learning-rate", type=float, default=None, help="--train: learning rate instead of the profile's")
    p.add_argument("--batch-size", type=int, default=None, help="--train: batch size instead of the profile's")
    p.add_argument("--protocol", default=None)
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--utterances-in-corpus", type=int, default=None, help="size of the synthetic corpus")
    p.add_argument("--out", default="explain_out")
    p.add_argument("--runs", default=str(Path("~/.cache/zoo/explain_runs").expanduser()))
    p.add_argument("--cache", default=os.environ.get("ZOO_FEATURE_CACHE", str(Path("~/.cache/zoo/features").expanduser())),
                   help="feature cache folder (default $ZOO_FEATURE_CACHE or ~/.cache/zoo/features)")
    p.add_argument("--layers", nargs="*", help="intersection: layer names (default: the model's last three)")
    p.add_argument("--max-samples", type=int, default=None, help="intersection: subsample the training part")
    p.add_argument("--utterances", type=int, default=2, help="shapley/attention: utterances to plot")
    p.add_argument("--depth", type=int, default=4, help="shapley: halvings per input")
    p.add_argument("--speech-split", choices=("time", "both"), default="time",
                   help="shapley: halve the speech input along time only, or mel bands and time in turn")
    p.add_argument("--transcribe", action="store_true", help="shapley: transcribe the kept speech (asr extra)")
    p.add_argument("--max-stat-utterances", type=int, default=None,
                   help="attention: limit the utterances of the vowel/consonant statistics")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    from zoo.cli import quiet_tensorflow

    quiet_tensorflow()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    setup = prepare(args)
    run = {"intersection": run_intersection, "shapley": run_shapley, "attention": run_attention}[args.analysis]
    body = run(setup, args, out)
    head = [f"# {args.analysis}: `{args.model}` on `{args.corpus}`", "",
            "Produced by:", "", "```", ("python -m zoo.explain " + " ".join(shlex.quote(a) for a in argv)).replace(str(Path.home()), "~"), "```", "",
            f"Weights `{str(setup.weights).replace(str(Path.home()), '~')}`"
            + (" (trained by `zoo.experiment` with the profile and overrides of the command above, unless that "
               "run had already finished)" if args.train else "") + f"; classes {', '.join(setup.label_set)}; fold `{setup.fold.name}` "
            f"({len(setup.fold.train_records)} train / {len(setup.fold.test_records)} test utterances); "
            f"profile `{args.profile}`.", ""]
    (out / "summary.md").write_text("\n".join(head + body) + "\n", encoding="utf-8")
    print(out / "summary.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
