"""The benchmark report prints a paper's number only beside the variant it belongs to."""
from benchmarks import report


def fake(name, accuracy=0.5):
    runs = [{"model": name, "fold": "f0", "seed": 0, "parameters": 10, "seconds_per_epoch": 1.0,
             "metrics": {"overall_accuracy": accuracy, "mean_class_recall": accuracy}}]
    setup = {"protocol": "speaker_kfold", "folds": 1, "records": 10, "label_set": None, "epochs": 1,
             "learning_rate": 1e-3}
    return {"runs": runs, "setup": setup}


META = {"command": "test", "profile": "smoke", "profile_description": "t", "corpus": "c", "machine": "m",
        "date": "d", "wall_seconds": 1.0}


def section(markdown, name):
    start = markdown.index(f"**{name}** —")
    rest = markdown[start + 1:]
    end = rest.find("\n**")
    return rest if end < 0 else rest[:end]


def test_parallelnet_baselines_and_csa_chunks_get_their_own_rows(tmp_path):
    results = {n: fake(n) for n in ("parallelnet", "parallelnet:baseline1", "parallelnet:speech_only",
                                    "csa:chunk40", "csa:conv1d")}
    md = report.write(tmp_path, results, META)
    assert "| `overall_accuracy` | 0.500 | 0.833 |" in section(md, "parallelnet")
    baseline = section(md, "parallelnet:baseline1")
    assert "| `overall_accuracy` | 0.500 | 0.639 |" in baseline and "0.833" not in baseline
    assert "| `overall_accuracy` | 0.500 | 0.602 |" in section(md, "parallelnet:speech_only")
    chunk40 = section(md, "csa:chunk40")
    assert "| `overall_accuracy` | 0.500 | 0.751 |" in chunk40 and "0.763" not in chunk40
    conv1d = section(md, "csa:conv1d")
    assert "no number in the paper for this variant" in conv1d and "0.763" not in conv1d


def test_models_on_different_label_sets_are_flagged_in_the_zoo_table(tmp_path):
    four, seven = ["angry", "happy", "neutral", "sad"], ["angry", "disgust", "fearful", "happy", "neutral", "sad",
                                                        "surprised"]
    results = {"blstmatt": fake("blstmatt"), "amh:audio_only": fake("amh:audio_only"), "dser": fake("dser")}
    results["blstmatt"]["setup"]["label_set"], results["amh:audio_only"]["setup"]["label_set"] = four, seven
    md = report.write(tmp_path, results, META)
    table = md[md.index("## All models"):md.index("## Each paper")]
    assert "| protocol | classes |" in table
    assert "| `blstmatt` |" in table and table.split("| `blstmatt` |")[1].split("\n")[0].endswith("| 4 |")
    assert table.split("| `amh:audio_only` |")[1].split("\n")[0].endswith("| 7 |")
    assert table.split("| `dser` |")[1].split("\n")[0].endswith("|  |")  # a regressor: no label set
    assert ("not comparable** (`--classes` gives every model the same): `blstmatt`: angry, happy, neutral, sad; "
            "`amh:audio_only`: angry, disgust, fearful, happy, neutral, sad, surprised.") in table
    results["amh:audio_only"]["setup"]["label_set"] = four  # the same classes: no column, no warning
    same = report.write(tmp_path, results, META)
    assert "not comparable" not in same and "classes |" not in same[same.index("## All models"):same.index("## Each")]


def test_published_results_name_skipped_files_without_the_machines_home(tmp_path, monkeypatch):
    home = tmp_path / "home" / "someone"
    monkeypatch.setattr(report.Path, "home", classmethod(lambda cls: home))
    results = {"blstmatt": fake("blstmatt")}
    skipped = f"{home}/.cache/zoo/synthetic/Session1/a.txt:3: no such utterance"
    results["blstmatt"]["setup"]["skipped_by_loader"] = {"total_skipped": 1, "skipped": {"x": 1},
                                                         "examples": {"x": [skipped]}}
    report.write(tmp_path / "out", results, {**META, "command": f"python -m benchmarks --root {home}/corpus"})
    written = (tmp_path / "out" / "results.json").read_text() + (tmp_path / "out" / "results.md").read_text()
    assert str(home) not in written
    assert "~/.cache/zoo/synthetic/Session1/a.txt:3: no such utterance" in written
    assert "--root ~/corpus" in written
    # Only the home folder as a whole is rewritten: a sibling that merely starts with its name stays.
    assert report.portable(f"{home}2/x {home}/y", home=home) == f"{home}2/x ~/y"
    assert report.portable("/data/x", home="/") == "/data/x"
