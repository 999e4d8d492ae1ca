"""MSP-IMPROV (Evaluation.txt) and MSP-Podcast (labels_consensus.csv) loaders."""
import pytest

from zoo.data import load
from zoo.data.msp_podcast import attribute
from zoo.data.records import CorpusError

from .fixtures import make_msp_improv, make_msp_podcast, write_text


def by_id(records):
    return {r.utterance_id: r for r in records}


def test_msp_improv_parse(tmp_path):
    records, report = load("msp_improv", make_msp_improv(tmp_path))
    recs = by_id(records)
    assert sorted(recs) == ["MSP-IMPROV-S01A-F01-S-FM01", "MSP-IMPROV-S01H-M01-R-MM01",
                            "MSP-IMPROV-S02N-F02-P-FM03", "MSP-IMPROV-S02S-M02-T-MF01"]
    a = recs["MSP-IMPROV-S01A-F01-S-FM01"]
    # class code A = angry; field "A:" = arousal 4.5 -> 0.75; V 2.0 -> -0.5; D 3.5 -> 0.25.
    assert (a.label, a.arousal, a.valence, a.dominance) == ("angry", 0.75, -0.5, 0.25)
    assert (a.speaker, a.gender, a.session) == ("msp_improv_F01", "F", "session1")
    assert a.extra["label_id"] == "UTD-IMPROV-S01A-F01-S-FM01" and a.extra["naturalness"] == 3.0
    assert (a.extra["sentence"], a.extra["target_emotion"], a.extra["condition"]) == ("01", "A", "S")
    assert a.audio_path.endswith("Audio/session1/S01A/S/MSP-IMPROV-S01A-F01-S-FM01.wav")
    h = recs["MSP-IMPROV-S01H-M01-R-MM01"]
    assert (h.label, h.valence, h.extra["vad_clipped"], h.gender) == ("happy", 1.0, True, "M")  # V 5.5 clipped
    assert recs["MSP-IMPROV-S02S-M02-T-MF01"].label == "no_agreement"
    assert recs["MSP-IMPROV-S02N-F02-P-FM03"].session == "session2"
    assert dict(report.skipped) == {"missing_audio": 1, "malformed_label_line": 1}
    assert ":10:" in report.examples["missing_audio"][0] and ":11:" in report.examples["malformed_label_line"][0]


def test_msp_improv_classes_strict_and_root(tmp_path):
    root = make_msp_improv(tmp_path)
    records, report = load("msp_improv", root, classes="4")
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral"]
    assert report.skipped["excluded_class"] == 1
    with pytest.raises(CorpusError, match="no wav for UTD-IMPROV-S03A-F03-S-FM01"):
        load("msp_improv", root, strict=True)
    (root / "Evalution.txt").unlink()
    with pytest.raises(CorpusError, match="not an MSP-IMPROV root"):
        load("msp_improv", root)


def test_msp_improv_unknown_code(tmp_path):
    root = make_msp_improv(tmp_path)
    write_text(root / "Evaluation.txt",
               "UTD-IMPROV-S01A-F01-S-FM01.avi; Z; A:3.0; V:3.0; D:3.0; N:3.0;\n")
    (root / "Evalution.txt").unlink()
    records, report = load("msp_improv", root)
    assert records == [] and report.skipped["unknown_code"] == 1


def test_msp_podcast_parse(tmp_path):
    root = make_msp_podcast(tmp_path)
    records, report = load("msp_podcast", root)
    recs = by_id(records)
    assert sorted(recs) == ["MSP-PODCAST_0001_0008", "MSP-PODCAST_0001_0011",
                            "MSP-PODCAST_0002_0001", "MSP-PODCAST_0003_0001"]
    a = recs["MSP-PODCAST_0001_0008"]
    # EmoAct 7 -> 1, EmoVal 1 -> -1, EmoDom 5.5 -> 0.5: (x - 4) / 3.
    assert (a.label, a.arousal, a.valence, a.dominance) == ("angry", 1.0, -1.0, 0.5)
    assert (a.speaker, a.gender, a.extra["split"], a.transcript) == (
        "msp_podcast_127", "F", "Train", "I can't believe this!")
    h = recs["MSP-PODCAST_0002_0001"]
    assert (h.speaker, h.gender, h.label) == (None, None, "happy")
    assert (h.arousal, h.valence, h.dominance) == pytest.approx((0.4, 0.8, 0.2))
    assert recs["MSP-PODCAST_0003_0001"].label == "contempt" and recs["MSP-PODCAST_0003_0001"].gender == "M"
    assert dict(report.skipped) == {"unknown_code": 1, "missing_audio": 1}
    assert "labels_consensus.csv:6" in report.examples["unknown_code"][0]
    records, report = load("msp_podcast", root, split="Train")
    assert len(records) == 2 and report.skipped["excluded_split"] == 2
    assert attribute(0.0) == -1.0 and attribute(4.0) == 0.0


def test_msp_podcast_bad_input(tmp_path):
    root = make_msp_podcast(tmp_path)
    with pytest.raises(CorpusError, match="unknown EmoClass 'Q'"):
        load("msp_podcast", root, strict=True)
    csv = root / "Labels" / "labels_consensus.csv"
    csv.write_text(csv.read_text().replace("5.2,6.4,4.6", "5.2,high,4.6"))
    assert load("msp_podcast", root).report.skipped["malformed_row"] == 1
    csv.write_text("FileName,EmoClass\nx.wav,A\n")
    with pytest.raises(CorpusError, match="missing columns"):
        load("msp_podcast", root)
    with pytest.raises(CorpusError, match="not an MSP-Podcast root"):
        load("msp_podcast", tmp_path)


def test_msp_non_utf8_text_is_reported_with_file_and_line(tmp_path):
    root = make_msp_podcast(tmp_path)
    transcript = root / "Transcripts" / "MSP-PODCAST_0001_0008.txt"
    transcript.write_bytes(b"I can't believe\nthis \x93!\n")
    records, report = load("msp_podcast", root)
    assert "MSP-PODCAST_0001_0008" not in by_id(records) and len(records) == 3
    assert report.skipped["undecodable_transcript"] == 1
    assert report.examples["undecodable_transcript"][0].startswith(f"{transcript}:2: not valid utf-8 text: byte 93")
    assert load("msp_podcast", root, transcripts=False).report.skipped["undecodable_transcript"] == 0
    csv = root / "Labels" / "labels_consensus.csv"
    csv.write_bytes(csv.read_bytes().replace(b"Female,Development", b"F\xe9male,Development"))
    with pytest.raises(CorpusError, match=r"labels_consensus.csv:3: not valid utf-8"):
        load("msp_podcast", root)
    csv.write_bytes(csv.read_bytes().replace(b"F\xe9male,Development", b"Female,Development,extra"))
    records, report = load("msp_podcast", root, transcripts=False)
    assert report.skipped["malformed_row"] == 1 and "labels_consensus.csv:3" in report.examples["malformed_row"][0]

    improv = make_msp_improv(tmp_path)
    label_file = improv / "Evalution.txt"
    label_file.write_bytes(label_file.read_bytes().replace(b"A; Angry;", b"A; Angr\xfc;"))
    records, report = load("msp_improv", improv)
    assert len(records) == 4 and report.skipped["undecodable_line"] == 1
    assert report.examples["undecodable_line"][0].startswith(f"{label_file}:2: not valid utf-8 text")
