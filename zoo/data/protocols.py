"""Evaluation protocols: train / validation / test splits of a ``list[Record]``.

Every protocol returns a ``list[Fold]``. A :class:`Fold` holds sorted ``int64`` **index
arrays into the record list that was given to the protocol** (``fold.records``), so a
feature table computed once for all records can be sliced per fold; ``fold.train_records``
etc. give the records themselves. ``fold.excluded`` lists the records a protocol left out of
every part on purpose (the text-safe variants below), so that none goes missing uncounted.

Speaker independence is checked in code: every protocol except :func:`random_split` (which
leaks by design) and ``all`` (which holds nothing out) calls
:func:`assert_speaker_independent` on each fold it returns, which raises if one speaker
appears in two parts. Validation is always carved from the TRAINING groups only
(:func:`carve_validation`: whole speakers, a fraction of the training speakers, seeded).

Protocols (registry names for :func:`get`):

- ``"loso"``: IEMOCAP leave-one-session-out, one fold per ``Record.session`` (5 folds on
  IEMOCAP: 8 training speakers, 2 test speakers).
- ``"session5"``: train sessions 1-4, test session 5 (Jalal et al. 2020 §4.1; Atmaja &
  Akagi 2020). Counts on the full release: 4,290 / 1,241 utterances in 4-class.
- ``"speaker_kfold"``: k-fold over speakers / actors (RAVDESS, EmoDB, CREMA-D; Kumar 2021's
  80/20 with 5-fold CV read speaker-independently), scikit-learn ``GroupKFold``.
- ``"amh_10fold"``: 10-fold CV with 8/1/1 train/dev/test parts over groups (Yoon et al.
  2020 §4.1): fold i tests part i, validates on part i+1 (mod 10), trains on the rest.
- ``"loso_text_safe"``, ``"session5_text_safe"``, ``"amh_10fold_text_safe"``: the same folds
  made safe for models that read the transcript (:func:`text_safe`). IEMOCAP's scripted
  dialogs are the same three scripts (``script01``-``script03``) in every session (Busso et
  al. 2008), so many scripted test sentences occur word for word in the training part, and
  the speaker-independent results of text models are optimistic (Pepino et al. 2020 make
  the same point). By default every training / validation record whose script occurs in the
  test part is dropped; with ``improvised_test=True`` the test part keeps only the
  improvised dialogs instead (training unchanged). Both are checked by
  :func:`assert_text_safe`.
- ``"official"``: the corpus' own distributed split, read from ``Record.extra["split"]``
  (MELD's ``train`` / ``dev`` / ``test``, :func:`official_split`): one fold; the dev part
  validates. Whether it is speaker-independent is the corpus' business (MELD's is NOT: the
  six main characters speak in every split), so it is not checked here.
- ``"cross_corpus"``: train on one corpus, test on another (:func:`cross_corpus`, by
  ``Record.corpus``): one fold per direction, validation speakers carved from the training
  corpus only; speaker-independent by construction (the corpora share no speaker) and checked.
- Multi-corpus training (:func:`with_training_records`, not a protocol of its own): any
  protocol's folds with every record of further corpora added to each training part; the
  validation and test parts keep the first corpus' speakers only.
- ``"all"``: one fold named ``all`` that trains on every record, with empty validation and
  test parts (weights released after cross-validation, trained on every speaker).
- ``"random"``: random utterance split; it leaks speakers and so must be asked for with
  ``allow_speaker_leakage=True``.

All protocols are deterministic: the same records and seed give the same folds.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, train_test_split

from zoo.data.records import Record

__all__ = [
    "Fold",
    "SpeakerLeakError",
    "assert_speaker_independent",
    "carve_validation",
    "leave_one_session_out",
    "session_holdout",
    "speaker_kfold",
    "amh_10fold",
    "random_split",
    "ScriptOverlapError",
    "script_of",
    "assert_text_safe",
    "text_safe",
    "loso_text_safe",
    "session_holdout_text_safe",
    "amh_10fold_text_safe",
    "all_records",
    "official_split",
    "cross_corpus",
    "with_training_records",
    "PROTOCOLS",
    "get",
]

GroupBy = Union[str, Callable[[Record], str]]
PARTS = ("train", "validation", "test")


class SpeakerLeakError(ValueError):
    """A speaker occurs in two parts of a fold that should be speaker-independent."""


class ScriptOverlapError(ValueError):
    """An IEMOCAP script occurs in the test part and in the training or validation part."""


def _index_array(indices) -> np.ndarray:
    return np.sort(np.asarray(indices, dtype=np.int64).reshape(-1))


@dataclasses.dataclass(frozen=True)
class Fold:
    """One split. ``train``/``validation``/``test`` are sorted ``int64`` index arrays into
    ``records`` (the full list the protocol was given). ``validation`` may be empty.
    ``excluded``: records the protocol left out of every part on purpose (empty by default)."""

    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    records: Tuple[Record, ...] = dataclasses.field(repr=False, compare=False)
    excluded: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64),
                                             repr=False, compare=False)

    def part(self, part: str) -> np.ndarray:
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
        return getattr(self, part)

    def part_records(self, part: str) -> List[Record]:
        return [self.records[i] for i in self.part(part)]

    @property
    def train_records(self) -> List[Record]:
        return self.part_records("train")

    @property
    def validation_records(self) -> List[Record]:
        return self.part_records("validation")

    @property
    def test_records(self) -> List[Record]:
        return self.part_records("test")

    def sizes(self) -> Dict[str, int]:
        return {p: int(len(self.part(p))) for p in PARTS}

    def speakers(self, part: str) -> set:
        return {self.records[i].speaker for i in self.part(part)}


# ----------------------------------------------------------------------------- helpers


def _require(records: Sequence[Record], field: str) -> List[str]:
    """Per-record value of ``field``; an error naming the first record that lacks it."""
    values = []
    for r in records:
        value = getattr(r, field)
        if value is None or value == "":
            raise ValueError(
                f"record {r.utterance_id!r} ({r.corpus}, {r.audio_path}) has no {field}: "
                f"a speaker-independent protocol needs it (use random_split(..., "
                f"allow_speaker_leakage=True) only if leakage is acceptable)")
        values.append(str(value))
    return values


def _groups(records: Sequence[Record], group_by: GroupBy) -> np.ndarray:
    if callable(group_by):
        return np.asarray([str(group_by(r)) for r in records], dtype=object)
    if group_by not in ("speaker", "session"):
        raise ValueError(f"group_by must be 'speaker', 'session' or a callable; got {group_by!r}")
    return np.asarray(_require(records, group_by), dtype=object)


def _session_number(session: str) -> Optional[int]:
    """``"Session5"``, ``"Ses05"``, ``"5"`` -> 5; None when the name has no number."""
    digits = re.findall(r"\d+", str(session))
    return int(digits[-1]) if digits else None


def _session_matches(session: str, wanted) -> bool:
    if str(session) == str(wanted):
        return True
    if isinstance(wanted, (int, np.integer)) or str(wanted).isdigit():
        return _session_number(session) == int(wanted)
    return False


def assert_speaker_independent(fold: Fold) -> Fold:
    """Raise :class:`SpeakerLeakError` if a speaker (or a record) occurs in two parts of ``fold``."""
    first_part: Dict[str, str] = {}
    for part in PARTS:
        records = fold.part_records(part)
        for r, spk in zip(records, _require(records, "speaker")):
            if first_part.setdefault(spk, part) != part:
                raise SpeakerLeakError(
                    f"fold {fold.name!r}: speaker {spk!r} is in both {first_part[spk]} and {part} "
                    f"(e.g. {r.utterance_id!r})")
    indices = np.concatenate([fold.part(p) for p in PARTS])
    if len(np.unique(indices)) != len(indices):
        raise SpeakerLeakError(f"fold {fold.name!r}: a record index occurs in two parts")
    return fold


def carve_validation(records: Sequence[Record], train: np.ndarray, fraction: float,
                     seed: Optional[int] = 0, group_by: GroupBy = "speaker"
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Split training indices into (train, validation) by whole groups (speakers by default).

    ``fraction`` is the fraction of training GROUPS held out (scikit-learn
    ``GroupShuffleSplit``: ``ceil(fraction * n_groups)`` groups), never test records.
    ``fraction=0`` returns an empty validation set.
    """
    train = _index_array(train)
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1); got {fraction}")
    if fraction == 0.0 or len(train) == 0:
        return train, np.zeros(0, dtype=np.int64)
    groups = _groups([records[i] for i in train], group_by)
    if len(set(groups)) < 2:
        raise ValueError(f"cannot carve validation groups from {len(set(groups))} training group(s)")
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    keep, held = next(splitter.split(train, groups=groups))
    return _index_array(train[keep]), _index_array(train[held])


