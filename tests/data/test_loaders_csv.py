"""SIER-style ``label,speech,image[,text]`` CSV and the generic manifest CSV."""
import os

import pytest

from zoo.data import load
from zoo.data.records import CorpusError

from .fixtures import make_manifest, make_sier, write_text, write_wav


def by_id(records):
    return {r.utterance_id: r for r in records}


# ----------------------------------------------------------------------------- SIER
@pytest.mark.parametrize("header", [True, False])
def test_sier_integer_and_string_labels(tmp_path, header):
    csv_path = make_sier(tmp_path, header=header)
    records, report = load("sier", csv_path)
    recs = by_id(records)
    assert report.total_skipped == 0
    assert {k: r.label for k, r in recs.items()} == {
        "speech/u0": "happy", "speech/u1": "angry", "speech/u2": "angry", "speech/u3": "sad"}
    u0 = recs["speech/u0"]
    assert u0.audio_path == str(tmp_path / "sier" / "speech" / "u0.wav")
    assert u0.image_path == str(tmp_path / "sier" / "images" / "u0.png")
    assert u0.transcript == "what a lovely day" and recs["speech/u2"].transcript is None
    assert u0.corpus == "sier" and u0.extra["raw_label"] == "0"
    # The folder works too when it holds exactly one CSV; label_names re-maps integers.
    records, _ = load("sier", tmp_path / "sier", label_names=("neutral", "happy", "sad", "angry"))
    assert by_id(records)["speech/u0"].label == "neutral"


def test_sier_bad_rows(tmp_path):
    csv_path = make_sier(tmp_path)
    with open(csv_path, "a") as fh:
        fh.write("7,speech/u0.wav,images/u0.png,\n")          # line 6: label out of range
        fh.write("calm,speech/u1.wav,images/u1.png,\n")       # line 7: not a SIER label
        fh.write("1,speech/u1.wav,images/nope.png,\n")        # line 8: image missing
        fh.write("1,speech/u1.wav\n")                         # line 9: too few fields
        fh.write("2,speech/gone.wav,images/u1.png,\n")        # line 10: speech missing
        fh.write("2,speech/u1.wav,images/u1.png,again\n")     # line 11: duplicate
    records, report = load("sier", csv_path)
    assert len(records) == 4
    assert dict(report.skipped) == {"unknown_label": 2, "missing_image": 1, "malformed_row": 1,
                                    "missing_audio": 1, "duplicate_utterance": 1}
    assert f"{csv_path}:6: label 7 outside 0..3" in report.examples["unknown_label"][0]
    assert f"{csv_path}:8" in report.examples["missing_image"][0]
    with pytest.raises(CorpusError) as err:
        load("sier", csv_path, strict=True)
    assert err.value.line == 6
    write_text(tmp_path / "sier" / "other.csv", "label,speech,image\n")
    with pytest.raises(CorpusError, match="exactly one .csv"):
        load("sier", tmp_path / "sier")


# ----------------------------------------------------------------------------- manifest
def test_manifest_parse_with_vad_range(tmp_path):
    root = make_manifest(tmp_path)
    records, report = load("manifest", root, vad_range=(1, 5), probe_audio=True)
    recs = by_id(records)
    assert report.total_skipped == 0 and sorted(recs) == ["a0", "a1", "a2"]
    a0 = recs["a0"]
    assert (a0.label, a0.valence, a0.arousal, a0.dominance) == ("angry", -1.0, 1.0, 0.0)
    assert (a0.speaker, a0.session, a0.gender, a0.transcript) == ("spk1", "spk1", "F", "go away")
    assert a0.image_path == str(tmp_path / "mine" / "img" / "a0.png") and a0.corpus == "manifest"
    assert a0.extra["split"] == "train" and a0.extra["age"] == "30" and a0.sample_rate == 22050
    assert (recs["a1"].label, recs["a1"].valence, recs["a1"].transcript, recs["a1"].image_path) == ("happy", 0.5, "hello", None)
    assert (recs["a2"].gender, recs["a2"].label) == ("M", "neutral")
    records, report = load("manifest", root, vad_range=(1, 5), split="test", corpus="mine")
    assert [r.utterance_id for r in records] == ["a2"] and records[0].corpus == "mine"
    assert report.skipped["excluded_split"] == 2
    records, report = load("manifest", root / "manifest.csv", vad_range=(1, 5), classes=["happy", "angry"])
    assert sorted(r.label for r in records) == ["angry", "happy"] and report.skipped["excluded_class"] == 1


