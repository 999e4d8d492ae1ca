"""RAVDESS, EmoDB and CREMA-D loaders (labels from file names) on tiny real-layout fixtures."""
import os
from collections import Counter

import pytest

from tests import shared_data

from zoo.data import load
from zoo.data.records import CorpusError

from .fixtures import RAVDESS_EXPECTED, make_cremad, make_emodb, make_ravdess, write_text, write_wav

SHARED_EMODB = shared_data.corpus("emodb")


def by_id(records):
    return {r.utterance_id: r for r in records}


# ----------------------------------------------------------------------------- RAVDESS
def test_ravdess_fields(tmp_path):
    records, report = load("ravdess", make_ravdess(tmp_path))
    recs = by_id(records)
    assert sorted(recs) == RAVDESS_EXPECTED["records"]
    angry = recs["03-01-05-01-02-01-01"]
    assert (angry.label, angry.speaker, angry.gender, angry.session) == ("angry", "ravdess_01", "M", "ravdess_01")
    assert angry.transcript == "Dogs are sitting by the door" and angry.sample_rate == 48000
    happy = recs["03-01-03-02-01-02-02"]
    assert (happy.label, happy.gender, happy.extra["intensity"], happy.extra["repetition"]) == ("happy", "F", "strong", 2)
    assert happy.extra["actor_folder"] == "Actor_02"
    assert dict(report.skipped) == RAVDESS_EXPECTED["skipped"]
    assert "03-01-09-01-01-01-01.wav" in report.examples["malformed_filename"][0]


def test_ravdess_quirks_are_reported_with_the_files(tmp_path):
    root = make_ravdess(tmp_path)
    speech = root / "Audio_Speech_Actors_01-24"
    _, report = load("ravdess", root)
    ex = report.examples
    assert ex["actor_folder_mismatch"] == [
        f"{speech / 'Actor_03' / '03-01-02-01-01-01-05.wav'}: the name says actor 05, the folder is Actor_03"]
    # The copy is dropped, not the original (first in sorted order, same label and speaker).
    assert ex["duplicate_audio"] == [f"{speech / 'Actor_01' / '03-01-05-01-02-02-01.wav'}: same bytes as "
                                     f"{speech / 'Actor_01' / '03-01-05-01-02-01-01.wav'}"]
    conflict = ex["duplicate_audio_conflict"]
    assert "03-01-06-01-01-01-04.wav: same bytes as" in conflict[0] and "(disgust, ravdess_04)" in conflict[0]
    assert "03-01-07-01-01-01-04.wav: same bytes as" in conflict[1] and "(fearful, ravdess_04)" in conflict[1]
    assert ex["outside_actor_folder"] == [f"{speech / '03-01-01-01-01-01-09.wav'}: wav not inside an Actor_XX folder"]
    # Without the duplicate check all three copies come back.
    records, report = load("ravdess", root, check_duplicates=False)
    assert len(records) == 6 and "duplicate_audio" not in report.skipped
    # A file name seen twice with different bytes (two copies of one actor folder).
    write_wav_copy = root / "backup" / "Actor_02" / "03-01-01-01-01-01-02.wav"
    write_wav_copy.parent.mkdir(parents=True)
    write_wav_copy.write_bytes((speech / "Actor_02" / "03-01-03-02-01-02-02.wav").read_bytes()[:-2] + b"\x01\x02")
    records, report = load("ravdess", root)
    assert report.skipped["duplicate_utterance"] == 1 and sorted(by_id(records)) == RAVDESS_EXPECTED["records"]
    assert "already read from" in report.examples["duplicate_utterance"][0]


