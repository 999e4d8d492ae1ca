"""RAVDESS, EmoDB and CREMA-D loaders (labels from file names) on tiny real-layout fixtures."""
import os
from collections import Counter

import pytest

from tests import shared_data

from zoo.data import load
from zoo.data.records import CorpusError

from .fixtures import make_cremad, make_emodb, make_ravdess, write_text

SHARED_EMODB = shared_data.corpus("emodb")


def by_id(records):
    return {r.utterance_id: r for r in records}


# ----------------------------------------------------------------------------- RAVDESS
def test_ravdess_fields_actor_from_file_name(tmp_path):
    records, report = load("ravdess", make_ravdess(tmp_path))
    recs = by_id(records)
    assert sorted(recs) == ["03-01-01-01-01-01-02", "03-01-02-01-01-01-05",
                            "03-01-03-02-01-02-02", "03-01-05-01-02-01-01"]
    angry = recs["03-01-05-01-02-01-01"]
    assert (angry.label, angry.speaker, angry.gender, angry.session) == ("angry", "ravdess_01", "M", "ravdess_01")
    assert angry.transcript == "Dogs are sitting by the door" and angry.sample_rate == 48000
    happy = recs["03-01-03-02-01-02-02"]
    assert (happy.label, happy.gender, happy.extra["intensity"], happy.extra["repetition"]) == ("happy", "F", "strong", 2)
    moved = recs["03-01-02-01-01-01-05"]  # lies in Actor_03 but the name says actor 05
    assert (moved.speaker, moved.gender, moved.label) == ("ravdess_05", "M", "calm")
    assert moved.extra["actor_folder"] == "Actor_03"
    assert dict(report.skipped) == {"malformed_filename": 1, "excluded_channel": 1}
    assert "03-01-09-01-01-01-01.wav" in report.examples["malformed_filename"][0]


def test_ravdess_options_and_errors(tmp_path):
    root = make_ravdess(tmp_path)
    records, _ = load("ravdess", root, channel="all", probe_audio=True)
    assert len(records) == 5 and Counter(r.extra["channel"] for r in records) == {"speech": 4, "song": 1}
    assert by_id(records)["03-01-03-02-01-02-02"].extra["channels"] == 2  # the stereo file
    records, report = load("ravdess", root, classes="4")
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral"]
    assert report.skipped["excluded_class"] == 1
    with pytest.raises(CorpusError, match="unknown code"):
        load("ravdess", root, strict=True)
    with pytest.raises(CorpusError, match="not a RAVDESS root"):
        load("ravdess", make_emodb(tmp_path))
    with pytest.raises(CorpusError, match="does not exist"):
        load("ravdess", tmp_path / "missing")


# ----------------------------------------------------------------------------- EmoDB
def test_emodb_fields(tmp_path):
    records, report = load("emodb", make_emodb(tmp_path))
    recs = by_id(records)
    assert Counter(r.label for r in records) == {"angry": 1, "happy": 1, "sad": 1, "boredom": 1, "neutral": 1}
    assert {r.utterance_id: r.gender for r in records} == {
        "03a01Wa": "M", "08a02Fc": "F", "16b10Tb": "F", "11a04Lc": "M", "13b01Nb": "F"}
    w = recs["03a01Wa"]
    assert (w.speaker, w.session, w.label, w.extra["text_id"], w.extra["version"]) == (
        "emodb_03", "emodb_03", "angry", "a01", "a")
    assert w.transcript == "Der Lappen liegt auf dem Eisschrank." and w.sample_rate == 16000
    assert report.skipped["malformed_filename"] == 2
    with pytest.raises(CorpusError, match="03a01Xa.wav: expected SSTTTEV"):
        load("emodb", tmp_path / "emodb", strict=True)
    assert [r.label for r in load("emodb", tmp_path / "emodb", classes=["sad"]).records] == ["sad"]
    with pytest.raises(CorpusError, match="not an EmoDB root"):
        load("emodb", make_cremad(tmp_path))


@shared_data.needs("emodb")
def test_emodb_and_manifest_loaders_agree_on_the_processed_copy():
    by_name, report = load("emodb", SHARED_EMODB, probe_audio=True)
    assert len(by_name) == 535 and report.total_skipped == 0
    assert Counter(r.label for r in by_name) == {"angry": 127, "boredom": 81, "disgust": 46, "fearful": 69,
                                                 "happy": 71, "neutral": 79, "sad": 62}
    assert {r.sample_rate for r in by_name} == {22050}  # processed copy; header probed
    assert len({r.speaker for r in by_name}) == 10
    by_csv, report = load("manifest", SHARED_EMODB)
    assert report.total_skipped == 0
    fields = lambda r: (r.utterance_id, r.corpus, r.label, r.speaker, r.gender, os.path.realpath(r.audio_path))  # noqa: E731
    assert sorted(map(fields, by_name)) == sorted(map(fields, by_csv))
    assert {r.sample_rate for r in by_csv} == {22050}


# ----------------------------------------------------------------------------- CREMA-D
def test_cremad_fields_and_demographics(tmp_path):
    root = make_cremad(tmp_path)
    records, report = load("cremad", root)
    recs = by_id(records)
    assert sorted(recs) == ["1001_DFA_ANG_XX", "1002_IEO_HAP_HI", "1002_TIE_NEU_XX", "1091_WSI_SAD_LO"]
    assert {k: (r.speaker, r.gender, r.label) for k, r in recs.items()} == {
        "1001_DFA_ANG_XX": ("cremad_1001", "M", "angry"), "1002_IEO_HAP_HI": ("cremad_1002", "F", "happy"),
        "1002_TIE_NEU_XX": ("cremad_1002", "F", "neutral"), "1091_WSI_SAD_LO": ("cremad_1091", "F", "sad")}
    assert recs["1001_DFA_ANG_XX"].transcript == "Don't forget a jacket"
    assert recs["1002_IEO_HAP_HI"].extra["level"] == "HI"
    assert report.skipped["malformed_filename"] == 1
    with pytest.raises(CorpusError, match="1001_DFA_XYZ_XX.wav"):
        load("cremad", root, strict=True)
    (root / "VideoDemographics.csv").unlink()
    assert {r.gender for r in load("cremad", root).records} == {None}


def test_cremad_bad_demographics_row(tmp_path):
    root = make_cremad(tmp_path)
    write_text(root / "VideoDemographics.csv", "ActorID,Age,Sex\n1001,51,Male\n1002,21,Unknown\n")
    records, report = load("cremad", root)
    assert report.skipped["malformed_demographics_row"] == 1
    assert f"{root / 'VideoDemographics.csv'}:3" in report.examples["malformed_demographics_row"][0]
    assert by_id(records)["1002_IEO_HAP_HI"].gender is None


def test_cremad_root_problems(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load("cremad", tmp_path / "missing")
    with pytest.raises(CorpusError, match="no CREMA-D-named wavs"):
        load("cremad", make_ravdess(tmp_path))
