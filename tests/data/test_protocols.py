"""Protocols on hand-made IEMOCAP-like records: counts, speaker independence, determinism,
text-safe variants (no script shared by test and training) and the single-fold ``all``."""
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
    ("loso_text_safe", {"validation": 0.2}),
    ("session5_text_safe", {"validation": 0.2, "improvised_test": True}),
    ("amh_10fold_text_safe", {}),
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
    assert set(protocols.PROTOCOLS) == {"loso", "session5", "speaker_kfold", "amh_10fold", "random", "all",
                                        "loso_text_safe", "session5_text_safe", "amh_10fold_text_safe",
                                        "official", "cross_corpus"}
    with pytest.raises(KeyError, match="unknown protocol"):
        protocols.get("kfold")
    with pytest.raises(TypeError, match="loso"):
        protocols.get("loso", folds=3)
    no_speaker = RECORDS[:3] + [Record(utterance_id="orphan_001", corpus="x", session="Session1")]
    with pytest.raises(ValueError, match="orphan_001"):
        protocols.speaker_kfold(no_speaker, k=2)


# ----------------------------------------------------------------------------- text-safe protocols


def make_scripted_records():
    """5 sessions x 2 speakers x 2 utterances per dialog: impro01, script01_1 and script02_2 in
    every session, script03_1 only in session 2 (64 records). Half the records carry
    ``extra["dialog"]`` as the loader sets it, the rest only the utterance id."""
    records = []
    for s in range(1, 6):
        dialogs = ["impro01", "script01_1", "script02_2"] + (["script03_1"] if s == 2 else [])
        for dialog in dialogs:
            for letter in "FM":
                for k in range(2):
                    extra = {"dialog": f"Ses0{s}F_{dialog}", "improvised": dialog.startswith("impro")} if k else {}
                    records.append(Record(
                        utterance_id=f"Ses0{s}F_{dialog}_{letter}{k:03d}", corpus="iemocap",
                        speaker=f"Ses0{s}{letter}", gender=letter, session=f"Session{s}",
                        label=LABELS[k], extra=extra))
    return records


SCRIPTED = make_scripted_records()


def test_script_of():
    def rec(utt, **extra):
        return Record(utterance_id=utt, corpus="iemocap", extra=extra)
    assert protocols.script_of(rec("Ses01F_script01_1_F000")) == "script01"
    assert protocols.script_of(rec("Ses03M_script02_2b_M012")) == "script02"
    assert protocols.script_of(rec("Ses01F_impro01_M000")) is None
    assert protocols.script_of(rec("Ses05M_impro05a_F003")) is None
    # the loader's dialog field wins over the id
    assert protocols.script_of(rec("renamed_0001", dialog="Ses02F_script03_1")) == "script03"
    with pytest.raises(ValueError, match="03a01Fa"):
        protocols.script_of(Record(utterance_id="03a01Fa", corpus="emodb"))


def test_plain_loso_shares_scripts_and_assert_text_safe_says_so():
    fold = protocols.leave_one_session_out(SCRIPTED)[0]
    with pytest.raises(protocols.ScriptOverlapError, match="script01"):
        protocols.assert_text_safe(fold)


def test_loso_text_safe_drops_training_records_of_the_test_scripts():
    plain = protocols.leave_one_session_out(SCRIPTED)
    safe = protocols.get("loso_text_safe")(SCRIPTED)
    assert [f.name for f in safe] == [f"{f.name}-text-safe" for f in plain]
    for s, (p, f) in enumerate(zip(plain, safe), start=1):
        np.testing.assert_array_equal(f.test, p.test)  # the test part is unchanged
        kept = {(r.session, protocols.script_of(r)) for r in f.train_records}
        expected = {(f"Session{o}", None) for o in range(1, 6) if o != s}
        if s != 2:  # script03 is only performed in session 2: safe to train on elsewhere
            expected.add(("Session2", "script03"))
        assert kept == expected
        # the improvised records of the other sessions all stay: 4 sessions x 2 speakers x 2
        assert sum(protocols.script_of(r) is None for r in f.train_records) == 16
        # what left training is counted in excluded, and every record is somewhere
        np.testing.assert_array_equal(np.sort(np.concatenate([f.train, f.excluded])), p.train)
        assert all(protocols.script_of(SCRIPTED[i]) in {"script01", "script02", "script03"} for i in f.excluded)
        assert sorted(np.concatenate([f.train, f.validation, f.test, f.excluded]).tolist()) == list(range(64))
        assert speakers(f, "train") == speakers(p, "train") and len(speakers(f, "train")) == 8
        protocols.assert_text_safe(f)
        assert_speaker_independent(f)


