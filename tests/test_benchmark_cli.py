"""``python -m benchmarks`` itself (``benchmarks.__main__.cli`` with an argv, in process) on a tiny
on-disk corpus of every layout the runner accepts: it exits 0, writes ``results.json`` and
``results.md`` with the records the corpus holds, and a user error is one ``error:`` line with
exit status 2.

Each corpus is written here in its distributed layout (the naming of ``tests/data/fixtures.py``)
with 5 speakers x 2 classes x 2 utterances of 0.5 s tone: speaker 5-fold is the protocol off
IEMOCAP, and the SVM's out-of-fold calibration needs every class in every inner training part.
The classic baselines (``svm_hsf`` on audio, ``tfidf_lr`` on transcripts) keep it fast; one tiny
BLSTMATT (1 epoch) runs through the same command line on the built-in corpus.
"""
import json
from pathlib import Path

import pytest

from benchmarks import __main__ as bench
from tests.data.fixtures import write_text, write_wav
from zoo import profiles

SPEAKERS = 5
TAKES = 2  # utterances per class and speaker
MS = 500
#: Two sentences per class, so that the transcripts of a class differ (tfidf_lr).
WORDS = {"angry": ("get out now", "i hate this"), "neutral": ("the door is open", "it is monday")}


def _wav(path, rate=16000):
    return write_wav(path, rate, ms=MS)


def make_emodb(base: Path) -> Path:
    root = base / "emodb"
    for speaker in ("03", "08", "09", "10", "11"):
        for code in ("W", "N"):  # anger, neutral
            for text in ("a01", "a02")[:TAKES]:
                _wav(root / "wav" / f"{speaker}{text}{code}a.wav")
    return root


def make_ravdess(base: Path) -> Path:
    root = base / "RAVDESS" / "Audio_Speech_Actors_01-24"
    for actor in range(1, SPEAKERS + 1):
        for emotion in ("05", "01"):  # angry, neutral
            for statement in ("01", "02")[:TAKES]:
                _wav(root / f"Actor_{actor:02d}" / f"03-01-{emotion}-01-{statement}-01-{actor:02d}.wav", 48000)
    return root.parent


def make_cremad(base: Path) -> Path:
    root = base / "CREMA-D"
    for actor in range(1001, 1001 + SPEAKERS):
        for emotion in ("ANG", "NEU"):
            for sentence in ("IEO", "TIE")[:TAKES]:
                _wav(root / "AudioWAV" / f"{actor}_{sentence}_{emotion}_XX.wav")
    return root


def make_msp_improv(base: Path) -> Path:
    root = base / "MSP-IMPROV"
    lines = []
    for s, speaker in enumerate(("F01", "M01", "F02", "M02", "F03")):
        session = int(speaker[1:])
        for code in ("A", "N"):
            for take in range(1, TAKES + 1):
                key = f"S0{take}{code}-{speaker}-S-FM0{s + 1}"
                _wav(root / "Audio" / f"session{session}" / key[:4] / "S" / f"MSP-IMPROV-{key}.wav", 44100)
                lines.append(f"UTD-IMPROV-{key}.avi; {code}; A:3.0; V:3.0; D:3.0; N:3.0;\n")
    write_text(root / "Evaluation.txt", "\n".join(lines))
    return root


def make_msp_podcast(base: Path) -> Path:
    root = base / "MSP-Podcast"
    rows = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    for speaker in range(1, SPEAKERS + 1):
        for c, (code, label) in enumerate((("A", "angry"), ("N", "neutral"))):
            for take in range(TAKES):
                name = f"MSP-PODCAST_{speaker:04d}_{c * TAKES + take + 1:04d}.wav"
                _wav(root / "Audios" / name)
                write_text(root / "Transcripts" / name.replace(".wav", ".txt"), WORDS[label][take])
                rows.append(f"{name},{code},4.0,4.0,4.0,{speaker},Female,Train")
    write_text(root / "Labels" / "labels_consensus.csv", "\n".join(rows) + "\n")
    return root


def _rows(root: Path, folder: str):
    """``(speaker, label, relative wav, transcript)`` of the CSV layouts, wavs written."""
    out = []
    for speaker in range(1, SPEAKERS + 1):
        for label in ("angry", "neutral"):
            for take in range(TAKES):
                rel = f"{folder}/s{speaker}_{label}_{take}.wav"
                _wav(root / rel)
                out.append((f"spk{speaker}", label, rel, WORDS[label][take]))
    return out


