"""MELD loader: the distributed CSVs (quoted fields, Windows-1252 leftovers, bad rows)."""
import pytest

from tests import shared_data
from zoo import data
from zoo.data import meld
from zoo.data.records import CorpusError

HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\r\n"


def row(sr, text, speaker, emotion, dia, utt, sentiment="neutral"):
    return f'{sr},{text},{speaker},{emotion},{sentiment},{dia},{utt},8,21,"00:16:16,059","00:16:21,731"\r\n'


def write_meld(folder, train_rows, dev_rows=(), test_rows=(), raw_train=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("dev", dev_rows), ("test", test_rows)):
        (folder / meld.SPLITS[name]).write_bytes((HEADER + "".join(rows)).encode("utf-8"))
    (folder / meld.SPLITS["train"]).write_bytes(raw_train if raw_train is not None
                                                else (HEADER + "".join(train_rows)).encode("utf-8"))
    return folder


def test_rows_become_records_with_quoted_fields_and_canonical_labels(tmp_path):
    root = write_meld(tmp_path / "meld", [
        row(1, "also I was the point person on my company’s transition.", "Chandler", "neutral", 0, 0),
        row(2, '"Oh, yeah, sure, ""great"" idea."', "The Interviewer", "joy", 0, 1, "positive"),
        row(3, '"Two lines,\r\nin one field"', "Monica", "anger", 1, 0, "negative"),
        row(4, "Yeah.", "Joey", "surprise", 1, 1),
    ], dev_rows=[row(1, "Hi.", "Ross", "sadness", 0, 0)], test_rows=[row(1, "Hey!", "Rachel", "fear", 0, 0)])
    records, report = data.load("meld", root, split="train")
    assert report.total_skipped == 0
    assert [r.utterance_id for r in records] == ["train_dia0_utt0", "train_dia0_utt1", "train_dia1_utt0",
                                                 "train_dia1_utt1"]
    assert [r.label for r in records] == ["neutral", "happy", "angry", "surprised"]
    chandler, interviewer, monica, joey = records
    assert chandler.transcript.endswith("company’s transition.") and chandler.speaker == "Chandler"
    assert interviewer.transcript == 'Oh, yeah, sure, "great" idea.' and interviewer.speaker == "The Interviewer"
    assert interviewer.extra["raw_emotion"] == "joy" and interviewer.extra["sentiment"] == "positive"
    assert monica.transcript == "Two lines,\r\nin one field" and monica.session == "Monica"
    assert joey.extra["line"] == 6  # Monica's row spans physical lines 4-5
    assert chandler.extra["start_time"] == "00:16:16,059" and chandler.extra["dialog"] == "train_dia0"
    assert chandler.audio_path is None and chandler.corpus == "meld"
    everything, _ = data.load("meld", root)
    assert [r.utterance_id for r in everything][-2:] == ["dev_dia0_utt0", "test_dia0_utt0"]
    assert data.summarize(data.load("meld", root))["per_split"] == {"dev": 1, "test": 1, "train": 4}


def test_classes_select_and_count_exclusions(tmp_path):
    root = write_meld(tmp_path / "meld", [row(i, "x y", "Joey", e, 0, i) for i, e in enumerate(meld.RAW_EMOTIONS)])
    records, report = meld.load(root, split="train", classes="4")
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral", "sad"]
    assert report.skipped["excluded_class"] == 3
    assert meld.label_set() == ("neutral", "happy", "surprised", "angry", "sad", "disgust", "fearful")
    with pytest.raises(ValueError, match="MELD has no \\['boredom'\\]"):
        meld.load(root, classes=["boredom", "sad"])
    with pytest.raises(ValueError, match="split='val'"):
        meld.load(root, split="val")


def test_windows_1252_leftovers_are_repaired_and_flagged_or_skipped_with_the_line(tmp_path):
    raw = (HEADER + row(1, "You must\u0092ve had your hands full.", "Chandler", "neutral", 0, 0)).encode("utf-8")
    raw += row(2, "That I did\x85", "Chandler", "neutral", 0, 1).encode("utf-8").replace(b"\xc2\x85", b"\x85")
    raw += row(3, "Bad \x81 byte", "Joey", "neutral", 0, 2).encode("utf-8").replace(b"\xc2\x81", b"\x81")
    raw += row(4, "Fine.", "Joey", "neutral", 0, 3).encode("utf-8")
    root = write_meld(tmp_path / "meld", (), raw_train=raw)
    records, report = meld.load(root, split="train")
    c1, raw_byte, fine = records
    assert c1.transcript == "You must’ve had your hands full." and c1.extra["text_repaired"] == "cp1252"
    assert raw_byte.transcript == "That I did…" and raw_byte.extra["text_repaired"] == "cp1252"
    assert "text_repaired" not in fine.extra
    assert report.skipped == {"undecodable_text": 1}
    assert f"{root / meld.SPLITS['train']}:4:" in report.examples["undecodable_text"][0]
    _, report = meld.load(root, split="train", repair_cp1252=False)
    assert report.skipped == {"undecodable_text": 3}
    with pytest.raises(CorpusError, match=r"train_sent_emo.csv:2: .*not UTF-8"):
        meld.load(root, split="train", repair_cp1252=False, strict=True)


def test_bad_rows_are_counted_skips_naming_file_and_line(tmp_path):
    root = write_meld(tmp_path / "meld", [
        row(1, "ok", "Joey", "neutral", 0, 0),
        row(2, "what?", "Joey", "confused", 0, 1),
        row(3, "", "Joey", "neutral", 0, 2),
        row(4, "no speaker", "", "neutral", 0, 3),
        row(5, "bad id", "Joey", "neutral", "x", 4),
        row(6, "again", "Ross", "joy", 0, 0),
        "7,too,few,fields\r\n",
    ])
    records, report = meld.load(root, split="train")
    assert [r.transcript for r in records] == ["ok"]
    assert report.skipped == {"malformed_row": 5, "duplicate_utterance": 1}
    path = root / meld.SPLITS["train"]
    assert any(f"{path}:3: unknown emotion 'confused'" in e for e in report.examples["malformed_row"])
    assert f"{path}:7: train_dia0_utt0 listed twice" in report.examples["duplicate_utterance"][0]
    with pytest.raises(CorpusError, match=r":3: unknown emotion"):
        meld.load(root, split="train", strict=True)


def test_missing_files_and_columns_raise(tmp_path):
    with pytest.raises(CorpusError, match="meld root does not exist"):
        meld.load(tmp_path / "nowhere")
    root = write_meld(tmp_path / "meld", [row(1, "ok", "Joey", "neutral", 0, 0)])
    (root / meld.SPLITS["dev"]).unlink()
    assert len(meld.load(root, split=["train", "test"]).records) == 1
    with pytest.raises(CorpusError, match="dev_sent_emo.csv: MELD dev file not found"):
        meld.load(root)
    (root / meld.SPLITS["test"]).write_text("Utterance,Speaker,Emotion\nhi,Joey,neutral\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"test_sent_emo.csv:1: header lacks MELD column\(s\) \['Dialogue_ID'"):
        meld.load(root, split="test")


@shared_data.needs("meld")
def test_the_distributed_release_loads_without_skips():
    records, report = data.load("meld", shared_data.corpus("meld"))
    assert report.total_skipped == 0
    counts = data.summarize((records, report))["per_split"]
    assert counts == {"train": 9989, "dev": 1109, "test": 2610}
    assert {r.label for r in records} == set(meld.MELD_7)
    assert len({r.utterance_id for r in records}) == len(records)
