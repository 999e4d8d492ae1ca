"""Protocols on hand-made IEMOCAP-like records: counts, speaker independence, determinism."""
import numpy as np
import pytest

from zoo.data import protocols
from zoo.data.protocols import Fold, SpeakerLeakError, assert_speaker_independent
from zoo.data.records import Record

LABELS = ("angry", "happy", "sad", "neutral")


def make_records():
    """5 sessions x 2 speakers; speaker SesNF has 3+N utterances, SesNM has 2+N (55 total)."""
    records = []
    for s in range(1, 6):
        for letter, n in (("F", 3 + s), ("M", 2 + s)):
            for k in range(n):
                records.append(Record(
                    utterance_id=f"Ses0{s}F_impro01_{letter}{k:03d}", corpus="iemocap",
                    speaker=f"Ses0{s}{letter}", gender=letter, session=f"Session{s}",
                    label=LABELS[k % 4]))
    return records


RECORDS = make_records()
N = len(RECORDS)
PER_SESSION = {s: (3 + s) + (2 + s) for s in range(1, 6)}  # 7, 9, 11, 13, 15


def speakers(fold, part):
    return {r.speaker for r in fold.part_records(part)}


def test_fixture_counts():
    assert N == 55 and sum(PER_SESSION.values()) == N


def test_loso_counts_per_fold():
    folds = protocols.leave_one_session_out(RECORDS)
    assert [f.name for f in folds] == [f"loso-Session{s}" for s in range(1, 6)]
    for s, fold in zip(range(1, 6), folds):
        assert fold.sizes() == {"train": N - PER_SESSION[s], "validation": 0, "test": PER_SESSION[s]}
        assert speakers(fold, "test") == {f"Ses0{s}F", f"Ses0{s}M"}
        assert len(speakers(fold, "train")) == 8
        assert {r.session for r in fold.test_records} == {f"Session{s}"}
    # every record is tested exactly once over the folds
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(N))


def test_loso_validation_from_training_speakers_only():
    folds = protocols.leave_one_session_out(RECORDS, validation=0.25, seed=3)
    for s, fold in zip(range(1, 6), folds):
        val = speakers(fold, "validation")
        assert len(val) == 2  # ceil(0.25 * 8 training speakers)
        assert not val & speakers(fold, "test")
        assert {r.session for r in fold.validation_records}.isdisjoint({f"Session{s}"})
        # the test part is unchanged; validation + train = the old training part
        assert len(fold.test) == PER_SESSION[s]
        assert len(fold.train) + len(fold.validation) == N - PER_SESSION[s]


def test_session5_holdout():
    (fold,) = protocols.session_holdout(RECORDS)
    assert fold.sizes() == {"train": N - 15, "validation": 0, "test": 15}
    assert {r.session for r in fold.test_records} == {"Session5"}
    assert {r.session for r in fold.train_records} == {f"Session{s}" for s in range(1, 5)}
    # by name and by number give the same fold
    (by_name,) = protocols.session_holdout(RECORDS, test_sessions="Session5")
    np.testing.assert_array_equal(by_name.test, fold.test)
    with pytest.raises(ValueError, match="no record is in test session"):
        protocols.session_holdout(RECORDS, test_sessions=(9,))


def test_speaker_kfold_tests_each_speaker_once():
    folds = protocols.speaker_kfold(RECORDS, k=5, seed=0)
    assert len(folds) == 5
    tested = [spk for f in folds for spk in speakers(f, "test")]
    assert sorted(tested) == sorted({r.speaker for r in RECORDS})  # each once
    for f in folds:
        assert len(f.train) + len(f.test) == N
        assert len(speakers(f, "test")) == 2
    with pytest.raises(ValueError, match="number of groups"):
        protocols.speaker_kfold(RECORDS, k=11)


def test_amh_10fold_8_1_1_by_speaker():
    folds = protocols.amh_10fold(RECORDS, seed=0)
    assert len(folds) == 10
    for f in folds:
        assert len(speakers(f, "test")) == 1
        assert len(speakers(f, "validation")) == 1
        assert len(speakers(f, "train")) == 8
        assert sum(f.sizes().values()) == N
    tested = sorted(spk for f in folds for spk in speakers(f, "test"))
    validated = sorted(spk for f in folds for spk in speakers(f, "validation"))
    assert tested == validated == sorted({r.speaker for r in RECORDS})


def test_random_split_requires_explicit_leakage():
    with pytest.raises(ValueError, match="allow_speaker_leakage"):
        protocols.random_split(RECORDS)
    (fold,) = protocols.random_split(RECORDS, test=0.2, validation=0.25, allow_speaker_leakage=True)
    assert fold.sizes() == {"train": 33, "validation": 11, "test": 11}
    # this split does leak speakers, and the assertion used by every other protocol says so
    with pytest.raises(SpeakerLeakError):
        assert_speaker_independent(fold)


def test_assert_speaker_independent_on_hand_made_fold():
    recs = tuple(RECORDS[:4])  # all speaker Ses01F
    bad = Fold("bad", np.array([0, 1]), np.array([], dtype=np.int64), np.array([2, 3]), recs)
    with pytest.raises(SpeakerLeakError, match="Ses01F"):
        assert_speaker_independent(bad)
    good = Fold("good", np.array([0, 1]), np.array([], dtype=np.int64), np.array([20]), tuple(RECORDS))
    assert assert_speaker_independent(good) is good


@pytest.mark.parametrize("name,opts", [
    ("loso", {"validation": 0.2}),
    ("session5", {"validation": 0.2}),
    ("speaker_kfold", {"k": 4, "validation": 0.2}),
    ("amh_10fold", {}),
])
def test_every_protocol_speaker_independent_and_deterministic(name, opts):
    a = protocols.get(name, seed=7, **opts)(RECORDS)
    b = protocols.get(name, seed=7, **opts)(list(RECORDS))
    assert len(a) == len(b) > 0
    for fa, fb in zip(a, b):
        assert_speaker_independent(fa)
        for part in ("train", "validation", "test"):
            np.testing.assert_array_equal(fa.part(part), fb.part(part))
            assert fa.part(part).dtype == np.int64


def test_seed_changes_validation_speakers():
    picks = {tuple(sorted(speakers(protocols.session_holdout(RECORDS, validation=0.25, seed=s)[0],
                                   "validation"))) for s in range(6)}
    assert len(picks) > 1


def test_registry_and_errors():
    assert set(protocols.PROTOCOLS) == {"loso", "session5", "speaker_kfold", "amh_10fold", "random"}
    with pytest.raises(KeyError, match="unknown protocol"):
        protocols.get("kfold")
    with pytest.raises(TypeError, match="loso"):
        protocols.get("loso", folds=3)
    no_speaker = RECORDS[:3] + [Record(utterance_id="orphan_001", corpus="x", session="Session1")]
    with pytest.raises(ValueError, match="orphan_001"):
        protocols.speaker_kfold(no_speaker, k=2)