def _make_fold(name, records, train, test, validation, seed, group_by="speaker",
               given_validation=None) -> Fold:
    train = _index_array(train)
    if given_validation is None:
        train, val = carve_validation(records, train, validation, seed, group_by)
    else:
        val = _index_array(given_validation)
    fold = Fold(name, train, val, _index_array(test), tuple(records))
    if len(fold.train) == 0 or len(fold.test) == 0:
        raise ValueError(f"fold {name!r} has an empty part: {fold.sizes()}")
    return assert_speaker_independent(fold)


# ----------------------------------------------------------------------------- protocols


def leave_one_session_out(records: Sequence[Record], validation: float = 0.0,
                          seed: Optional[int] = 0) -> List[Fold]:
    """One fold per distinct ``Record.session`` (sorted): test that session, train the rest.

    Validation: ``validation`` fraction of the training speakers (whole speakers).
    """
    sessions = np.asarray(_require(records, "session"), dtype=object)
    names = sorted(set(sessions), key=lambda s: (_session_number(s) is None, _session_number(s), s))
    if len(names) < 2:
        raise ValueError(f"leave-one-session-out needs >= 2 sessions; got {names}")
    folds = []
    for s in names:
        is_test = sessions == s
        folds.append(_make_fold(f"loso-{s}", records, np.flatnonzero(~is_test),
                                np.flatnonzero(is_test), validation, seed))
    return folds


