"""Benchmark outputs: results.json, results.md (paper tables + the zoo-wide table) and one
confusion-matrix PNG per run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks import tables


def _atomic_write(path: Path, text: str) -> None:
    from zoo.io import atomic_write_text

    atomic_write_text(path, text)


def portable(text: str, home=None) -> str:
    """``text`` with the user's home folder written ``~``: the loaders name skipped files by
    their full path (the built-in corpus lives in ``~/.cache/zoo``), and a published result must
    not carry the path of the machine that made it."""
    home = str(home if home is not None else Path.home()).rstrip("/")
    if not home:  # a home of "/" would turn every absolute path into "~..."
        return text
    return text.replace(home + "/", "~/")


def confusion_png(path: Path, matrix, labels, title: str) -> None:
    """A confusion-matrix heat map (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(3.2 + 0.35 * len(labels), 3.0 + 0.35 * len(labels)))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=labels).plot(
        ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def system_combinations(results: dict) -> dict:
    """``{combination name: (combination, runs)}`` for every spec with a system combination whose
    partner ran too (e.g. BLSTMATT x CSA^0.4, Jalal et al. 2020 Sec. 5), per fold/seed both ran."""
    from zoo import experiment, metrics, registry

    out = {}
    for name, res in results.items():
        if experiment.is_baseline(name):
            continue
        combination = registry.get_spec(name).combination
        if combination is None or combination.partner not in results:
            continue
        by_key = {(r["fold"], r["seed"]): r for r in res["runs"] if "posteriors" in r}
        runs = []
        for b in results[combination.partner]["runs"]:
            c = by_key.get((b["fold"], b["seed"]))
            if c is None or "posteriors" not in b:
                continue
            # A chunked model leaves utterances shorter than a chunk out: combine on those both scored.
            rows_c = {u: i for i, u in enumerate(c["test_ids"])}
            shared = [(i, rows_c[u]) for i, u in enumerate(b["test_ids"]) if u in rows_c]
            ib, ic = (np.array(x, dtype=int) for x in zip(*shared))
            probs = combination.combine(b["posteriors"][ib], c["posteriors"][ic])
            report = metrics.classification_report(b["y_true"][ib], probs, labels=list(range(probs.shape[1])))
            runs.append({"model": combination.name, "fold": b["fold"], "seed": b["seed"], "n_test": len(shared),
                         "metrics": {k: v for k, v in report.items() if isinstance(v, (int, float))}})
        if runs:
            out[combination.name] = (combination, runs)
    return out


def _extra_caption(extra: dict) -> str:
    """Multi-corpus training: what each fold's training part gains."""
    per_class = ", ".join(f"{n} {label}" for label, n in extra.get("per_class", {}).items())
    return (f", every fold's training part with all {extra['records']} utterances of `{extra['name']}` "
            f"({extra['speakers']} speakers{': ' + per_class if per_class else ''}) added; validation and "
            f"test speakers from the first corpus only")


def _caption(setup: dict, meta: dict) -> str:
    overrides = setup.get("build_overrides") or {}
    skipped = (setup.get("skipped_by_features") or {}).get("total_skipped", 0)  # LoadReport.to_dict()
    used = f"{setup['records']} utterances" + (f", {skipped} of them skipped by the features" if skipped else "")
    bits = [f"corpus `{meta['corpus']}` ({used}"
            + (f", classes {', '.join(setup['label_set'])}" if setup.get("label_set") else "") + ")",
            f"protocol `{setup['protocol']}` ({setup['folds']} folds run)"
            + (_extra_caption(setup["extra_corpus"]) if setup.get("extra_corpus") else ""),
            f"profile `{meta['profile']}`: {setup['epochs']} epochs, lr {setup['learning_rate']}"]
    if overrides:
        bits.append("builder overrides " + ", ".join(f"`{k}={v}`" for k, v in overrides.items()))
    for name, options in (setup.get("feature_overrides") or {}).items():
        bits.append(f"feature `{name}` overrides " + ", ".join(f"`{k}={v}`" for k, v in options.items()))
    if setup.get("callbacks"):
        bits.append("callbacks " + ", ".join(f"{c[0]}({', '.join(f'{k}={v}' for k, v in c[1].items())})"
                                            for c in setup["callbacks"]))
    if setup.get("text_embedding"):
        bits.append(f"word embedding initialised from {setup['text_embedding']}")
    if setup.get("class_weights"):
        bits.append(f"{setup['class_weights']} class weights")
    if setup.get("augment"):
        bits.append(setup["augment"])
    if setup.get("pretrained"):
        done = setup["pretrained"]
        bits.append(f"{done['description']}: {done['faces']} faces, validation accuracy "
                    f"{done['validation_accuracy']:.3f} at epoch {done['best_epoch']} of {done['epochs_run']}")
    return "; ".join(bits) + ". Ours: mean ± sample std over folds × seeds."


def write(out: Path, results: dict, meta: dict) -> str:
    """Write every output under ``out`` and return the markdown."""
    from zoo import experiment, registry

    out.mkdir(parents=True, exist_ok=True)
    (out / "confusion").mkdir(exist_ok=True)
    all_runs = [run for res in results.values() for run in res["runs"]]
    combinations = system_combinations(results)
    combined = [run for _, runs in combinations.values() for run in runs]
    sections = [f"# Benchmark: profile `{meta['profile']}` on `{meta['corpus']}`", "",
                f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}; date {meta['date']}; "
                f"wall time {meta['wall_seconds']:.0f} s.  ", f"Profile: {meta['profile_description']}", "",
                "## All models", ""]
    aggregated = tables.aggregate(all_runs + combined)
    extra = {}
    for name, res in results.items():
        runs = res["runs"]
        spe = [r["seconds_per_epoch"] for r in runs if r.get("seconds_per_epoch")]
        extra[name] = {"parameters": f"{runs[0]['parameters']:,}" if runs and runs[0]["parameters"] else "",
                       "s/epoch": f"{np.mean(spe):.1f}" if spe else "", "protocol": res["setup"]["protocol"]}
    # The classifiers' label sets (each model's default unless --classes): rows of different
    # classes are not comparable. Regression models (DSER's V/A/D) have none and are left out.
    label_sets = {name: tuple(res["setup"]["label_set"]) for name, res in results.items()
                  if res["setup"].get("label_set")}
    mixed = len(set(label_sets.values())) > 1
    if mixed:
        for name, labels in label_sets.items():
            extra[name]["classes"] = str(len(labels))
    sections += [tables.zoo_table(aggregated, extra, caption=f"corpus `{meta['corpus']}`, profile "
                                  f"`{meta['profile']}`; mean ± sample std over folds × seeds"), ""]
    if mixed:
        groups = {}
        for name, labels in label_sets.items():
            groups.setdefault(labels, []).append(f"`{name}`")
        sections += ["**The models ran on different label sets; rows of different classes are not comparable** "
                     "(`--classes` gives every model the same): "
                     + "; ".join(f"{', '.join(names)}: {', '.join(labels)}" for labels, names in groups.items())
                     + ".", ""]
    sections += ["## Each paper", ""]
    for name, res in results.items():
        if experiment.is_baseline(name):
            caption = f"classic baseline on the same folds: {res['setup']['baseline']}; " + _caption(res["setup"], meta)
            sections += [tables.baseline_table(name, aggregated.get(name, {}), caption), ""]
        else:
            paper = registry.paper_of(name)  # this variant's own numbers, or None
            sections += [tables.paper_table(name, aggregated.get(name, {}), paper, _caption(res["setup"], meta)), ""]
        for run in res["runs"]:
            if "confusion_matrix" in run:
                png = out / "confusion" / f"{name.replace(':', '-')}-{run['fold']}-seed{run['seed']}.png"
                confusion_png(png, run["confusion_matrix"], res["setup"]["label_set"],
                              f"{name} {run['fold']} seed {run['seed']}")
    for combo_name, (combination, _) in combinations.items():
        sections += [tables.paper_table(combo_name, aggregated[combo_name], combination.paper,
                                        combination.description), ""]
    markdown = "\n".join(sections)
    serialisable = {name: {"setup": res["setup"],
                           "runs": [{k: v for k, v in r.items() if k not in ("posteriors", "y_true", "test_ids")}
                                    for r in res["runs"]]} for name, res in results.items()}
    for combo_name, (_, runs) in combinations.items():
        serialisable[combo_name] = {"runs": runs}
    _atomic_write(out / "results.json", portable(json.dumps({"meta": meta, "results": serialisable}, indent=1,
                                                            default=str)))
    markdown = portable(markdown)
    _atomic_write(out / "results.md", markdown + "\n")
    return markdown
