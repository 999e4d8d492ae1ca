"""RAVDESS speech paired with FER-2013 faces of the same emotion: a SIER-style speech + image corpus.

ParallelNet's corpus (IIT-R SIER) pairs speech with face images of the same emotion and is
released only on request; this module builds the same kind of corpus from public data:
each RAVDESS utterance (:mod:`zoo.data.ravdess`) gets one FER-2013 face (Goodfellow et al.,
ICONIP 2013; ``<faces>/train/<emotion>/*.jpg``, 48 x 48 grayscale) of its emotion.

Shared labels (canonical names of :mod:`zoo.data.labels`): FER's folders ``angry disgust fear
happy neutral sad surprise`` are angry, disgust, fearful, happy, neutral, sad, surprised; RAVDESS
has those seven plus ``calm``, which has no face and is a counted ``no_face_class`` skip.
``classes``: ``"all"`` (the seven), ``"4"`` (angry, happy, sad, neutral) or names among the seven.

Pairing (:func:`pair`), deterministic from ``seed``: per emotion, the faces (sorted by path)
are shuffled with ``numpy.random.default_rng([seed, k])`` (k = the emotion's index in
:data:`SHARED_LABELS`) and the utterances (sorted by id) take them in that order, **each face at
most once**. The face pools of the records are thus pairwise disjoint (a pool of one face per
utterance, the finest of partitions): no face image is in two records, so no face image is in
two parts (train / validation / test) of any fold, whatever protocol makes the folds; the
speaker-independent protocols (``speaker_kfold``) keep the speakers apart as for RAVDESS alone.
An emotion with fewer faces than utterances is a ``ValueError`` naming it and both counts (the
development copies have 436-500 faces per class and at most 128 RAVDESS utterances per class).
FER-2013 has no identity labels, so two different images may still show the same person; the
guarantee is about image files (by path and by content: byte-identical copies of a face count
as one face, the first path kept, each further copy a counted ``duplicate_face`` skip).

Two ways in:

- in memory, from the runner: ``load(<ravdess root>, faces=<fer root>, seed=0)``
  (``python -m benchmarks --corpus ravdess_fer --root <ravdess> --faces <fer2013>``);
- as a SIER CSV (``label,speech,image,speaker``; :mod:`zoo.data.sier`, paths relative to the
  CSV): :func:`write_csv` / ``python -m zoo.data pair-faces <ravdess> <fer2013> out.csv --seed 0``,
  read back by ``load(out.csv)`` (or any ``sier.load(out.csv, label_names=SHARED_LABELS)``).

Records: ``corpus = "ravdess_fer"``, the RAVDESS record's id, speaker, gender, audio and
transcript, ``image_path`` the face, ``extra["face"]`` the face's path relative to the FER
root (in memory) and ``extra["pairing_seed"]``.

Bad input: a FER root without ``<emotion>/`` folders of images raises ``CorpusError``; a folder
that is not a FER emotion is a counted ``unknown_face_folder`` skip and a non-image file an
``not_an_image`` skip (``strict=True`` raises).
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import ravdess, sier
from .labels import FOUR_BASIC, select_classes
from .records import CorpusError, LoadReport, LoadResult, Problems, Record, require_dir

CORPUS = "ravdess_fer"
#: FER-2013 folder name -> canonical label.
FER_FOLDERS = {"angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
               "neutral": "neutral", "sad": "sad", "surprise": "surprised"}
#: The labels RAVDESS and FER-2013 share (class id = index).
SHARED_LABELS = ("angry", "disgust", "fearful", "happy", "neutral", "sad", "surprised")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
CSV_HEADER = ("label", "speech", "image", "speaker")


def label_set(classes="all") -> tuple:
    """The ordered label names ``load(classes=...)`` can return."""
    keep = select_classes(classes, SHARED_LABELS, CORPUS, presets={"4": FOUR_BASIC, "7": SHARED_LABELS})
    return SHARED_LABELS if keep is None else keep


def read_faces(root, problems: Optional[Problems] = None) -> Dict[str, List[str]]:
    """``{label: [face paths, sorted]}`` of a FER-2013 folder (``root/train/<emotion>/`` or
    ``root/<emotion>/``); byte-identical images are one face (see the module docstring)."""
    problems = problems if problems is not None else Problems()
    root = require_dir(root, "fer2013", "train/<angry|disgust|fear|happy|neutral|sad|surprise>/*.jpg")
    base = os.path.join(root, "train") if os.path.isdir(os.path.join(root, "train")) else root
    faces: Dict[str, List[str]] = defaultdict(list)
    seen: Dict[str, str] = {}
    for folder in sorted(os.listdir(base)):
        path = os.path.join(base, folder)
        if not os.path.isdir(path) or folder.startswith("."):
            continue
        label = FER_FOLDERS.get(folder.lower())
        if label is None:
            problems.bad("unknown_face_folder", path, f"not a FER-2013 emotion folder ({sorted(FER_FOLDERS)})")
            continue
        for name in sorted(os.listdir(path)):
            file = os.path.join(path, name)
            if name.startswith("._") or not os.path.isfile(file):
                continue
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                problems.bad("not_an_image", file, f"expected one of {IMAGE_EXTENSIONS}")
                continue
            with open(file, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            if digest in seen:
                problems.bad("duplicate_face", file, f"the same bytes as {seen[digest]}")
                continue
            seen[digest] = file
            faces[label].append(file)
    if not faces:
        raise CorpusError(base, "no FER-2013 emotion folders with images: not a FER-2013 root")
    return {label: sorted(paths) for label, paths in faces.items()}


def pair(records: Sequence[Record], faces: Dict[str, List[str]], seed: int = 0, faces_root=None) -> List[Record]:
    """Each record with a face of its label, each face at most once (see the module docstring).

    ``records`` must all have a label of :data:`SHARED_LABELS` with faces; ``faces_root``
    (optional) makes ``extra["face"]`` relative to it.
    """
    by_label: Dict[str, List[Record]] = defaultdict(list)
    for r in records:
        by_label[r.label].append(r)
    out = []
    for label in sorted(by_label, key=lambda name: SHARED_LABELS.index(name) if name in SHARED_LABELS else -1):
        if label not in SHARED_LABELS:
            raise ValueError(f"record {by_label[label][0].utterance_id!r}: label {label!r} has no FER-2013 faces "
                             f"(shared labels: {list(SHARED_LABELS)})")
        utterances = sorted(by_label[label], key=lambda r: r.utterance_id)
        pool = list(faces.get(label, ()))
        if len(pool) < len(utterances):
            raise ValueError(f"{len(utterances)} {label} utterances but only {len(pool)} {label} faces: every "
                             f"face is used at most once (give more faces or fewer classes)")
        order = np.random.default_rng([int(seed), SHARED_LABELS.index(label)]).permutation(len(pool))
        for r, index in zip(utterances, order):
            face = pool[int(index)]
            rel = os.path.relpath(face, faces_root) if faces_root is not None else face
            out.append(r.replace(corpus=CORPUS, image_path=face,
                                 extra={**r.extra, "face": rel.replace(os.sep, "/"), "pairing_seed": int(seed)}))
    return sorted(out, key=lambda r: r.utterance_id)


def build(ravdess_root, faces_root, seed: int = 0, classes="all", strict: bool = False,
          probe_audio: bool = False) -> LoadResult:
    """RAVDESS under ``ravdess_root`` paired with the FER-2013 faces under ``faces_root``."""
    keep = label_set(classes)
    loaded = ravdess.load(ravdess_root, strict=strict, probe_audio=probe_audio)
    problems = Problems(strict, LoadReport().merge(loaded.report))
    faces = read_faces(faces_root, problems)
    wanted = []
    for r in loaded.records:
        if r.label not in SHARED_LABELS:
            problems.skip("no_face_class", f"{r.audio_path} ({r.label}: FER-2013 has no such faces)")
        elif r.label not in keep:
            problems.skip("excluded_class", f"{r.audio_path} ({r.label})")
        else:
            wanted.append(r)
    return LoadResult(pair(wanted, faces, seed, faces_root=os.fspath(faces_root)), problems.report)


def write_csv(records: Sequence[Record], out_csv) -> str:
    """Write ``records`` (paired, :func:`build`) as a SIER CSV ``label,speech,image,speaker`` with
    paths relative to the CSV's folder; atomic (no partial file). Returns the path."""
    from zoo.io import atomic_write_text

    out_csv = os.fspath(out_csv)
    base = os.path.dirname(os.path.abspath(out_csv))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in records:
        if r.image_path is None or r.audio_path is None:
            raise ValueError(f"record {r.utterance_id!r} has no audio or no face: pair it first")
        writer.writerow([r.label, os.path.relpath(r.audio_path, base).replace(os.sep, "/"),
                         os.path.relpath(r.image_path, base).replace(os.sep, "/"), r.speaker])
    os.makedirs(base, exist_ok=True)
    atomic_write_text(out_csv, text.getvalue())
    return out_csv