def test_manifest_bad_values_and_paths(tmp_path):
    root = make_manifest(tmp_path)
    # Default range is [-1, 1]: every row's 1-5 ratings are out of range.
    records, report = load("manifest", root)
    assert records == [] and report.skipped["malformed_row"] == 3
    assert f"{root / 'manifest.csv'}:2: valence 1.0 outside" not in report.examples["malformed_row"][0]
    assert f"{root / 'manifest.csv'}:2: arousal 5.0 outside [-1.0, 1.0]" in report.examples["malformed_row"][0]
    with open(root / "manifest.csv", "a") as fh:
        fh.write("audio/missing.wav,sad,3,3,3,spk3,F,test,,,\n")     # line 5
        fh.write("audio/a0.wav,sad,3,3,3,spk3,x,test,,,\n")          # line 6: bad gender
        fh.write("audio/a1.wav,sad,three,3,3,spk3,F,test,,,\n")      # line 7: bad valence
        fh.write("audio/a2.wav,sad,3,3,3,spk3,F,test,,img/no.png,\n")  # line 8: image missing
        fh.write("audio/a2.wav,,,,,spk3,F,test,,,\n")                 # line 9: no label, no V/A/D
        fh.write("audio/a2.wav,sad,3,3,3,spk3,F,test,,,\n")           # line 10: duplicate of a2
    records, report = load("manifest", root, vad_range=(1, 5))
    assert len(records) == 3
    assert dict(report.skipped) == {"missing_audio": 1, "malformed_row": 3, "missing_image": 1,
                                    "duplicate_utterance": 1}
    missing = report.examples["missing_audio"][0]
    assert str(root / "audio" / "missing.wav") in missing and "manifest.csv:5" in missing
    assert any(":6: gender 'x'" in e for e in report.examples["malformed_row"])
    assert any(":7: valence 'three' is not a number" in e for e in report.examples["malformed_row"])
    with pytest.raises(CorpusError, match="audio file not found"):
        load("manifest", root, vad_range=(1, 5), strict=True)
    assert len(load("manifest", root, vad_range=(1, 5), check_paths=False).records) == 4


def test_manifest_missing_columns_and_root(tmp_path):
    write_text(tmp_path / "m" / "manifest.csv", "file,label\nx.wav,sad\n")
    with pytest.raises(CorpusError, match="needs a 'path' column"):
        load("manifest", tmp_path / "m")
    write_text(tmp_path / "m" / "manifest.csv", "path,speaker\nx.wav,s\n")
    with pytest.raises(CorpusError, match="'label' or valence"):
        load("manifest", tmp_path / "m")
    with pytest.raises(CorpusError, match="does not exist"):
        load("manifest", tmp_path / "nowhere")
    with pytest.raises(CorpusError, match="CSV file not found"):
        load("manifest", tmp_path)
    assert os.path.isdir(tmp_path)


def test_sier_root_problems(tmp_path):
    with pytest.raises(CorpusError, match="nowhere.csv: sier root does not exist"):
        load("sier", tmp_path / "nowhere.csv")
    with pytest.raises(CorpusError, match=r"exactly one .csv \(found \[\]\)"):
        load("sier", tmp_path)