def test_loso_text_safe_validation_same_speakers_as_loso_without_test_scripts():
    plain = protocols.leave_one_session_out(SCRIPTED, validation=0.25, seed=1)
    safe = protocols.loso_text_safe(SCRIPTED, validation=0.25, seed=1)
    for p, f in zip(plain, safe):
        assert speakers(f, "validation") == speakers(p, "validation") and len(speakers(f, "validation")) == 2
        tested = {protocols.script_of(r) for r in f.test_records} - {None}
        assert tested and not tested & {protocols.script_of(r) for r in f.validation_records}
        assert len(f.validation) < len(p.validation)  # scripted validation records went too


def test_loso_improvised_test_keeps_training_and_tests_improvised_only():
    plain = protocols.leave_one_session_out(SCRIPTED)
    safe = protocols.get("loso_text_safe", improvised_test=True)(SCRIPTED)
    for s, (p, f) in enumerate(zip(plain, safe), start=1):
        assert f.name == f"loso-Session{s}-improvised-test"
        np.testing.assert_array_equal(f.train, p.train)
        assert {(r.session, protocols.script_of(r)) for r in f.test_records} == {(f"Session{s}", None)}
        assert f.sizes()["test"] == 4 and speakers(f, "test") == {f"Ses0{s}F", f"Ses0{s}M"}
        np.testing.assert_array_equal(np.sort(np.concatenate([f.test, f.excluded])), p.test)
        protocols.assert_text_safe(f)


def test_session5_and_amh_text_safe():
    (fold,) = protocols.get("session5_text_safe")(SCRIPTED)
    assert fold.name == "session-holdout-5-text-safe"
    assert {r.session for r in fold.test_records} == {"Session5"}
    assert {protocols.script_of(r) for r in fold.train_records} == {None, "script03"}
    folds = protocols.amh_10fold_text_safe(SCRIPTED, seed=0)
    assert len(folds) == 10
    for f in folds:
        protocols.assert_text_safe(f)
        assert len(speakers(f, "test")) == 1 and len(speakers(f, "validation")) == 1


def test_text_safe_errors():
    only_scripts = [r for r in SCRIPTED if protocols.script_of(r) == "script01"]
    with pytest.raises(ValueError, match="empty part"):
        protocols.loso_text_safe(only_scripts)
    with pytest.raises(ValueError, match="empty part"):
        protocols.loso_text_safe(only_scripts, improvised_test=True)
    other = [Record(utterance_id=f"0{i}a01Fa", corpus="emodb", speaker=f"0{i}", session=f"0{i}") for i in (3, 8)]
    with pytest.raises(ValueError, match="IEMOCAP dialog"):
        protocols.loso_text_safe(other)


# ----------------------------------------------------------------------------- protocol "all"


def test_all_protocol_trains_on_every_record():
    (fold,) = protocols.get("all")(RECORDS)
    assert fold.name == "all"
    np.testing.assert_array_equal(fold.train, np.arange(N))
    assert fold.train.dtype == np.int64
    assert fold.sizes() == {"train": N, "validation": 0, "test": 0}
    assert speakers(fold, "train") == {r.speaker for r in RECORDS}
    assert len(fold.excluded) == 0
    # no validation option: a caller carving validation where a protocol accepts it leaves it whole
    with pytest.raises(TypeError, match="'all'"):
        protocols.get("all", validation=0.1)
    with pytest.raises(ValueError, match="at least one record"):
        protocols.all_records([])
    # nothing is held out, so a corpus without speaker ids can still train on everything
    anonymous = [Record(utterance_id=f"u{i}", corpus="manifest") for i in range(3)]
    assert protocols.all_records(anonymous)[0].train.tolist() == [0, 1, 2]