def load(root, faces=None, seed: int = 0, classes="all", strict: bool = False, probe_audio: bool = False) -> LoadResult:
    """A paired corpus: ``root`` a RAVDESS folder with ``faces`` a FER-2013 folder (paired now, by
    ``seed``), or ``root`` a CSV written by :func:`write_csv` (or a folder holding only it)."""
    root_path = os.fspath(root)
    is_csv = root_path.lower().endswith(".csv") or (
        os.path.isdir(root_path) and not os.path.isdir(os.path.join(root_path, "Actor_01"))
        and any(n.lower().endswith(".csv") for n in os.listdir(root_path)))
    if not is_csv:
        if faces is None:
            raise ValueError(f"{root_path}: a RAVDESS root needs faces= (a FER-2013 folder) to be paired; "
                             f"or give the CSV written by `python -m zoo.data pair-faces`")
        return build(root_path, faces, seed, classes, strict, probe_audio)
    if faces is not None:
        raise ValueError(f"{root_path}: a paired CSV already holds its faces; drop faces=")
    loaded = sier.load(root_path, classes=label_set(classes), label_names=SHARED_LABELS, strict=strict,
                       probe_audio=probe_audio)
    missing = [r.utterance_id for r in loaded.records if r.speaker is None]
    if missing:
        raise CorpusError(root_path, f"{len(missing)} rows without a speaker (e.g. {missing[0]!r}): the "
                                     f"speaker-independent folds need the {CSV_HEADER[-1]!r} column")
    # The id is the wav's name (RAVDESS names are unique: they hold the actor), not its path.
    records = [r.replace(corpus=CORPUS, utterance_id=os.path.splitext(os.path.basename(r.audio_path))[0],
                         extra={**r.extra, "face": r.image_path}) for r in loaded.records]
    ids = [r.utterance_id for r in records]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise CorpusError(root_path, f"speech files of the same name listed twice: {twice[:3]}")
    return LoadResult(records, loaded.report)


