"""IEMOCAP loader on a hand-built fixture in the release's exact format (tests/data/fixtures.py)."""
import os
import shutil
from collections import Counter

import pytest

from zoo.data import LOADERS, iemocap, load
from zoo.data.labels import IEMOCAP_4, IEMOCAP_7
from zoo.data.records import CorpusError, LoadResult

from .fixtures import IEMOCAP_EXPECTED, make_iemocap, write_text


@pytest.fixture
def root(tmp_path):
    return make_iemocap(tmp_path)


def by_id(records):
    return {r.utterance_id: r for r in records}


def test_all_codes_counts_speakers_and_report(root):
    result = load("iemocap", root, classes="all")
    assert isinstance(result, LoadResult) and LOADERS["iemocap"] is iemocap.load
    records, report = result
    exp = IEMOCAP_EXPECTED["all"]
    assert len(records) == 12
    assert Counter(r.extra["raw_code"] for r in records) == exp["codes"]
    assert Counter(r.speaker for r in records) == exp["speakers"]
    assert Counter(r.gender for r in records) == exp["gender"]
    assert Counter(r.session for r in records) == exp["sessions"]
    assert sum(r.extra["improvised"] for r in records) == 7
    assert by_id(records)["Ses01F_impro01_M001"].label == "no_agreement"
    # Categorical/ and Attribute/ hold a bogus summary line: never read.
    assert not any(r.utterance_id.startswith("Ses09") for r in records)
    assert dict(report.skipped) == {"appledouble": 2, "transcript_xx_speaker": 1}
    assert "Ses01F_impro01_MXX0" in report.examples["transcript_xx_speaker"][0]


def test_four_class_merges_excited_into_happy(root):
    records, report = load("iemocap", root, classes="4")
    assert Counter(r.label for r in records) == {"angry": 2, "happy": 3, "sad": 1, "neutral": 2}
    assert Counter(r.session for r in records) == {"Ses01": 5, "Ses02": 3}
    assert by_id(records)["Ses02M_script03_2b_M000"].extra["raw_code"] == "exc"
    assert by_id(records)["Ses02M_script03_2b_M000"].label == "happy"
    assert report.skipped["excluded_class"] == 4  # xxx, fru, sur, dis
    assert iemocap.label_set("4") == IEMOCAP_4 == ("angry", "happy", "sad", "neutral")


def test_seven_class_amh_set(root):
    records, report = load("iemocap", root, classes="7")
    assert Counter(r.label for r in records) == IEMOCAP_EXPECTED["7"]["labels"]
    assert report.skipped["excluded_class"] == 2  # xxx, dis
    assert iemocap.label_set(7) == IEMOCAP_7
    # An explicit label list filters the all-codes names (no exc merge) and keeps order.
    records, _ = load("iemocap", root, classes=["sad", "Anger"])
    assert sorted(r.label for r in records) == ["angry", "angry", "sad"]


def test_record_fields_vad_transcripts_and_paths(root):
    recs = by_id(load("iemocap", root).records)
    f000 = recs["Ses01F_impro01_F000"]
    assert (f000.valence, f000.arousal, f000.dominance) == (-0.25, -0.25, -0.25)
    assert (f000.start, f000.end) == (6.2901, 8.2357)
    assert f000.extra["votes"] == {"E2": ["Neutral"], "F1": ["Neutral", "Anger"]}
    assert f000.extra["rater_vad"]["E3"] == {"val": 3.0, "act": 2.0, "dom": 2.0}  # "dom  2"
    assert f000.extra["wdseg"].endswith("ForcedAlignment/Ses01F_impro01/Ses01F_impro01_F000.wdseg")
    assert "phseg" in f000.extra and "syseg" not in f000.extra
    assert f000.video_path.endswith(os.path.join("avi", "DivX", "Ses01F_impro01.avi"))
    assert f000.image_path is None and f000.sample_rate == 16000
    assert f000.audio_path == os.path.join(root, "Session1", "sentences", "wav", "Ses01F_impro01",
                                           "Ses01F_impro01_F000.wav")
    # A male turn inside an F-led dialog is the MALE speaker of the session.
    m000 = recs["Ses01F_impro01_M000"]
    assert (m000.speaker, m000.gender, m000.session) == ("Ses01_M", "M", "Ses01")
    assert m000.transcript == "Do you have your forms?"
    assert m000.extra["transcript_raw"] == "Do you have your forms? [LAUGHTER]"
    assert m000.video_path.endswith("Ses01F_impro01_M000.npy") and m000.image_path.endswith(".png")
    # ... and an F turn in an M-led dialog is female.
    assert recs["Ses02M_impro05a_F003"].speaker == "Ses02_F"
    assert recs["Ses01F_impro01_F001"].transcript == "Yeah, great!"
    # V/A/D 5.5 and 0.5 are clipped to +-1; (x - 3) / 2 otherwise.
    f001 = recs["Ses01F_impro01_F001"]
    assert (f001.valence, f001.arousal, f001.dominance) == (0.5, 1.0, 0.0) and f001.extra["vad_clipped"]
    hap = recs["Ses01F_script01_1_F001"]
    assert hap.valence == -1.0 and hap.extra["vad_raw"] == (0.5, 3.0, 3.0) and hap.extra["vad_clipped"]
    assert not recs["Ses01F_impro01_M000"].extra["vad_clipped"]
    script = recs["Ses01F_script01_1_M000"]
    assert script.extra["improvised"] is False and script.extra["dialog"] == "Ses01F_script01_1"
    assert script.video_path is None  # no avi for that dialog in the fixture