def test_ravdess_options_and_errors(tmp_path):
    root = make_ravdess(tmp_path)
    records, _ = load("ravdess", root, channel="all", probe_audio=True)
    assert len(records) == 4 and Counter(r.extra["channel"] for r in records) == {"speech": 3, "song": 1}
    assert by_id(records)["03-01-03-02-01-02-02"].extra["channels"] == 2  # the stereo file
    records, report = load("ravdess", root, classes="4")
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral"]
    assert report.skipped["excluded_class"] == 0  # the calm file is an actor/folder mismatch
    records, report = load("ravdess", root, classes=["angry", "sad"])
    assert [r.label for r in records] == ["angry"] and report.skipped["excluded_class"] == 2
    with pytest.raises(ValueError, match=r"\['angyr'\] not labels of ravdess.*did you mean 'angry'"):
        load("ravdess", root, classes=["angyr"])
    with pytest.raises(ValueError, match=r"'excited'.* not labels of ravdess"):
        load("ravdess", root, classes="7")
    with pytest.raises(CorpusError, match="not inside an Actor_XX folder"):
        load("ravdess", root, strict=True)
    with pytest.raises(CorpusError, match="not a RAVDESS root"):
        load("ravdess", make_emodb(tmp_path))
    with pytest.raises(CorpusError, match="does not exist"):
        load("ravdess", tmp_path / "missing")


@shared_data.needs("ravdess")
def test_ravdess_development_copy_counts_and_quirks():
    """The 16-actor 16 kHz copy: 961 speech wavs, 60 per actor folder but 61 in Actor_05."""
    root = shared_data.corpus("ravdess")
    records, report = load("ravdess", root, probe_audio=True)
    # Actor_05 holds 03-01-05-01-01-01-02.wav: actor 02's name, the bytes of Actor_05's
    # 03-01-05-02-02-01-05.wav. Actor_07's repetitions 01 and 02 of 03-01-03-01-02 are one file.
    assert dict(report.skipped) == {"actor_folder_mismatch": 1, "duplicate_audio": 1}
    assert "Actor_05/03-01-05-01-01-01-02.wav: the name says actor 02" in report.examples["actor_folder_mismatch"][0]
    assert report.examples["duplicate_audio"][0].startswith(str(root / "Actor_07" / "03-01-03-01-02-02-07.wav"))
    assert len(records) == 959
    assert Counter(r.label for r in records) == {"neutral": 64, "calm": 128, "happy": 127, "sad": 128,
                                                 "angry": 128, "fearful": 128, "disgust": 128, "surprised": 128}
    per_actor = Counter(r.speaker for r in records)
    assert len(per_actor) == 16 and per_actor["ravdess_07"] == 59
    assert all(n == 60 for s, n in per_actor.items() if s != "ravdess_07")
    assert Counter(r.gender for r in records) == {"F": 480, "M": 479}
    assert {(r.sample_rate, r.extra["channels"]) for r in records} == {(16000, 1)}
    assert all(r.extra["channel"] == "speech" and r.extra["actor_folder"][-2:] == r.speaker[-2:] for r in records)
    assert len(load("ravdess", root, check_duplicates=False).records) == 960
    with pytest.raises(CorpusError, match="the name says actor 02"):
        load("ravdess", root, strict=True)


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


@pytest.mark.parametrize("make, wav_dir, name", [(make_emodb, "wav", "03a01Wa.wav"),
                                                 (make_cremad, "AudioWAV", "1001_DFA_ANG_XX.wav")])
def test_emodb_and_cremad_report_copies_and_sub_folders(tmp_path, make, wav_dir, name):
    root = make(tmp_path)
    corpus = "emodb" if make is make_emodb else "cremad"
    before, _ = load(corpus, root)
    folder = root / wav_dir
    copy = "03a01Wb.wav" if corpus == "emodb" else "1001_IEO_ANG_HI.wav"  # same label, speaker; sorts after
    (folder / copy).write_bytes((folder / name).read_bytes())
    write_wav(folder / "extra" / name)
    records, report = load(corpus, root)
    assert sorted(map(str, records)) == sorted(map(str, before))
    assert report.skipped["duplicate_audio"] == 1 and report.skipped["outside_wav_folder"] == 1
    assert report.examples["duplicate_audio"][0] == f"{folder / copy}: same bytes as {folder / name}"
    assert str(folder / "extra" / name) in report.examples["outside_wav_folder"][0]
    with pytest.raises(CorpusError):
        load(corpus, root, strict=True, classes=["angry"])