# ----------------------------------------------------------------------------- labels, rows, bytes
def _typo_manifest(tmp_path):
    root = make_manifest(tmp_path)
    for name in ("a3", "a4", "a5"):
        write_wav(root / "audio" / f"{name}.wav")
    with open(root / "manifest.csv", "a") as fh:
        fh.write("audio/a3.wav,angyr,3,3,3,spk2,F,test,,,\n")     # line 5: typo
        fh.write("audio/a4.wav,xyz123,3,3,3,spk2,F,test,,,\n")    # line 6: not a label at all
        fh.write("audio/a5.wav,Fear,3,3,3,spk2,F,test,,,\n")      # line 7: known, outside classes "4"
    return root


def test_manifest_label_typos_are_unknown_labels_not_new_classes(tmp_path):
    root = _typo_manifest(tmp_path)
    csv_path = root / "manifest.csv"
    records, report = load("manifest", root, vad_range=(1, 5))
    assert sorted(r.label for r in records) == ["angry", "fearful", "happy", "neutral"]
    assert dict(report.skipped) == {"unknown_label": 2}
    assert report.examples["unknown_label"][0].startswith(
        f"{csv_path}:5: unknown label 'angyr' (did you mean 'angry'?); pass labels=[...]")
    assert report.examples["unknown_label"][1].startswith(f"{csv_path}:6: unknown label 'xyz123'; pass labels=")
    with pytest.raises(CorpusError, match="unknown label 'angyr'") as err:
        load("manifest", root, vad_range=(1, 5), strict=True)
    assert (err.value.path, err.value.line) == (str(csv_path), 5)
    # With classes "4": the typos are still unknown labels; the known "fear" row is excluded.
    records, report = load("manifest", root, vad_range=(1, 5), classes="4")
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral"]
    assert dict(report.skipped) == {"unknown_label": 2, "excluded_class": 1}
    assert report.examples["excluded_class"] == ["a5 (fearful)"]
    with pytest.raises(ValueError, match=r"\['angyr'\] not among the known labels.*did you mean 'angry'"):
        load("manifest", root, vad_range=(1, 5), classes=["angyr"])


def test_manifest_own_label_set(tmp_path):
    root = _typo_manifest(tmp_path)
    # A custom label set: exactly those labels (after alias mapping) are accepted.
    records, report = load("manifest", root, vad_range=(1, 5), labels=["angry", "happy", "neutral", "xyz123"])
    assert sorted(r.label for r in records) == ["angry", "happy", "neutral", "xyz123"]
    assert dict(report.skipped) == {"unknown_label": 2}
    assert any(":7: unknown label 'Fear'; accepted: ['angry', 'happy', 'neutral', 'xyz123']" in e
               for e in report.examples["unknown_label"])
    records, report = load("manifest", root, vad_range=(1, 5), labels=["angry", "happy", "neutral", "xyz123"],
                           classes=["xyz123"])
    assert [r.label for r in records] == ["xyz123"] and report.skipped["excluded_class"] == 3
    with pytest.raises(ValueError, match=r"\['sad'\] not among the labels="):
        load("manifest", root, vad_range=(1, 5), labels=["angry", "xyz123"], classes=["sad"])
    # "any": every non-empty label, as before (no typo check).
    records, report = load("manifest", root, vad_range=(1, 5), labels="any")
    assert sorted(r.label for r in records) == ["angry", "angyr", "fearful", "happy", "neutral", "xyz123"]
    # canonical_labels=False keeps the spelling and compares case-insensitively without aliases.
    records, _ = load("manifest", root, vad_range=(1, 5), canonical_labels=False,
                      labels=["anger", "happiness", "neutral", "angyr", "xyz123", "fear"])
    assert sorted(r.label for r in records) == ["Anger", "Fear", "angyr", "happiness", "neutral", "xyz123"]
    with pytest.raises(ValueError, match="distinct"):
        load("manifest", root, labels=["anger", "angry"])  # one class after alias mapping
    with pytest.raises(ValueError, match="expected None, 'any'"):
        load("manifest", root, labels="all")


