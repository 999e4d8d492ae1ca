"""benchmarks.perf at toy size: every measurement runs and writes its markdown + JSON.

Checks the code paths and the output format, never the speed.
"""
import json

import numpy as np
import pytest


@pytest.mark.slow
def test_perf_quick_run_writes_every_section(tmp_path):
    from benchmarks.perf import data, precision, setups
    from benchmarks.perf.__main__ import main

    seconds = data.iemocap_like_seconds(200_000, np.random.default_rng(0))
    assert seconds.min() >= 0.6 and seconds.max() <= 34.0 and abs(seconds.mean() - 4.5) < 0.05

    assert main(["--quick", "--models", "blstmatt", "--precision-on-cpu", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "perf-quick.json").read_text())
    markdown = (tmp_path / "perf-quick.md").read_text()
    assert results["meta"]["command"].startswith("python -m benchmarks.perf --quick")
    assert results["meta"]["machine"]["cpu"] and results["meta"]["machine"]["libraries"]["tensorflow"]
    for heading in ("Training throughput", "Length bucketing", "inference latency", "mixed_float16"):
        assert heading in markdown
    sections = results["sections"]

    (row,) = sections["throughput"]["rows"]
    assert "error" not in row, row
    assert row["samples_per_epoch"] == 4 and row["steps_per_epoch"] == 1  # one batch of 4 at --quick
    assert set(row["samples_per_second"]) == {"pipeline", "in_memory"}
    assert all(v > 0 for v in row["samples_per_second"].values())
    ratio = row["samples_per_second"]["in_memory"] / row["samples_per_second"]["pipeline"]
    assert row["pipeline_overhead"] == pytest.approx(ratio - 1)
    cpu = row["epoch_cpu_seconds"]
    assert row["pipeline_overhead_cpu"] == pytest.approx(cpu["pipeline"][0] / cpu["in_memory"][0] - 1, rel=1e-2)
    ms = row["batch_ms_without_model"]
    assert row["pipeline_cost_share"] == pytest.approx(
        (ms["pipeline"]["cpu"] - ms["in_memory"]["cpu"]) / row["train_step_cpu_ms"])

    (row,) = sections["bucketing"]["rows"]
    assert "error" not in row, row
    rows = row["rows"]
    assert set(rows) == {"global_max", "batch_max", "bucketing"}
    # Padding to the epoch's longest utterance pads at least as much as any other layout.
    assert rows["global_max"]["padding"] >= max(rows["batch_max"]["padding"], rows["bucketing"]["padding"]) >= 1
    longest = row["longest_steps"]["fbank"]
    assert rows["global_max"]["loop_steps"] == rows["global_max"]["steps_per_epoch"] * longest
    assert rows["batch_max"]["loop_steps"] <= rows["global_max"]["loop_steps"]  # same batches, shorter pads
    assert row["speedup_vs_global_max"] == pytest.approx(
        rows["global_max"]["median_seconds"] / rows["bucketing"]["median_seconds"])
    assert row["cpu_speedup_vs_batch_max"] == pytest.approx(
        rows["batch_max"]["median_cpu_seconds"] / rows["bucketing"]["median_cpu_seconds"])

    (row,) = sections["latency"]["rows"]
    assert "error" not in row, row
    assert row["input_shapes"] == {"fbank": [1, 98, 23], "fbank_length": [1]}  # 1 s at 16 kHz, 25/10 ms frames
    assert row["output_shapes"] == [[1, 4]]
    assert row["total_seconds"] == pytest.approx(row["features_seconds"] + row["model_seconds"], rel=0.5)

    (row,) = sections["precision"]["rows"]
    assert "error" not in row, row
    assert set(row["samples_per_second"]) == {"float32", "mixed_float16"}
    if not precision.gpus():
        assert row["status"].startswith("forced on CPU")
        assert precision.measure(setups.get("blstmatt", quick=True)) == {
            "model": "blstmatt", "status": "no GPU: skipped"}