def session_holdout(records: Sequence[Record], test_sessions=(5,), validation: float = 0.0,
                    seed: Optional[int] = 0) -> List[Fold]:
    """Train on every session but ``test_sessions``, test on those (default session 5).

    A session matches by name (``"Session5"``) or by its number (``5`` matches
    ``"Session5"``, ``"Ses05"``, ``"5"``).
    """
    if isinstance(test_sessions, (str, int, np.integer)):
        test_sessions = (test_sessions,)
    sessions = _require(records, "session")
    is_test = np.asarray([any(_session_matches(s, w) for w in test_sessions) for s in sessions])
    if not is_test.any():
        raise ValueError(f"no record is in test session(s) {tuple(test_sessions)}; "
                         f"sessions present: {sorted(set(sessions))}")
    label = "+".join(str(w) for w in test_sessions)
    return [_make_fold(f"session-holdout-{label}", records, np.flatnonzero(~is_test),
                       np.flatnonzero(is_test), validation, seed)]


def speaker_kfold(records: Sequence[Record], k: int = 5, validation: float = 0.0,
                  seed: Optional[int] = 0, group_by: GroupBy = "speaker") -> List[Fold]:
    """Group k-fold: each group (speaker / actor) is tested in exactly one fold.

    scikit-learn ``GroupKFold(k, shuffle=True, random_state=seed)``; ``seed=None`` gives the
    unshuffled, size-balanced assignment.
    """
    groups = _groups(records, group_by)
    n_groups = len(set(groups))
    if not 2 <= k <= n_groups:
        raise ValueError(f"k={k} folds need 2 <= k <= number of groups ({n_groups})")
    splitter = GroupKFold(n_splits=k, shuffle=seed is not None, random_state=seed)
    folds = []
    for i, (train, test) in enumerate(splitter.split(np.zeros(len(records)), groups=groups)):
        folds.append(_make_fold(f"{group_by if isinstance(group_by, str) else 'group'}-kfold-{i}",
                                records, train, test, validation, seed, group_by))
    return folds


def amh_10fold(records: Sequence[Record], k: int = 10, seed: Optional[int] = 0,
               group_by: GroupBy = "speaker") -> List[Fold]:
    """k-fold CV with (k-2)/1/1 train/dev/test parts over groups (AMH §4.1: 10 folds, 8/1/1).

    The groups are partitioned into ``k`` parts with ``GroupKFold``; fold ``i`` tests part
    ``i``, validates on part ``(i + 1) % k`` and trains on the other ``k - 2`` parts. On
    IEMOCAP's 10 speakers each part is one speaker.
    """
    if k < 3:
        raise ValueError(f"amh_10fold needs k >= 3 parts (train/dev/test); got {k}")
    groups = _groups(records, group_by)
    if len(set(groups)) < k:
        raise ValueError(f"{k} parts need >= {k} groups; got {len(set(groups))}")
    splitter = GroupKFold(n_splits=k, shuffle=seed is not None, random_state=seed)
    parts = [test for _, test in splitter.split(np.zeros(len(records)), groups=groups)]
    folds = []
    for i in range(k):
        dev = parts[(i + 1) % k]
        train = np.concatenate([parts[j] for j in range(k) if j not in (i, (i + 1) % k)])
        folds.append(_make_fold(f"amh-{k}fold-{i}", records, train, parts[i], 0.0, seed,
                                group_by, given_validation=dev))
    return folds