def test_manifest_ragged_rows_are_malformed(tmp_path):
    root = make_manifest(tmp_path)
    csv_path = root / "manifest.csv"
    with open(csv_path, "a") as fh:
        fh.write("audio/a0.wav,sad,3,3\n")                           # line 5: too few fields
        fh.write("audio/a1.wav,sad,3,3,3,spk3,F,test,,,,surplus\n")   # line 6: too many
        fh.write("\n")                                                # line 7: blank, ignored
        fh.write('audio/a2.wav,sad,3,3,3,spk3,F,test,"two\nlines",,,extra\n')  # line 8-9: too many
    records, report = load("manifest", root, vad_range=(1, 5))
    assert len(records) == 3 and dict(report.skipped) == {"malformed_row": 3}
    assert [e.split(": ", 1)[0] for e in report.examples["malformed_row"]] == [
        f"{csv_path}:5", f"{csv_path}:6", f"{csv_path}:8"]
    assert "4 fields, the header has 11" in report.examples["malformed_row"][0]
    assert "12 fields, the header has 11" in report.examples["malformed_row"][1]
    with pytest.raises(CorpusError, match="4 fields, the header has 11") as err:
        load("manifest", root, vad_range=(1, 5), strict=True)
    assert err.value.line == 5


def test_manifest_not_utf8_or_broken_csv_names_file_and_line(tmp_path):
    root = make_manifest(tmp_path)
    csv_path = root / "manifest.csv"
    text = csv_path.read_bytes().replace(b"hello", "h\u00e9llo".encode("latin-1"))  # line 3
    csv_path.write_bytes(text)
    with pytest.raises(CorpusError, match=r"manifest.csv:3: not valid utf-8 text: byte e9 at column") as err:
        load("manifest", root, vad_range=(1, 5))
    assert err.value.line == 3 and "encoding=" in err.value.problem
    records, _ = load("manifest", root, vad_range=(1, 5), encoding="latin-1")
    assert by_id(records)["a1"].transcript == "h\u00e9llo"
    # A UTF-8 byte-order mark is fine; a NUL byte or an unterminated quote is an error with its line.
    csv_path.write_bytes(b"\xef\xbb\xbf" + text.replace("h\u00e9llo".encode("latin-1"), "h\u00e9llo".encode()))
    assert by_id(load("manifest", root, vad_range=(1, 5)).records)["a1"].transcript == "h\u00e9llo"
    csv_path.write_bytes(text.replace("h\u00e9llo".encode("latin-1"), b'"hello'))
    with pytest.raises(CorpusError, match=r"manifest.csv:3: CSV syntax error"):
        load("manifest", root, vad_range=(1, 5))
    csv_path.write_bytes(b"")
    with pytest.raises(CorpusError, match="empty manifest"):
        load("manifest", root)


def test_sier_classes_ragged_rows_and_encoding(tmp_path):
    csv_path = make_sier(tmp_path)
    records, report = load("sier", csv_path, classes=["angry", "sad"])
    assert sorted(r.label for r in records) == ["angry", "angry", "sad"]
    assert dict(report.skipped) == {"excluded_class": 1}
    with pytest.raises(ValueError, match=r"\['neutral'\] not labels of sier"):
        load("sier", csv_path, classes="4")
    names = ("angry", "happy", "sad", "neutral")
    assert len(load("sier", csv_path, classes="4", label_names=names).records) == 4
    with open(csv_path, "a") as fh:
        fh.write("1,speech/u1.wav,images/u1.png,text,surplus\n")   # line 6: too many fields
    records, report = load("sier", csv_path)
    assert len(records) == 4 and report.skipped["malformed_row"] == 1
    assert f"{csv_path}:6: expected label,speech,image,text, got 5 fields" in report.examples["malformed_row"][0]
    headerless = make_sier(tmp_path / "h", header=False)
    with open(headerless, "a") as fh:
        fh.write("1,speech/u1.wav,images/u1.png,text,surplus\n")
    assert load("sier", headerless).report.skipped["malformed_row"] == 1
    headerless.write_bytes(headerless.read_bytes() + b"2,speech/u2.wav,images/u2.png,caf\xe9\n")
    with pytest.raises(CorpusError, match=r"data.csv:6: not valid utf-8 text"):
        load("sier", headerless)
