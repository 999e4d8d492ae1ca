"""RAVDESS speech + FER-2013 faces: deterministic pairing, no face image in two parts of a fold."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from tests import shared_data
from tests.data.fixtures import write_wav
from zoo.data import protocols, ravdess_fer
from zoo.data.__main__ import main as data_cli
from zoo.data.records import CorpusError

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful"}
FER = {"angry": "angry", "happy": "happy", "sad": "sad", "neutral": "neutral", "fear": "fearful"}


def make_corpora(base, faces_per_class=12, actors=4):
    ravdess, n = base / "ravdess", 0
    for actor in range(1, actors + 1):
        for code in EMOTIONS:
            for rep in ("01", "02"):
                write_wav(ravdess / f"Actor_{actor:02d}" / f"03-01-{code}-01-01-{rep}-{actor:02d}.wav", ms=300,
                          freq=200.0 + 10 * n)  # distinct bytes (the loader drops byte copies)
                n += 1
    fer = base / "fer2013" / "train"
    rng = np.random.default_rng(0)
    for folder in FER:
        (fer / folder).mkdir(parents=True)
        for i in range(faces_per_class):
            Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(fer / folder / f"Training_{i}.png")
    (fer / "contempt").mkdir()  # not a FER-2013 emotion
    (fer / "happy" / "notes.txt").write_text("not a face")
    (fer / "happy" / "Training_copy.png").write_bytes((fer / "happy" / "Training_0.png").read_bytes())
    return ravdess, base / "fer2013"


@pytest.fixture
def corpora(tmp_path):
    return make_corpora(tmp_path)


def test_pairing_is_deterministic_from_the_seed_and_faces_match_the_emotion(corpora):
    ravdess, fer = corpora
    first = ravdess_fer.build(ravdess, fer, seed=0)
    again = ravdess_fer.build(ravdess, fer, seed=0)
    other = ravdess_fer.build(ravdess, fer, seed=1)
    pairs = [(r.utterance_id, r.image_path) for r in first.records]
    assert pairs == [(r.utterance_id, r.image_path) for r in again.records]
    assert pairs != [(r.utterance_id, r.image_path) for r in other.records]
    assert {r.utterance_id for r in other.records} == {r.utterance_id for r in first.records}
    for r in first.records:
        assert r.corpus == "ravdess_fer" and r.audio_path.endswith(".wav") and r.speaker.startswith("ravdess_")
        assert FER[os.path.basename(os.path.dirname(r.image_path))] == r.label  # a face of its own emotion
        assert r.extra["pairing_seed"] == 0 and r.extra["face"].startswith("train/")
    skipped = first.report.skipped
    assert skipped["no_face_class"] == 4 * 2  # calm: FER-2013 has no calm faces
    assert skipped["unknown_face_folder"] == 1 and skipped["not_an_image"] == 1 and skipped["duplicate_face"] == 1
    # fearful is in RAVDESS and (as FER's "fear") in the faces; nothing else is lost.
    assert len(first.records) == 4 * 2 * 5
    assert {r.label for r in ravdess_fer.build(ravdess, fer, classes="4").records} == {"angry", "happy", "sad", "neutral"}


def test_no_face_is_shared_by_two_records_so_no_fold_part_shares_one(corpora):
    ravdess, fer = corpora
    records = ravdess_fer.build(ravdess, fer, seed=3).records
    faces = [os.path.realpath(r.image_path) for r in records]
    assert len(set(faces)) == len(faces)
    for folds in (protocols.speaker_kfold(records, k=4, validation=0.34, seed=0),
                  protocols.speaker_kfold(records, k=2, seed=7)):
        assert all(not shared for shared in ravdess_fer.face_overlap(folds).values())
        for fold in folds:  # and the speakers stay apart (checked by the protocol as well)
            assert not fold.speakers("train") & fold.speakers("test")
    # The check itself sees a leak when there is one.
    leaky = [records[0], records[1].replace(image_path=records[0].image_path, speaker="ravdess_99")]
    (fold,) = protocols.speaker_kfold(leaky, k=2)[:1]
    assert ravdess_fer.face_overlap([fold])[fold.name] == [os.path.realpath(records[0].image_path)]



def test_unpaired_faces_are_every_face_no_record_was_paired_with_byte_copies_included(corpora):
    ravdess, fer = corpora
    records = ravdess_fer.build(ravdess, fer, seed=0).records
    pool = ravdess_fer.unpaired_faces(records)
    paired = {os.path.realpath(r.image_path) for r in records}
    digest = lambda p: open(p, "rb").read()  # noqa: E731
    paired_bytes = {digest(p) for p in paired}
    # 12 faces a class (happy: 12 + a byte copy, read as one), 8 utterances a class paired.
    assert len(pool) == 5 * 12 - len(records) == 20
    assert not {os.path.realpath(p) for p, _ in pool} & paired
    assert not {digest(p) for p, _ in pool} & paired_bytes  # no copy of a paired face either
    assert all(FER[os.path.basename(os.path.dirname(p))] == label for p, label in pool)
    assert pool == sorted(pool) and pool == ravdess_fer.unpaired_faces(list(reversed(records)))
    with pytest.raises(ValueError, match="not paired"):
        ravdess_fer.unpaired_faces([records[0].replace(extra={})])

def test_too_few_faces_is_an_error_naming_the_emotion(tmp_path):
    ravdess, fer = make_corpora(tmp_path, faces_per_class=5)
    with pytest.raises(ValueError, match=r"8 angry utterances but only 5 angry faces"):
        ravdess_fer.build(ravdess, fer)
    with pytest.raises(CorpusError, match="not a FER-2013 root"):
        ravdess_fer.read_faces(ravdess)
    with pytest.raises(ValueError, match="needs faces="):
        ravdess_fer.load(ravdess)


def test_pair_faces_cli_writes_a_sier_csv_that_loads_back_the_same_pairs(corpora, tmp_path, capsys):
    ravdess, fer = corpora
    out = tmp_path / "paired" / "ravdess_fer.csv"
    assert data_cli(["pair-faces", str(ravdess), str(fer), str(out), "--seed", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == 40 and summary["report"]["skipped"]["no_face_class"] == 8
    assert out.read_text().splitlines()[0] == "label,speech,image,speaker"
    loaded = ravdess_fer.load(out)
    built = ravdess_fer.build(ravdess, fer, seed=2)
    key = lambda r: (r.utterance_id, r.label, os.path.realpath(r.audio_path), os.path.realpath(r.image_path), r.speaker)
    assert sorted(map(key, loaded.records)) == sorted(map(key, built.records))
    assert {r.corpus for r in loaded.records} == {"ravdess_fer"}
    with pytest.raises(ValueError, match="drop faces="):
        ravdess_fer.load(out, faces=fer)
    from zoo import data

    assert len(data.load("ravdess_fer", ravdess, faces=fer, seed=2).records) == 40


@pytest.mark.slow
def test_parallelnet_runs_on_the_paired_corpus_through_the_runner(tmp_path):
    from benchmarks import runner
    from zoo import profiles, registry

    ravdess, fer = make_corpora(tmp_path, actors=5)  # speaker_kfold's 5 folds
    tiny = profiles.Profile(name="tiny", description="test", seeds=(0,), max_folds=1, epochs={"parallelnet": 1},
                            batch_size={"parallelnet": 8}, build={"parallelnet": registry.get_spec("parallelnet").tiny_args()},
                            features={"parallelnet": {"speech": {"size": 32, "n_mels": 32}, "image": {"size": 32}}})
    result = runner.run_model("parallelnet", "ravdess_fer", str(ravdess), profile=tiny, out_runs=tmp_path / "runs",
                              cache_dir=tmp_path / "cache", loader_options={"faces": str(fer), "seed": 0})
    (run,) = result["runs"]
    assert result["setup"]["protocol"] == "speaker_kfold" and run["n_test"] > 0
    assert result["setup"]["label_set"] == sorted({"angry", "fearful", "happy", "neutral", "sad"})


@shared_data.needs("ravdess")
@shared_data.needs("fer2013")
def test_the_development_copies_pair_without_reusing_a_face():
    result = ravdess_fer.build(shared_data.corpus("ravdess"), shared_data.corpus("fer2013"), seed=0)
    assert result.report.skipped["no_face_class"] == 128  # RAVDESS calm
    faces = [r.image_path for r in result.records]
    assert len(faces) == len(set(faces)) > 800
