"""``python -m benchmarks.perf.hsf`` runs end to end (synthetic clips when no corpora): no timing asserted."""
from benchmarks.perf import hsf


def test_hsf_benchmark_writes_its_report(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_SHARED_DATA", str(tmp_path / "no-corpora"))
    out = tmp_path / "hsf.md"
    assert hsf.main(["--clips", "1", "--repeats", "1", "--synthetic-seconds", "0.5", "--out", str(out)]) == 0
    text = out.read_text()
    assert "command: `python -m benchmarks.perf.hsf --clips 1 --repeats 1 --synthetic-seconds 0.5" in text
    assert "load average" in text and "| synthetic | 2 |" in text
    assert "all within the tolerance" in text and "Target" in text
    assert not list(tmp_path.glob("*.partial"))
