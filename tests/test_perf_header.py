"""benchmarks.perf: the one header (benchmarks.perf.report.header) the results markdowns start with."""
from benchmarks.perf import export, predict, report

META = {"command": "python -m benchmarks.perf.x --repeats 3", "date": "2026-01-01", "wall_seconds": 12.4,
        "load_start": 1.25, "load_end": 2.0, "cpu": "Some CPU", "cores": 2, "python": "3.11.9",
        "libraries": {"tensorflow": "2.18", "keras": "3.8", "soxr": None}, "note": "Busy machine."}


def _expected(title, machine):
    return [title, "", "Busy machine.", "", "command: `python -m benchmarks.perf.x --repeats 3`  ",
            "date: 2026-01-01, wall time 12 s  ", f"machine: {machine}  ",
            "load average (1 min) at start / end: 1.2 / 2.0  ",
            "Python 3.11.9; tensorflow 2.18, keras 3.8", ""]  # an absent library is left out


def test_export_markdown_header_and_per_call_lines():
    cols = ["predict", "onnx"]
    row = {"release": "r1", "median": dict.fromkeys(cols, 0.01), "min": dict.fromkeys(cols, 0.009),
           "max": dict.fromkeys(cols, 0.02), "export_seconds": {"onnx": 1.0}, "size_mb": {"onnx": 2.0},
           "max_diff": {"onnx": 1e-6}, "runs": {"predict": [0.01, 0.011], "onnx": [0.02]}, "label": "angry"}
    meta = {**META, "threads": 4, "repeats": 3, "formats": ["onnx"], "skipped": [], "clip": "c.wav"}
    lines = export.markdown(meta, [row]).splitlines()
    assert lines[:10] == _expected("# wav -> probabilities: `zoo.predict` vs exported waveform-in artefacts "
                                   "(4 s clip)", "Some CPU, 2 CPU cores; LiteRT / onnxruntime threads: 4")
    assert lines[-2:] == ["- `r1`, zoo.predict: [0.01, 0.011]", "- `r1`, ONNX: [0.02]"]


def test_predict_markdown_header_and_per_call_lines():
    row = {"release": "r2", "clips": {c: {"median": 0.1, "min": 0.09, "max": 0.2, "runs": [0.1, 0.2]}
                                      for c in ("16k", "44k")},
           "load_seconds": 1.5, "first_call_seconds": 0.7}
    meta = {**META, "repeats": 2, "cli": False, "audio": None, "clips": {"16k": "/t/a.wav", "44k": "/t/b.wav"}}
    lines = predict.markdown(meta, [row]).splitlines()
    assert lines[:10] == _expected("# `zoo predict` latency on a 4 s clip", "Some CPU, 2 CPU cores")
    assert lines[-2:] == ["- `r2`, 16k: [0.1, 0.2]", "- `r2`, 44k: [0.1, 0.2]"]


def test_perf_markdown_header_without_note():
    machine = {"cpu": "Some CPU", "cpu_cores": 4, "cores_usable": 2, "arch": "x86_64", "os": "Linux 6",
               "python": "3.11.9", "libraries": META["libraries"], "gpus": []}
    meta = {**META, "note": "", "machine": machine}
    lines = report.markdown({"meta": meta, "sections": {}}).splitlines()
    expected = _expected("# Speed benchmarks (`benchmarks.perf`)",
                         "Some CPU, 4 CPU cores (2 usable), x86_64, Linux 6, GPUs: none")
    assert lines == expected[:2] + expected[4:-1]


def test_run_meta_names_the_command_and_measures_from_start():
    started = report.start()
    meta = report.run_meta("benchmarks.perf.predict", ["--note", "two words"], started, "n", ("numpy", "no-such-lib"))
    assert meta["command"] == "python -m benchmarks.perf.predict --note 'two words'"
    assert meta["wall_seconds"] >= 0 and meta["load_start"] == started["load_start"] and meta["note"] == "n"
    assert meta["libraries"]["numpy"] and meta["libraries"]["no-such-lib"] is None
    assert meta["cores"] == report.usable_cores() >= 1
