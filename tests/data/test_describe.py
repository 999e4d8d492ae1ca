"""``python -m zoo.data describe|synthesize`` through ``main([...])``."""
import json
import sys
import types

import pytest

from zoo.data.__main__ import main

from .fixtures import make_iemocap, make_manifest


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_describe_iemocap_four_class(tmp_path, capsys):
    root = make_iemocap(tmp_path)
    code, out, _ = run(capsys, ["describe", "iemocap", str(root), "--classes", "4"])
    assert code == 0
    d = json.loads(out)
    assert d["total"] == 8
    assert d["per_label"] == {"angry": 2, "happy": 3, "neutral": 2, "sad": 1}
    assert d["per_session"] == {"Ses01": 5, "Ses02": 3}
    assert d["per_speaker"] == {"Ses01_F": 4, "Ses01_M": 1, "Ses02_F": 2, "Ses02_M": 1}
    assert d["per_gender"] == {"F": 6, "M": 2}
    assert (d["improvised"], d["scripted"]) == (4, 4)
    assert d["per_session_label"]["Ses02"] == {"angry": 1, "happy": 1, "neutral": 1}
    assert d["report"]["skipped"] == {"appledouble": 2, "transcript_xx_speaker": 1, "excluded_class": 4}
    assert d["report"]["total_skipped"] == 7 and d["vad_clipped"] == 2


def test_describe_iemocap_all_and_seven(tmp_path, capsys):
    root = make_iemocap(tmp_path)
    d = json.loads(run(capsys, ["describe", "iemocap", str(root)])[1])
    assert (d["total"], d["improvised"], d["scripted"]) == (12, 7, 5)
    assert d["per_label"]["no_agreement"] == 1 and d["per_gender"] == {"F": 6, "M": 6}
    assert d["with_transcript"] == 12 and d["with_image"] == 1
    d = json.loads(run(capsys, ["describe", "iemocap", str(root), "--classes", "7"])[1])
    assert d["total"] == 10 and d["report"]["skipped"]["excluded_class"] == 2


def test_describe_manifest_with_option(tmp_path, capsys):
    root = make_manifest(tmp_path)
    code, out, _ = run(capsys, ["describe", "manifest", str(root), "-o", "vad_range=[1, 5]"])
    d = json.loads(out)
    assert code == 0 and d["total"] == 3 and d["per_split"] == {"test": 1, "train": 2}
    assert d["per_label"] == {"angry": 1, "happy": 1, "neutral": 1} and d["with_vad"] == 3
    assert d["options"] == {"vad_range": [1, 5]}


def test_describe_errors(tmp_path, capsys):
    code, out, err = run(capsys, ["describe", "iemocap", str(tmp_path / "nowhere")])
    assert code == 2 and out == "" and "nowhere: IEMOCAP root does not exist" in err
    root = make_iemocap(tmp_path)
    wav = root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_M000.wav"
    wav.unlink()
    code, _, err = run(capsys, ["describe", "iemocap", str(root), "--strict"])
    assert code == 2 and "Ses01F_impro01_M000.wav: wav of Ses01F_impro01_M000 not found" in err
    with pytest.raises(SystemExit, match=r"takes no option\(s\) \['channel'\]"):
        main(["describe", "sier", str(root), "-o", "channel=all"])
    with pytest.raises(SystemExit):
        main(["describe", "nocorpus", str(root)])


def test_synthesize_calls_the_synthetic_module(tmp_path, capsys, monkeypatch):
    calls = []

    def fake_synthesize(out_dir, seed=0, utterances=500):
        calls.append((out_dir, seed, utterances))
        return {"utterances": utterances, "seed": seed}

    monkeypatch.setitem(sys.modules, "zoo.data.synthetic",
                        types.SimpleNamespace(synthesize=fake_synthesize))
    code, out, _ = run(capsys, ["synthesize", str(tmp_path / "s"), "--seed", "7", "--utterances", "30"])
    assert code == 0 and json.loads(out) == {"utterances": 30, "seed": 7}
    assert calls == [(str(tmp_path / "s"), 7, 30)]