def random_split(records: Sequence[Record], test: float = 0.2, validation: float = 0.0,
                 seed: Optional[int] = 0, stratify: bool = True,
                 allow_speaker_leakage: bool = False) -> List[Fold]:
    """Random utterance split (scikit-learn ``train_test_split``). Speakers leak across parts,
    so this must be asked for explicitly with ``allow_speaker_leakage=True``.

    ``validation`` is a fraction of the training utterances. ``stratify`` keeps label
    proportions when every record has a label.
    """
    if not allow_speaker_leakage:
        raise ValueError("random_split puts the same speakers in train and test (speaker leakage); "
                         "pass allow_speaker_leakage=True to ask for it explicitly, or use a "
                         "speaker-independent protocol (loso, session5, speaker_kfold, amh_10fold)")
    index = np.arange(len(records))
    labels = [r.label for r in records]
    strat = labels if stratify and all(lbl is not None for lbl in labels) else None
    train, test_idx = train_test_split(index, test_size=test, random_state=seed, stratify=strat)
    val = np.zeros(0, dtype=np.int64)
    if validation > 0:
        strat = [labels[i] for i in train] if strat is not None else None
        train, val = train_test_split(train, test_size=validation, random_state=seed, stratify=strat)
    fold = Fold("random", _index_array(train), _index_array(val), _index_array(test_idx), tuple(records))
    if len(fold.train) == 0 or len(fold.test) == 0:
        raise ValueError(f"fold 'random' has an empty part: {fold.sizes()}")
    return [fold]


# ----------------------------------------------------------------------------- text-safe folds

_DIALOG_KIND = re.compile(r"(?:^|_)(?P<kind>impro|script)(?P<number>\d{2})(?=[a-z]?(?:_|$))")


def script_of(record: Record) -> Optional[str]:
    """The IEMOCAP script a record was read from (``"script01"``-``"script03"``), or ``None``
    for an improvised dialog.

    Read from ``extra["dialog"]`` (``Ses01F_script01_1``) when the loader set it, otherwise
    from the utterance id (``Ses01F_script01_1_F000``); every part (``_1``, ``_2``, ...) of a
    script counts as that script. A record whose dialog is neither ``impro``NN nor
    ``script``NN raises ``ValueError`` naming it: only IEMOCAP's dialogs say which sentences
    recur.
    """
    dialog = str(record.extra.get("dialog") or record.utterance_id)
    m = _DIALOG_KIND.search(dialog)
    if m is None:
        raise ValueError(
            f"record {record.utterance_id!r} ({record.corpus}, {record.audio_path}): no IEMOCAP dialog "
            f"name (impro<NN> / script<NN>) in {dialog!r}; the text-safe protocols need one")
    return f"script{m.group('number')}" if m.group("kind") == "script" else None


def _scripts(records: Sequence[Record], indices) -> set:
    return {script_of(records[i]) for i in indices} - {None}


def assert_text_safe(fold: Fold) -> Fold:
    """Raise :class:`ScriptOverlapError` if a script of the test part is also in training or validation."""
    tested = _scripts(fold.records, fold.test)
    for part in ("train", "validation"):
        for i in fold.part(part):
            script = script_of(fold.records[i])
            if script in tested:
                raise ScriptOverlapError(
                    f"fold {fold.name!r}: {script} is in both test and {part} "
                    f"(e.g. {fold.records[i].utterance_id!r})")
    return fold