@pytest.mark.slow
def test_extraction_benchmark_quick_run(tmp_path):
    """``benchmarks.perf.extraction --quick``: the parallel tables equal the serial one, and every
    ratio in the markdown is the one of the medians it prints (naive loop against zoo's default)."""
    from tests import shared_data

    if not shared_data.available("ravdess"):
        pytest.skip("development corpus 'ravdess' absent")
    from benchmarks.perf import extraction

    assert extraction.main(["--quick", "--extractors", "fbank", "--root", str(shared_data.corpus("ravdess")),
                            "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "extraction-quick.json").read_text())
    (row,) = results["rows"]
    assert "error" not in row, row
    med = row["median_seconds"]
    assert row["clips"] == 12 and set(med) == set(extraction.COLUMNS)
    assert row["speedup_warm"] == pytest.approx(med["serial"] / med["parallel_warm"])
    assert row["zoo_vs_naive"] == pytest.approx(med["naive"] / med["serial"])
    assert row["parity_max_abs_diff"] < 1e-5  # the naive loop computes the same feature
    markdown = (tmp_path / "extraction-quick.md").read_text()
    line = next(l for l in markdown.splitlines() if l.startswith("| fbank |") and "(" in l.split("|")[2])
    assert line.rstrip(" |").endswith(")")
    assert f"{med['naive'] / med['parallel_warm']:.2f}x, {med['naive'] / med['parallel_cold']:.2f}x" in line


@pytest.mark.slow
def test_frozen_benchmark_measures_both_paths_of_a_length_masked_model():
    """``benchmarks.perf.frozen.measure`` on gru_bert with a frozen (tiny) BERT: the precomputed
    path is the same model (posteriors equal, length inputs fed to both), and it trains fewer
    parameters than the end-to-end one."""
    import dataclasses

    from benchmarks.perf import frozen, setups
    from zoo import text_encoders

    setup = setups.get("gru_bert", quick=True)
    streams = {**setup.streams, "text": setups.Stream("tokens", length=8, fixed=True, vocab=setups.BERT_VOCAB)}
    encoder = text_encoders.tiny_bert_backbone(vocabulary_size=setups.BERT_VOCAB)
    setup = dataclasses.replace(setup, streams=streams,
                                build={**setup.build, "text_encoder": encoder, "text_trainable": False})
    assert set(setup.length_inputs) == {"mel", "mfcc", "chroma"}
    row = frozen.measure(setup, repeats=1, utterances=8)
    assert row["parts"] == ["text -> text_dense"]
    assert row["max_abs_posterior_difference"] < 1e-5
    assert row["parameters"]["trainable_part"] < row["parameters"]["end_to_end"]
    med = row["median_seconds"]
    assert row["speedup"] == pytest.approx(med["end_to_end"] / med["precomputed"])
    assert [s.size_note for s in frozen.setups_of("gru_bert", quick=True)] == [
        setups.get("gru_bert", quick=True).size_note]  # no BERT-base row at toy size


@pytest.mark.slow
def test_silence_probe_measures_what_trimming_keeps():
    """``benchmarks.probes.silence``: per class, the kept fraction is librosa.effects.trim's on
    the same clips (every 40th here)."""
    from tests import shared_data

    if not shared_data.available("emodb"):
        pytest.skip("development corpus 'emodb' absent")
    import librosa

    from benchmarks import probes
    from zoo import data

    ((corpus, n, seconds, kept),) = probes.silence({"emodb": shared_data.corpus("emodb")}, every=40)
    records = [r for r in data.load("emodb", shared_data.corpus("emodb")).records if r.label in probes.CLASSES][::40]
    assert corpus == "emodb" and n == len(records) and seconds > 0
    expected = {}
    for r in records:
        y = librosa.load(r.audio_path, sr=16000)[0]
        expected.setdefault(r.label, []).append(len(librosa.effects.trim(y, top_db=30)[0]) / len(y))
    assert kept == pytest.approx({c: float(np.mean(v)) for c, v in expected.items()})


def test_extraction_controls_do_fixed_work_in_workers_as_in_this_process():
    """The control rows of ``benchmarks.perf.extraction`` measure the machine, not a feature: each
    does the same fixed work per clip whatever the record, and ``measure`` runs them through
    ``compute_features`` with 1 and 2 workers (equal tables, or it raises) and no naive loop."""
    from benchmarks.perf import extraction
    from zoo.data.records import Record

    records = [Record(utterance_id=f"u{i}", corpus="none", audio_path=f"/absent/{i}.wav") for i in range(6)]
    for name in extraction.CONTROLS:
        control = extraction.make_control(name)
        assert control.name == name
        assert np.array_equal(control.extract(records[0]), control.extract(records[1]))
        row = extraction.measure(name, records, repeats=1)
        assert set(row["median_seconds"]) == {"serial", "parallel_warm", "parallel_cold"}
        assert row["zoo_vs_naive"] is None and row["clips"] == 6
    assert extraction.parse_args([]).extractors == list(extraction.EXTRACTORS + extraction.CONTROLS)