def make_manifest(base: Path) -> Path:
    root = base / "mine"
    rows = ["path,label,speaker,text"]
    rows += [f"{rel},{label},{spk},{text}" for spk, label, rel, text in _rows(root, "audio")]
    return write_text(root / "manifest.csv", "\n".join(rows) + "\n")


def make_sier(base: Path, speakers: bool = True) -> Path:
    """ParallelNet's ``label,speech,image,text`` CSV (integer labels: 3 angry, 1 sad), with a
    ``speaker`` column when ``speakers``."""
    root = base / "sier"
    lines = ["label,speech,image,text" + (",speaker" if speakers else "")]
    for spk, label, rel, text in _rows(root, "speech"):
        image = rel.replace("speech/", "images/").replace(".wav", ".png")
        write_text(root / image, "png")  # the loader checks that the image exists; the baselines never read it
        lines.append(f"{3 if label == 'angry' else 1},{rel},{image},{text}" + (f",{spk}" if speakers else ""))
    return write_text(root / "pairs.csv", "\n".join(lines) + "\n")


MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"


def make_meld(base: Path) -> Path:
    root = base / "MELD"
    names = ("Chandler", "Monica", "Ross", "Rachel", "Joey")
    rows = {"train": [], "dev": [], "test": []}
    n = 0
    for s, speaker in enumerate(names):
        for emotion, label in (("anger", "angry"), ("neutral", "neutral")):
            for take in range(TAKES):
                split = ("train", "dev", "test")[n % 3]
                rows[split].append(f'{n + 1},"{WORDS[label][take]}",{speaker},{emotion},neutral,{s},{n},1,1,'
                                   f'"00:00:01,000","00:00:02,000"')
                n += 1
    for split, lines in rows.items():
        write_text(root / f"{split}_sent_emo.csv", "\n".join([MELD_HEADER, *lines]) + "\n")
    return root


# corpus: (builder, models, its label set); every corpus holds RECORDS records
LAYOUTS = {
    "emodb": (make_emodb, ["svm_hsf"], ["angry", "neutral"]),
    "ravdess": (make_ravdess, ["svm_hsf"], ["angry", "neutral"]),
    "cremad": (make_cremad, ["svm_hsf"], ["angry", "neutral"]),
    "msp_improv": (make_msp_improv, ["svm_hsf"], ["angry", "neutral"]),
    "msp_podcast": (make_msp_podcast, ["svm_hsf", "tfidf_lr"], ["angry", "neutral"]),
    "manifest": (make_manifest, ["svm_hsf", "tfidf_lr"], ["angry", "neutral"]),
    "sier": (make_sier, ["svm_hsf", "tfidf_lr"], ["angry", "sad"]),  # SIER's labels have no neutral
    "meld": (make_meld, ["tfidf_lr"], ["angry", "neutral"]),  # MELD's loader reads the CSVs only (no audio)
}
RECORDS = SPEAKERS * 2 * TAKES


def run_cli(capsys, *argv):
    status = bench.cli(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _results(out: Path) -> dict:
    saved = json.loads((out / "results.json").read_text())
    assert (out / "results.md").read_text().startswith("# Benchmark")
    return saved


@pytest.mark.parametrize("corpus", LAYOUTS)
def test_every_layout_runs_through_the_command_line(corpus, tmp_path, capsys):
    build, models, labels = LAYOUTS[corpus]
    root = build(tmp_path / "data")
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "--corpus", corpus, "--root", str(root), "--models", *models,
                                     "--folds", "1", "--seeds", "0", "--out", str(out), "--runs",
                                     str(tmp_path / "runs"), "--cache", str(tmp_path / "cache"), "--verbose", "0")
    assert status == 0, stderr
    saved = _results(out)
    assert saved["meta"]["corpus"] == corpus
    assert set(saved["results"]) == set(models)
    for name in models:
        setup, runs = saved["results"][name]["setup"], saved["results"][name]["runs"]
        assert setup["records"] == RECORDS and setup["records_loaded"] == RECORDS, setup
        assert setup["label_set"] == labels
        (run,) = runs  # one fold, one seed
        if corpus == "meld":  # MELD's official split (every third row is test); train + dev train the baseline
            assert setup["protocol"] == "official" and run["n_test"] == 6 and run["n_train"] == RECORDS - 6
        else:  # speaker 5-fold: one speaker's utterances are tested, the four others' trained on
            assert run["n_test"] == 2 * TAKES and run["n_train"] == RECORDS - 2 * TAKES
        assert sum(map(sum, run["confusion_matrix"])) == run["n_test"]
        assert f"`{name}`" in stdout