def text_safe(folds: Sequence[Fold], improvised_test: bool = False) -> List[Fold]:
    """Folds without a script shared by the test part and the training / validation parts.

    Default: every training and validation record whose script (:func:`script_of`) occurs in
    the test part is moved to ``excluded``; the test part is unchanged. On the full IEMOCAP
    release each session performs all three scripts, so this trains on improvised dialogs
    only. ``improvised_test=True``: the test part keeps only its improvised records (the
    scripted ones go to ``excluded``) and training is unchanged. Fold names get the suffix
    ``-text-safe`` / ``-improvised-test``. Each fold is checked by
    :func:`assert_speaker_independent` and :func:`assert_text_safe`.
    """
    out = []
    for fold in folds:
        records = fold.records
        if improvised_test:
            scripted = np.asarray([script_of(records[i]) is not None for i in fold.test], bool)
            name = f"{fold.name}-improvised-test"
            train, val = fold.train, fold.validation
            test, dropped = fold.test[~scripted], fold.test[scripted]
        else:
            tested = _scripts(records, fold.test)
            drop = {p: np.asarray([script_of(records[i]) in tested for i in fold.part(p)], bool)
                    for p in ("train", "validation")}
            name = f"{fold.name}-text-safe"
            train, val, test = fold.train[~drop["train"]], fold.validation[~drop["validation"]], fold.test
            dropped = np.concatenate([fold.train[drop["train"]], fold.validation[drop["validation"]]])
        new = Fold(name, _index_array(train), _index_array(val), _index_array(test), records,
                   excluded=_index_array(np.concatenate([fold.excluded, dropped])))
        if len(new.train) == 0 or len(new.test) == 0:
            raise ValueError(f"fold {name!r} has an empty part once the shared scripts are excluded: "
                             f"{new.sizes()} ({len(new.excluded)} excluded)")
        out.append(assert_text_safe(assert_speaker_independent(new)))
    return out


def loso_text_safe(records: Sequence[Record], validation: float = 0.0, seed: Optional[int] = 0,
                   improvised_test: bool = False) -> List[Fold]:
    """:func:`leave_one_session_out` made text-safe by :func:`text_safe`.

    The validation speakers are carved first, as in ``loso``, so both protocols validate on
    the same speakers; their records of a test-session script are then excluded too.
    """
    return text_safe(leave_one_session_out(records, validation, seed), improvised_test)


def session_holdout_text_safe(records: Sequence[Record], test_sessions=(5,), validation: float = 0.0,
                              seed: Optional[int] = 0, improvised_test: bool = False) -> List[Fold]:
    """:func:`session_holdout` (default: test session 5) made text-safe by :func:`text_safe`."""
    return text_safe(session_holdout(records, test_sessions, validation, seed), improvised_test)


def amh_10fold_text_safe(records: Sequence[Record], k: int = 10, seed: Optional[int] = 0,
                         group_by: GroupBy = "speaker", improvised_test: bool = False) -> List[Fold]:
    """:func:`amh_10fold` made text-safe by :func:`text_safe` (the dev part loses the test's scripts)."""
    return text_safe(amh_10fold(records, k, seed, group_by), improvised_test)


def all_records(records: Sequence[Record]) -> List[Fold]:
    """One fold ``"all"``: every record trains; validation and test are empty.

    For weights trained on every speaker once cross-validation has given the metrics; it
    takes no ``validation`` option, so callers that carve validation speakers where a
    protocol accepts one leave this fold whole. With nothing held out there is no speaker to
    keep apart, so records need no ``speaker`` here.
    """
    if len(records) == 0:
        raise ValueError("protocol 'all' needs at least one record")
    empty = np.zeros(0, dtype=np.int64)
    return [Fold("all", np.arange(len(records), dtype=np.int64), empty, empty, tuple(records))]


OFFICIAL_PARTS = {"train": ("train",), "validation": ("dev", "development", "validation", "val"),
                  "test": ("test",)}


def official_split(records: Sequence[Record], parts: Optional[Dict[str, Sequence[str]]] = None) -> List[Fold]:
    """One fold ``"official"`` from each record's ``extra["split"]`` (case-insensitive names of
    :data:`OFFICIAL_PARTS`: ``train``; ``dev`` / ``development`` / ``validation`` / ``val``; ``test``).

    A record without a split, or with a split of none of the parts, raises ``ValueError``
    naming it (nothing is dropped silently). ``parts`` replaces the names per part (e.g.
    ``{"test": ("test1",)}``). Speaker independence is NOT checked: the split is the corpus'
    own benchmark definition (MELD's shares its main characters between all three parts).
    """
    names = {part: tuple(n.lower() for n in values) for part, values in {**OFFICIAL_PARTS, **(parts or {})}.items()}
    index = {name: part for part, values in names.items() for name in values}
    assigned = {part: [] for part in PARTS}
    for i, r in enumerate(records):
        split = r.extra.get("split")
        part = index.get(str(split).lower()) if split is not None else None
        if part is None:
            raise ValueError(f"record {r.utterance_id!r} ({r.corpus}) has split {split!r}; the official "
                             f"protocol knows {sorted(index)}")
        assigned[part].append(i)
    fold = Fold("official", *(_index_array(assigned[p]) for p in PARTS), tuple(records))
    if len(fold.train) == 0 or len(fold.test) == 0:
        raise ValueError(f"fold 'official' has an empty part: {fold.sizes()} (splits named {sorted(index)})")
    return [fold]


