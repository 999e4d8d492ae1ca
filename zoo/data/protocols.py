"""Evaluation protocols: train / validation / test splits of a ``list[Record]`` (DATA.md §2).

Every protocol returns a ``list[Fold]``. A :class:`Fold` holds sorted ``int64`` **index
arrays into the record list that was given to the protocol** (``fold.records``), so a
feature table computed once for all records can be sliced per fold; ``fold.train_records``
etc. give the records themselves.

Speaker independence is checked in code: every protocol except :func:`random_split` calls
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
    "PROTOCOLS",
    "get",
]

GroupBy = Union[str, Callable[[Record], str]]
PARTS = ("train", "validation", "test")


class SpeakerLeakError(ValueError):
    """A speaker occurs in two parts of a fold that should be speaker-independent."""


def _index_array(indices) -> np.ndarray:
    return np.sort(np.asarray(indices, dtype=np.int64).reshape(-1))


@dataclasses.dataclass(frozen=True)
class Fold:
    """One split. ``train``/``validation``/``test`` are sorted ``int64`` index arrays into
    ``records`` (the full list the protocol was given). ``validation`` may be empty."""

    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    records: Tuple[Record, ...] = dataclasses.field(repr=False, compare=False)

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

    Validation: ``validation`` fraction of the training speakers (DATA.md §2).
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


# ----------------------------------------------------------------------------- registry

PROTOCOLS: Dict[str, Callable[..., List[Fold]]] = {
    "loso": leave_one_session_out,
    "session5": session_holdout,
    "speaker_kfold": speaker_kfold,
    "amh_10fold": amh_10fold,
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