def test_sier_without_a_speaker_column(tmp_path, capsys):
    """ParallelNet's own CSV may have no speaker column: speaker k-fold cannot hold speakers out,
    which is one error line naming a record and the missing speaker (exit 2), not a traceback."""
    root = make_sier(tmp_path / "data", speakers=False)
    status, _, stderr = run_cli(capsys, "--corpus", "sier", "--root", str(root), "--models", "svm_hsf",
                                "--folds", "1", "--seeds", "0", "--out", str(tmp_path / "out"),
                                "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache"))
    assert status == 2, stderr
    assert stderr.count("\n") == 1 and "error:" in stderr and "speaker" in stderr and "Traceback" not in stderr


def test_a_wrong_root_is_one_error_line(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    status, stdout, stderr = run_cli(capsys, "--corpus", "emodb", "--root", str(missing), "--models", "svm_hsf",
                                     "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs"))
    assert status == 2 and stdout == ""
    assert stderr.startswith("python -m benchmarks: error: ") and stderr.count("\n") == 1, stderr
    assert str(missing) in stderr
    assert not (tmp_path / "out").exists()


def test_a_root_of_another_layout_is_one_error_line(tmp_path, capsys):
    root = make_emodb(tmp_path / "data")
    status, _, stderr = run_cli(capsys, "--corpus", "cremad", "--root", str(root), "--models", "svm_hsf",
                                "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs"))
    assert status == 2 and stderr.count("\n") == 1 and "error:" in stderr and str(root) in stderr, stderr


TINY = profiles.Profile(
    name="tiny", description="test", seeds=(0,), max_folds=1, epochs={"blstmatt": 1},
    build={"blstmatt": {"lstm_units": 4, "attention_units": 4}}, batch_size={"blstmatt": 8},
    learning_rate={"blstmatt": 1e-2}, utterances=40)


@pytest.mark.slow
def test_a_deep_model_on_the_built_in_corpus(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(capsys, "--profile", "tiny", "--models", "blstmatt", "--root",
                                     str(tmp_path / "corpus"), "--utterances", "40", "--out", str(out),
                                     "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache"),
                                     "--verbose", "0")
    assert status == 0, stderr
    saved = _results(out)
    (run,) = saved["results"]["blstmatt"]["runs"]
    setup = saved["results"]["blstmatt"]["setup"]
    assert run["epochs_run"] == 1 and run["n_test"] > 0
    assert run["n_train"] + run["n_validation"] + run["n_test"] == setup["records"]
    assert "**blstmatt**" in stdout


@pytest.mark.slow
def test_the_iemocap_layout(tmp_path, capsys):
    from zoo.data import synthetic

    summary = synthetic.ensure_corpus(tmp_path / "corpus", seed=0, utterances=80)
    out = tmp_path / "out"
    status, _, stderr = run_cli(capsys, "--corpus", "iemocap", "--root", str(summary["iemocap_root"]), "--models",
                                "svm_hsf", "tfidf_lr", "--folds", "1", "--seeds", "0", "--out", str(out),
                                "--runs", str(tmp_path / "runs"), "--cache", str(tmp_path / "cache"))
    assert status == 0, stderr
    saved = _results(out)
    for name in ("svm_hsf", "tfidf_lr"):
        setup = saved["results"][name]["setup"]
        (run,) = saved["results"][name]["runs"]
        assert setup["label_set"] == ["angry", "happy", "sad", "neutral"] and setup["protocol"] == "session5"
        assert run["n_train"] + run["n_test"] == setup["records"] > 0


def test_classes_and_protocol_are_in_the_results_and_checkpoint_folders(tmp_path, capsys):
    """A run with other classes must not resume (or overwrite) the default run's checkpoints."""
    root = make_emodb(tmp_path / "data")
    runs = tmp_path / "runs"
    common = ["--corpus", "emodb", "--root", str(root), "--models", "svm_hsf", "--folds", "1", "--seeds", "0",
              "--runs", str(runs), "--cache", str(tmp_path / "cache"), "--verbose", "0"]
    assert run_cli(capsys, *common)[0] == 0
    assert run_cli(capsys, *common, "--classes", "all")[0] == 0
    assert run_cli(capsys, *common, "--protocol", "speaker_kfold", "--classes", "angry", "neutral")[0] == 0
    assert sorted(p.name for p in (runs / "results").iterdir()) == [
        "smoke-emodb", "smoke-emodb-all-classes", "smoke-emodb-speaker_kfold-angry-neutral"]