def test_probe_audio_reads_headers_of_stereo_file(root):
    recs = by_id(load("iemocap", root, probe_audio=True).records)
    assert recs["Ses01F_script01_1_F001"].extra["channels"] == 2
    assert recs["Ses01F_impro01_F000"].extra["channels"] == 1
    assert recs["Ses01F_impro01_F000"].extra["duration"] == pytest.approx(0.01)


def test_sessions_option(root):
    records, _ = load("iemocap", root, sessions=["Session2"])
    assert {r.session for r in records} == {"Ses02"} and len(records) == 5
    with pytest.raises(CorpusError, match="session 4"):
        load("iemocap", root, sessions=[4])


def test_root_problems_raise(tmp_path, root):
    with pytest.raises(CorpusError, match="does not exist"):
        load("iemocap", tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    with pytest.raises(CorpusError, match="not an IEMOCAP_full_release root"):
        load("iemocap", tmp_path / "other")
    shutil.rmtree(root / "Session2" / "dialog" / "EmoEvaluation")
    with pytest.raises(CorpusError, match="Session2: missing dialog/EmoEvaluation"):
        load("iemocap", root)


def _eval(root, session="Session1", dialog="Ses01F_impro01"):
    return root / session / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def test_malformed_summary_line_skipped_or_raised(root):
    path = _eval(root)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("[2.5000, 2.5000, 2.5000]", "[2.5000, 2.5000]")  # F000's line
    path.write_text("\n".join(lines) + "\n")
    records, report = load("iemocap", root)
    assert len(records) == 11 and "Ses01F_impro01_F000" not in by_id(records)
    assert report.skipped["malformed_label_line"] == 1
    assert f"{path}:3: unparsable summary line" in report.examples["malformed_label_line"][0]
    with pytest.raises(CorpusError) as err:
        load("iemocap", root, strict=True)
    assert err.value.line == 3 and err.value.path == str(path)


def test_unknown_code_and_malformed_rater_line(root):
    path = _eval(root)
    text = path.read_text().replace("Ses01F_impro01_M001\txxx", "Ses01F_impro01_M001\tabc")
    text = text.replace("A-E1:\tval 1; act 4; dom  4;", "A-E1:\tval 1; act 4;")
    path.write_text(text)
    records, report = load("iemocap", root)
    assert report.skipped["unknown_code"] == 1 and "'abc'" in report.examples["unknown_code"][0]
    assert report.skipped["malformed_rater_line"] == 1
    assert by_id(records)["Ses01F_impro01_M000"].extra["rater_vad"] == {}  # bad rater line dropped
    assert len(records) == 11
    with pytest.raises(CorpusError, match="needs val/act/dom"):
        load("iemocap", root, strict=True)


def test_missing_wav_skipped_or_raised(root):
    wav = root / "Session2" / "sentences" / "wav" / "Ses02M_impro05a" / "Ses02M_impro05a_M000.wav"
    wav.unlink()
    records, report = load("iemocap", root)
    assert len(records) == 11 and report.skipped["missing_audio"] == 1
    assert str(wav) in report.examples["missing_audio"][0]
    with pytest.raises(CorpusError, match="wav of Ses02M_impro05a_M000 not found"):
        load("iemocap", root, strict=True)
    # Excluded classes are never checked for audio: 4-class has no sur, so nothing is missing.
    assert "missing_audio" not in load("iemocap", root, classes="4").report.skipped


def test_missing_transcript_line_and_file(root):
    tpath = root / "Session1" / "dialog" / "transcriptions" / "Ses01F_script01_1.txt"
    kept = [ln for ln in tpath.read_text().splitlines() if not ln.startswith("Ses01F_script01_1_M000")]
    tpath.write_text("\n".join(kept) + "\n")
    (root / "Session2" / "dialog" / "transcriptions" / "Ses02M_impro05a.txt").unlink()
    records, report = load("iemocap", root)
    assert len(records) == 12 - 1 - 3 and report.skipped["missing_transcript"] == 4
    assert any("no transcription line for Ses01F_script01_1_M000" in e
               for e in report.examples["missing_transcript"])
    assert any("transcription file missing" in e for e in report.examples["missing_transcript"])
    records, report = load("iemocap", root, require_transcript=False)
    assert len(records) == 12 and by_id(records)["Ses02M_impro05a_F003"].transcript is None
    with pytest.raises(CorpusError, match="transcription"):
        load("iemocap", root, strict=True)


def test_duplicate_and_unreadable(root):
    path = _eval(root, "Session2", "Ses02M_script03_2b")
    block = "[1.0000 - 2.0000]\tSes02M_script03_2b_F000\tang\t[2.0000, 4.0000, 4.0000]\n"
    path.write_text(path.read_text() + block)
    bad_wav = root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_M001.wav"
    write_text(bad_wav, "this is not RIFF audio")
    records, report = load("iemocap", root)
    assert report.skipped["duplicate_utterance"] == 1 and len(records) == 12
    records, report = load("iemocap", root, probe_audio=True)
    assert report.skipped["unreadable_audio"] == 1 and len(records) == 11
    assert str(bad_wav) in report.examples["unreadable_audio"][0]


def test_reads_the_synthetic_corpus(tmp_path):
    synthetic = pytest.importorskip("zoo.data.synthetic")
    summary = synthetic.synthesize(tmp_path / "synth", seed=3, utterances=20)
    records, report = load("iemocap", summary["iemocap_root"], classes="all", probe_audio=True)
    assert len(records) == summary["utterances"]
    assert Counter(r.extra["raw_code"] for r in records) == summary["codes"]
    assert sum(r.extra["improvised"] for r in records) == summary["improvised"]
    assert all(r.image_path and r.video_path.endswith(".npy") for r in records)
    assert set(report.skipped) <= {"transcript_xx_speaker"}
    four, _ = load("iemocap", summary["iemocap_root"], classes="4")
    assert Counter(r.label for r in four) == summary["labels_4class"]


def test_non_utf8_transcript_and_label_lines_are_reported_not_replaced(root):
    tpath = root / "Session1" / "dialog" / "transcriptions" / "Ses01F_script01_1.txt"
    lines = tpath.read_bytes().split(b"\n")
    assert lines[1].startswith(b"Ses01F_script01_1_M000")
    lines[1] = lines[1].replace(b"Not again.", b"Not again \xe0 la fin.")  # latin-1 byte, line 2
    tpath.write_bytes(b"\n".join(lines))
    epath = _eval(root, "Session2", "Ses02M_impro05a")
    text = epath.read_bytes().replace(b"C-E4:\tSurprise;\t()", b"C-E4:\tSurprise;\t(\xff)")
    epath.write_bytes(text)
    records, report = load("iemocap", root)
    recs = by_id(records)
    assert "Ses01F_script01_1_M000" not in recs and len(records) == 11
    assert not any("\ufffd" in (r.transcript or "") + r.extra["transcript_raw"] for r in records)
    assert report.skipped["undecodable_transcript"] == 1 and report.skipped["undecodable_line"] == 1
    assert report.examples["undecodable_transcript"][0].startswith(
        f"{tpath}:2: Ses01F_script01_1_M000: not valid utf-8 text: byte e0 at column")
    line = text[:text.index(b"\xff")].count(b"\n") + 1
    assert report.examples["undecodable_line"][0].startswith(f"{epath}:{line}: not valid utf-8 text: byte ff")
    assert recs["Ses02M_impro05a_M000"].extra["votes"] == {}  # its only rater line was the bad one
    with pytest.raises(CorpusError, match="not valid utf-8") as err:
        load("iemocap", root, strict=True)
    assert err.value.line == 2
    with pytest.raises(ValueError, match=r"\['angyr'\] not labels of iemocap"):
        load("iemocap", root, classes=["angyr", "sad"])