def cross_corpus(records: Sequence[Record], train: str, test: str, validation: float = 0.0,
                 seed: Optional[int] = 0) -> List[Fold]:
    """Train on the records of corpus ``train``, test on those of corpus ``test`` (``Record.corpus``).

    One fold, ``train-<train>-test-<test>`` (the other direction is another call); validation:
    the ``validation`` fraction of the TRAINING corpus' speakers (:func:`carve_validation`),
    never test-corpus speakers. Records of any other corpus raise ``ValueError``; a speaker
    name found in both corpora raises :class:`SpeakerLeakError` (the loaders prefix speakers
    with the corpus, ``emodb_03`` / ``ravdess_01``).
    """
    if train == test:
        raise ValueError(f"cross_corpus needs two different corpora; got train = test = {train!r}")
    corpora = np.asarray([r.corpus for r in records], dtype=object)
    other = sorted(set(corpora) - {train, test})
    if other:
        raise ValueError(f"cross_corpus({train!r} -> {test!r}): records of other corpora {other}")
    is_train, is_test = corpora == train, corpora == test
    for name, mask in ((train, is_train), (test, is_test)):
        if not mask.any():
            raise ValueError(f"cross_corpus: no record of corpus {name!r}")
    return [_make_fold(f"train-{train}-test-{test}", records, np.flatnonzero(is_train), np.flatnonzero(is_test),
                       validation, seed)]


def with_training_records(folds: Sequence[Fold], records: Sequence[Record], extra: Sequence[Record]) -> List[Fold]:
    """``folds`` (made on ``records``) with every record of ``extra`` added to each training part:
    multi-corpus training, the test and validation parts untouched, so that a fold still tests
    (and selects its epoch on) the speakers of ``records`` alone.

    The folds' records become ``records + extra`` (the indices of ``records`` stay valid); fold
    names are unchanged, so a fold compares one to one with the same fold without ``extra``.
    ``extra`` must share no speaker with ``records`` (:class:`SpeakerLeakError` otherwise: the
    loaders prefix speakers with the corpus, ``emodb_03``), and no record (corpus, utterance id).
    """
    records, extra = tuple(records), tuple(extra)
    if not extra:
        raise ValueError("with_training_records: no extra record to train on")
    shared = {r.speaker for r in records} & {r.speaker for r in extra}
    if shared:
        raise SpeakerLeakError(f"the extra training records share speakers with the folds' corpus: {sorted(shared)[:5]}")
    twice = {(r.corpus, r.utterance_id) for r in records} & {(r.corpus, r.utterance_id) for r in extra}
    if twice:
        raise ValueError(f"the extra training records repeat records of the folds: {sorted(twice)[:5]}")
    combined = records + extra
    added = np.arange(len(records), len(combined), dtype=np.int64)
    keys = [(r.corpus, r.utterance_id) for r in records]
    out = []
    for fold in folds:
        if [(r.corpus, r.utterance_id) for r in fold.records] != keys:
            raise ValueError(f"fold {fold.name!r} was not made on the records given")
        new = Fold(fold.name, _index_array(np.concatenate([fold.train, added])), fold.validation, fold.test,
                   combined, excluded=fold.excluded)
        out.append(assert_speaker_independent(new))
    return out


# ----------------------------------------------------------------------------- registry

PROTOCOLS: Dict[str, Callable[..., List[Fold]]] = {
    "loso": leave_one_session_out,
    "session5": session_holdout,
    "speaker_kfold": speaker_kfold,
    "amh_10fold": amh_10fold,
    "loso_text_safe": loso_text_safe,
    "session5_text_safe": session_holdout_text_safe,
    "amh_10fold_text_safe": amh_10fold_text_safe,
    "all": all_records,
    "official": official_split,
    "cross_corpus": cross_corpus,
    "random": random_split,
}


def get(name: str, **opts) -> Callable[[Sequence[Record]], List[Fold]]:
    """``get("loso", validation=0.1)(records) -> list[Fold]``; options checked now."""
    if name not in PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
    fn = PROTOCOLS[name]
    try:
        inspect.signature(fn).bind_partial(None, **opts)
    except TypeError as err:
        raise TypeError(f"protocol {name!r}: {err}") from None
    return functools.partial(fn, **opts)
