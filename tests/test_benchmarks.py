"""The benchmark runner end to end on a tiny built-in corpus, and its markdown tables."""
import json

import numpy as np
import pytest

from benchmarks import report, runner, tables
from zoo import profiles
from zoo.recipe import Paper


def test_mean_std_and_tables():
    assert tables.mean_std([0.5]) == "0.500"
    assert tables.mean_std([0.4, 0.6]) == "0.500 ± 0.141"  # sample std over runs (ddof=1)
    assert tables.mean_std([]) == "—"
    runs = [{"model": "m", "metrics": {"overall_accuracy": 0.4, "mean_class_recall": 0.3}},
            {"model": "m", "metrics": {"overall_accuracy": 0.6, "mean_class_recall": 0.5}}]
    agg = tables.aggregate(runs)
    paper = Paper(citation="A. Author. Title. 2020.", short="Author 2020", dataset="IEMOCAP", protocol="LOSO",
                  reported={"overall_accuracy": 0.7}, paper_names={"overall_accuracy": "WA"})
    md = tables.paper_table("m", agg["m"], paper, "caption")
    assert "| `overall_accuracy` | 0.500 ± 0.141 | 0.700 | WA |" in md
    assert "| `mean_class_recall` | 0.400 ± 0.141 | — |  |" in md
    zoo = tables.zoo_table(agg, {"m": {"parameters": "12"}})
    assert zoo.splitlines()[-1] == "| `m` | 0.500 ± 0.141 | 0.400 ± 0.141 | 12 |"


TINY = profiles.Profile(
    name="tiny", description="test", seeds=(0,), max_folds=1, epochs={"blstmatt": 2},
    build={"blstmatt": {"lstm_units": 4, "attention_units": 4}}, batch_size={"blstmatt": 8},
    learning_rate={"blstmatt": 1e-2}, utterances=40)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    kwargs = dict(profile=TINY, out_runs=base / "runs", cache_dir=base / "cache")
    first = runner.run_model("blstmatt", "synthetic", str(base / "corpus"), **kwargs)
    again = runner.run_model("blstmatt", "synthetic", str(base / "corpus"), **kwargs)
    return base, first, again


def test_runner_trains_evaluates_and_resumes(tiny_run):
    base, first, again = tiny_run
    (run,) = first["runs"]
    assert first["setup"]["protocol"] == "session5" and first["setup"]["label_set"] == ["angry", "happy", "sad", "neutral"]
    assert run["epochs_run"] == 2 and run["n_test"] > 0 and run["n_train"] > run["n_test"]
    assert set(run["metrics"]) >= {"overall_accuracy", "mean_class_recall", "macro_f1", "cohen_kappa"}
    assert np.asarray(run["confusion_matrix"]).sum() == run["n_test"]
    assert (base / "runs" / "blstmatt" / f"{run['fold']}-seed0" / "final.weights.h5").exists()
    (resumed,) = again["runs"]
    assert resumed["train_seconds"] is None  # the finished run was not trained again
    # ... but it keeps the seconds per epoch its checkpoints recorded.
    assert run["seconds_per_epoch"] > 0 and resumed["seconds_per_epoch"] == run["seconds_per_epoch"]
    assert resumed["metrics"] == pytest.approx(run["metrics"])
    assert first["setup"]["cache"]["misses"] > 0 and again["setup"]["cache"]["misses"] == 0


def test_report_writes_tables_json_and_confusion_pngs(tiny_run, tmp_path):
    _, first, _ = tiny_run
    meta = {"command": "python -m benchmarks --test", "profile": "tiny", "profile_description": "test",
            "corpus": "synthetic", "machine": runner.machine(), "date": "2026-11-22", "wall_seconds": 1.0}
    markdown = report.write(tmp_path, {"blstmatt": first}, meta)
    assert "**blstmatt** — M. A. Jalal" in markdown and "| `overall_accuracy` |" in markdown
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["command"] == meta["command"]
    assert "posteriors" not in saved["results"]["blstmatt"]["runs"][0]
    assert len(list((tmp_path / "confusion").glob("blstmatt-*.png"))) == 1
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark")


def test_recipe_truncation_reaches_the_pipeline():
    from zoo import amh, registry

    assert amh.RECIPE.truncate == {"audio": 750, "text": 128, "video": 25}
    assert registry.recipe_of("amh:audio_text").truncate["audio"] == 750
