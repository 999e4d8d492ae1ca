"""The README's "Pretrained weights" table, generated from the manifest (``python -m zoo.weights table``)."""
from __future__ import annotations

from typing import Iterable

# Our metric names -> the short column text (the full names are in the legend under the table).
SHORT = {"overall_accuracy": "acc", "mean_class_recall": "mean recall", "macro_f1": "macro-F1",
         "ccc_valence": "CCC V", "ccc_arousal": "CCC A", "ccc_dominance": "CCC D"}
HEADLINE = {"classes": ("overall_accuracy", "mean_class_recall", "macro_f1"),
            "regression": ("ccc_valence", "ccc_arousal", "ccc_dominance")}


def _metrics(entry: dict) -> str:
    keys = [k for k in HEADLINE[entry["outputs"]["kind"]] if k in entry["metrics"]]
    cells = []
    for k in keys:
        m = entry["metrics"][k]
        cells.append(f"{SHORT[k]} {m['mean']:.3f}" + (f" ± {m['std']:.3f}" if m["n"] > 1 else " (one split)"))
    return "<br>".join(cells)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


RULE_SHORT = {"all": "weights trained on all speakers", "fold0": "weights of fold 0, seed 0"}


def _trained_on(entry: dict) -> str:
    corpus, protocol = entry["corpus"], entry["protocol"]
    folds, total, seeds = protocol["folds"], protocol.get("folds_total", protocol["folds"]), len(protocol["seeds"])
    cv = f"{folds} of {total} folds" if total != folds else f"{folds} folds"
    extra = corpus.get("extra")
    if extra:  # multi-corpus: the CV tests the first corpus; the extra one only trains
        return (f"{corpus['name']} + {extra['name']} ({corpus.get('utterances', '?')} utt., {extra['utterances']} of "
                f"them {extra['name']}'s)<br>CV: {protocol['name']} on {corpus['name']}'s speakers, {cv} × {seeds} "
                f"seed{'s' if seeds > 1 else ''}, {extra['name']} in every training part"
                f"<br>{RULE_SHORT.get(protocol['release_rule'], protocol['release_rule'])}")
    return (f"{corpus['name']} ({corpus.get('utterances', '?')} utt.)<br>CV: {protocol['name']}, {cv} × {seeds} "
            f"seed{'s' if seeds > 1 else ''}<br>{RULE_SHORT.get(protocol['release_rule'], protocol['release_rule'])}")


def _outputs(entry: dict) -> str:
    outputs = entry["outputs"]
    names = outputs["labels"] if outputs["kind"] == "classes" else outputs["targets"]
    return ", ".join(names)


def _file(entry: dict) -> str:
    from zoo.weights.storage import describe, storage_of

    where = "committed" if entry["committed"] else ("download" if entry.get("url") else "not committed: run the command")
    stored = "" if storage_of(entry) == "full" else f"<br>{describe(entry)}"
    return f"`{entry['file']}`<br>{_size(entry['size'])}, {where}{stored}<br>sha256 `{entry['sha256'][:12]}…`"


def markdown_table(entries: Iterable[dict]) -> str:
    """One row per release: name, model, training data and CV protocol, outputs, CV metrics
    (mean ± std over folds × seeds), parameters, file, licence; then the legend."""
    rows = ["| release | model | trained on | outputs (index order) | CV metrics (mean ± std) | parameters | file | licence |",
            "|---|---|---|---|---|---:|---|---|"]
    from zoo.registry import MODEL_MODULES

    order = {m: i for i, m in enumerate(MODEL_MODULES)}
    entries = sorted(entries, key=lambda e: (order.get(e["model"], len(order)), e["variant"] != "default",
                                             e["corpus"]["name"] != "synthetic", e["name"]))
    for e in entries:
        model = e["model"] + ("" if e["variant"] == "default" else f":{e['variant']}")
        rows.append(f"| `{e['name']}` | `{model}` ({e['recipe']['profile']} profile) | {_trained_on(e)} | "
                    f"{_outputs(e)} | {_metrics(e)} | {e['parameters']:,} | {_file(e)} | {e['licence']['weights']} |")
    legend = ("\nacc = overall accuracy, mean recall = mean of per-class recalls (unweighted), macro-F1, CCC = "
              "concordance correlation coefficient over the whole test set; mean ± sample std over the CV "
              "folds × seeds (speaker-independent). Smoke-profile releases use reduced widths and few epochs "
              "(see each entry's `recipe` and `notes` in `weights/manifest.json`): they are for trying the "
              "API and fine-tuning, not paper reproductions. Load one with "
              "`zoo.weights.load(\"<release>\")`; `python -m zoo.weights release ...` (the entry's `command`) "
              "recreates a file that is not committed. A file marked \"trainable part only\" holds the layers "
              "outside a frozen encoder that the builder loads from its preset (checked by the sha256 of its "
              "weights); a \"float16 copy\" loads into the float32 model (`storage` in the manifest).")
    if not entries:
        return "\n".join(rows) + "\n\n(no releases yet)"
    return "\n".join(rows) + "\n" + legend