def unpaired_faces(records: Sequence[Record]) -> List[Tuple[str, str]]:
    """``[(face path, label)]`` of the FER-2013 folder behind ``records`` (a paired corpus) that no
    record was paired with, byte-identical copies of a paired face left out too (:func:`read_faces`
    keeps one file per image), sorted by path: faces a model may be pre-trained on without seeing a
    test (or training) face of the pairing. The folder is read from the records (``image_path``
    minus ``extra["face"]``); a record that is not paired, or records of two folders, are errors."""
    roots, paired = set(), set()
    for r in records:
        face = r.extra.get("face")
        if r.image_path is None or face is None:
            raise ValueError(f"record {r.utterance_id!r} is not paired with a face (not a {CORPUS} record)")
        path = os.path.realpath(r.image_path)
        suffix = os.path.normpath(face)
        if not path.endswith(os.sep + suffix):
            raise ValueError(f"record {r.utterance_id!r}: image {r.image_path} does not end in its face {face!r}")
        roots.add(path[: -len(suffix) - 1])
        paired.add(path)
    if len(roots) != 1:
        raise ValueError(f"records are paired with faces of {len(roots)} FER-2013 folders: {sorted(roots)[:3]}")
    faces = read_faces(roots.pop())
    return sorted((path, label) for label, paths in faces.items() for path in paths
                  if os.path.realpath(path) not in paired)


def face_overlap(folds) -> Dict[str, list]:
    """``{fold name: [face paths in two parts]}`` (empty lists: no leak), for tests and checks."""
    out = {}
    for fold in folds:
        parts = {p: {os.path.realpath(r.image_path) for r in fold.part_records(p)}
                 for p in ("train", "validation", "test")}
        shared = (parts["train"] & parts["test"]) | (parts["validation"] & parts["test"]) \
            | (parts["train"] & parts["validation"])
        out[fold.name] = sorted(shared)
    return out

