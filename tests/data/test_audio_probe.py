"""The per-record header probe (zoo.data.records.with_audio_fields) of the manifest loader and
of the file-name-labelled loaders (finish_records): rate, channels and duration from the header;
an unreadable file a counted unreadable_audio problem naming it."""
import pytest

from zoo.data import load
from zoo.data.records import CorpusError, Problems, Record, finish_records

from .fixtures import write_text, write_wav


def _files(root):
    good = write_wav(root / "good.wav", 44100, ms=50, channels=2)
    bad = write_text(root / "bad.wav", "not audio")
    return good, bad


def _check(records, problems_report, good, bad):
    (record,) = records
    assert record.audio_path == str(good) and record.sample_rate == 44100
    assert record.extra["channels"] == 2 and record.extra["duration"] == pytest.approx(0.05)
    assert problems_report.skipped["unreadable_audio"] == 1
    assert str(bad) in problems_report.examples["unreadable_audio"][0]


def test_manifest_probes_every_record(tmp_path):
    good, bad = _files(tmp_path)
    write_text(tmp_path / "manifest.csv", "path,label,speaker\ngood.wav,angry,s1\nbad.wav,sad,s2\n")
    records, report = load("manifest", tmp_path, probe_audio=True)
    _check(records, report, good, bad)
    with pytest.raises(CorpusError, match="bad.wav"):
        load("manifest", tmp_path, probe_audio=True, strict=True)
    records, report = load("manifest", tmp_path)  # not probed: both kept as they are
    assert len(records) == 2 and not any("channels" in r.extra for r in records) and not report.total_skipped


def test_finish_records_probes_every_record(tmp_path):
    good, bad = _files(tmp_path)
    records = [Record(utterance_id=p.stem, audio_path=str(p), corpus="c", sample_rate=16000, speaker="s",
                      session="s", label="angry") for p in (good, bad)]
    problems = Problems()
    _check(finish_records(records, keep=None, probe_audio=True, problems=problems, check_duplicates=False),
           problems.report, good, bad)
    problems = Problems()
    kept = finish_records(records, keep=None, probe_audio=False, problems=problems, check_duplicates=False)
    assert [r.sample_rate for r in kept] == [16000, 16000] and not problems.report.total_skipped
