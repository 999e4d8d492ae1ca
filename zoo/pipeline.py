"""tf.data pipelines shared by every model: records + extractors (+ a protocol fold) -> batches.

Two steps:

1. :func:`compute_features` runs every extractor once per record (over ``workers``
   processes, default one per core, with the serial loop's result; through an optional
   cache with ``get_or_compute(extractor, record)``, e.g. ``zoo.features.cache.FeatureCache``),
   checks shape, dtype and finiteness, and returns a :class:`FeatureTable`. A record whose
   extractor raises :class:`~zoo.features.base.FeatureError` (or gives NaN/inf) is either an
   error or, with ``on_error="skip"``, a counted skip in ``table.report`` (a ``LoadReport``).
2. :func:`make_dataset` turns a table into a ``tf.data.Dataset`` of ``(inputs, targets)``
   (or ``(inputs, targets, sample_weights)``): ``inputs`` is a dict keyed by model input
   name; ``targets`` are int32 class ids (index into ``label_set``) for ``"label"`` and
   float32 values for ``"valence"``/``"arousal"``/``"dominance"`` (a dict when several).

Padding convention (project-wide): variable-length inputs (extractor shape ``(None, ...)``)
are padded with the extractor's ``pad_value`` (0) to the batch maximum (or ``pad_to``; with
length bucketing, to the bucket's length, so that there is one batch shape per bucket).
Models derive masks from the true lengths: ``make_dataset(lengths=...)`` adds, for each named
variable input ``x``, an int32 input ``x_length`` (:data:`LENGTH_SUFFIX`; the steps of the row
before padding, after ``truncate``; with ``chunking`` the valid steps of the chunk), which the
models' ``LengthMask`` turns into the mask (an all-zero frame inside an utterance is not
padding); :func:`length_inputs` tells from a model's input names which inputs want one. Token
ids are masked where they are 0 (``mask_zero=True``), which is only ever padding.

The data live in the graph as a few tensors (one flat array + row splits per variable
input, one stacked array per fixed-shape input); each element is sliced out by index, so
there is no Python generator and the static shapes are exact. Shuffling permutes the
indices: with ``epoch`` given the order is a pure function of ``(seed, epoch)`` (what
``zoo.train.fit`` needs for exact resumption; ``epoch`` may be a scalar tensor), with
``epoch=None`` a seeded ``Dataset.shuffle`` reshuffles on every iteration.

Frame-level models (CSA, Jalal et al. 2020 §4.3.2) train on fixed-length chunks cut with
an overlap; :func:`chunk_table` does it and keeps the utterance of every chunk, and
:func:`average_chunk_posteriors` averages chunk posteriors back to utterances.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import os
import pickle
import traceback
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np


from zoo.data.records import LoadReport, Record
from zoo.features.base import Extractor, FeatureError
from zoo.features.spectral import average_chunk_posteriors, chunk_frames  # re-exported

__all__ = [
    "InputSpec",
    "FeatureTable",
    "compute_features",
    "resolve_workers",
    "PARALLEL_MIN_RECORDS",
    "WorkerTraceback",
    "release_workers",
    "label_ids",
    "class_weights",
    "chunk_sequence",
    "chunk_table",
    "average_chunk_posteriors",
    "make_dataset",
    "bucket_lengths",
    "ordered_batch_lengths",
    "distinct_shapes",
    "fold_datasets",
    "REGRESSION_TARGETS",
    "LENGTH_SUFFIX",
    "length_inputs",
]

log = logging.getLogger(__name__)
REGRESSION_TARGETS = ("valence", "arousal", "dominance")
#: The true-length companion of input ``x`` is input ``x + LENGTH_SUFFIX`` (the same string as
#: ``zoo.layers.LENGTH_SUFFIX``, which the models use; a test keeps them equal).
LENGTH_SUFFIX = "_length"


def length_inputs(input_names: Sequence[str]) -> Tuple[list, list]:
    """``(feature inputs, inputs with a length companion)`` of a model's input names: the
    names that are not ``<x>_length`` companions, and the ``x`` whose ``x_length`` is among them
    (what to pass as ``make_dataset(lengths=...)``)."""
    names = list(input_names)
    companions = {n + LENGTH_SUFFIX for n in names} & set(names)
    return [n for n in names if n not in companions], [n for n in names if n + LENGTH_SUFFIX in companions]


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """Shape (``None`` on the variable axis, which must be the first), dtype and pad value."""

    shape: Tuple[Optional[int], ...]
    dtype: str
    pad_value: float = 0.0

    @classmethod
    def of(cls, extractor: Extractor) -> "InputSpec":
        spec = cls(tuple(extractor.shape), str(np.dtype(extractor.dtype)), extractor.pad_value)
        if any(d is None for d in spec.shape[1:]):
            raise ValueError(f"{extractor!r}: only the first axis may vary; shape {spec.shape}")
        return spec

    @property
    def variable(self) -> bool:
        return len(self.shape) > 0 and self.shape[0] is None


def _key(record: Record) -> Tuple[str, str]:
    return (record.corpus, record.utterance_id)


@dataclasses.dataclass
class FeatureTable:
    """Per-record feature arrays, row-aligned with ``records``.

    ``features[name][i]`` is record ``i``'s array for model input ``name``. ``report``
    counts the records left out and why. ``utterance_index`` is set on chunk tables
    (:func:`chunk_table`): row ``i`` is a chunk of row ``utterance_index[i]`` of the source.
    """

    records: list
    features: Dict[str, list]
    specs: Dict[str, InputSpec]
    report: LoadReport = dataclasses.field(default_factory=LoadReport)
    utterance_index: Optional[np.ndarray] = None
    _packed: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.records)

    def lengths(self, name: str) -> np.ndarray:
        """Length of the variable axis of input ``name`` per row."""
        if not self.specs[name].variable:
            raise ValueError(f"input {name!r} has a fixed shape {self.specs[name].shape}")
        return np.asarray([a.shape[0] for a in self.features[name]], dtype=np.int64)

    def take(self, rows) -> "FeatureTable":
        """The rows ``rows`` (indices into this table), same report."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        return FeatureTable([self.records[i] for i in rows],
                            {k: [v[i] for i in rows] for k, v in self.features.items()},
                            dict(self.specs), LoadReport().merge(self.report),
                            None if self.utterance_index is None else self.utterance_index[rows])

    def select(self, records: Sequence[Record]) -> "FeatureTable":
        """The rows of ``records`` (matched by corpus + utterance id), in their order.

        Records absent from the table (skipped when it was computed) are counted in the
        new table's report under "not in feature table".
        """
        index: Dict[Tuple[str, str], int] = {}
        for i, r in enumerate(self.records):
            if index.setdefault(_key(r), i) != i:
                raise ValueError(f"utterance {r.utterance_id!r} ({r.corpus}) occurs twice in the table")
        rows, report = [], LoadReport()
        for r in records:
            if _key(r) in index:
                rows.append(index[_key(r)])
            else:
                report.skip("not in feature table (skipped when computed)", r.utterance_id)
        table = self.take(rows)
        table.report = report
        return table

    def normalized_by_speaker(self, names: Optional[Sequence[str]] = None, eps: float = 1e-5) -> "FeatureTable":
        """A copy whose float frame ``(T, D)`` and vector ``(D,)`` inputs (or ``names``) are
        standardised per ``Record.speaker`` (:func:`zoo.features.normalize.speaker_cmvn`): each
        speaker's statistics come from that speaker's rows of this table only, labels unused.
        Images and token ids are left as they are."""
        from zoo.features.normalize import is_speaker_normalised, speaker_cmvn

        if names is None:
            names = [n for n, s in self.specs.items() if is_speaker_normalised(s.shape, s.dtype)]
        speakers = []
        for r in self.records:
            if not r.speaker:
                raise ValueError(f"speaker normalisation: utterance {r.utterance_id!r} ({r.corpus}) has no speaker")
            speakers.append((r.corpus, r.speaker))
        features = {k: (speaker_cmvn(v, speakers, eps) if k in names else list(v)) for k, v in self.features.items()}
        return FeatureTable(list(self.records), features, dict(self.specs), LoadReport().merge(self.report),
                            self.utterance_index)

    def normalizable(self) -> List[str]:
        """The inputs that speaker and global normalisation standardise: float frames ``(T, D)`` and
        vectors ``(D,)`` (not images, not token ids)."""
        from zoo.features.normalize import is_speaker_normalised

        return [n for n, s in self.specs.items() if is_speaker_normalised(s.shape, s.dtype)]

    def statistics(self, names: Optional[Sequence[str]] = None, eps: float = 1e-5) -> Dict[str, tuple]:
        """``{input: (mean, std)}`` per dimension over every frame of this table's rows (of the
        :meth:`normalizable` inputs, or ``names``): the training part's, for global CMVN."""
        from zoo.features.normalize import training_statistics

        if not len(self.records):
            raise ValueError("global normalisation: no training utterance to take the statistics from")
        return {n: training_statistics(self.features[n], eps) for n in (self.normalizable() if names is None else names)}

    def normalized_by(self, statistics: Mapping[str, tuple]) -> "FeatureTable":
        """A copy whose inputs named in ``statistics`` (``{input: (mean, std)}``, e.g. the training
        part's :meth:`statistics`, or a release's) are standardised by them; the rest as is."""
        from zoo.features.normalize import standardised

        unknown = sorted(set(statistics) - set(self.features))
        if unknown:
            raise ValueError(f"normalisation statistics for inputs {unknown} that the table does not have "
                             f"({sorted(self.features)})")
        features = {k: (standardised(v, *statistics[k]) if k in statistics else list(v))
                    for k, v in self.features.items()}
        return FeatureTable(list(self.records), features, dict(self.specs), LoadReport().merge(self.report),
                            self.utterance_index)

    def packed(self):
        """Graph tensors of the table (built once, eagerly, so that a dataset built inside a
        traced function captures them by reference instead of embedding constants)."""
        if not self._packed:
            import tensorflow as tf
            with tf.init_scope():
                for name, spec in self.specs.items():
                    arrays = self.features[name]
                    if spec.variable:
                        lengths = np.asarray([a.shape[0] for a in arrays], dtype=np.int64)
                        flat = (np.concatenate(arrays, axis=0) if arrays
                                else np.zeros((0, *spec.shape[1:]), spec.dtype))
                        splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
                        self._packed[name] = (tf.constant(flat, dtype=spec.dtype), tf.constant(splits))
                    else:
                        stacked = (np.stack(arrays) if arrays else np.zeros((0, *spec.shape), spec.dtype))
                        self._packed[name] = (tf.constant(stacked, dtype=spec.dtype), None)
        return self._packed


# ----------------------------------------------------------------------------- features


def _check_array(name: str, spec: InputSpec, extractor: Extractor, record: Record, array) -> np.ndarray:
    """Shape/dtype contract (a violation is a bug: always raised) and content checks
    (empty or non-finite: :class:`FeatureError`)."""
    array = np.asarray(array)
    where = f"extractor {extractor.name or type(extractor).__name__!r} (input {name!r}) on {record.utterance_id!r}"
    if array.ndim != len(spec.shape) or any(d is not None and d != a for d, a in zip(spec.shape, array.shape)):
        raise ValueError(f"{where}: gave shape {array.shape}, declared {spec.shape}")
    target = np.dtype(spec.dtype)
    if target.kind in "iu" and array.dtype.kind not in "iub":
        raise ValueError(f"{where}: gave dtype {array.dtype} for an integer input ({spec.dtype})")
    path = extractor.source_path(record) or record.utterance_id
    if spec.variable and array.shape[0] == 0:
        raise FeatureError(path, f"{name}: empty sequence for {record.utterance_id}")
    array = array.astype(target, copy=False)
    if target.kind == "f" and not np.isfinite(array).all():
        n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        raise FeatureError(path, f"{name}: non-finite values ({n_nan} NaN, {n_inf} inf) "
                                 f"for {record.utterance_id}")
    return array


#: Below this many records to compute, the default ``workers=None`` stays serial: starting a
#: worker process (a fresh interpreter importing numpy, librosa ...) costs about a second.
PARALLEL_MIN_RECORDS = 32
#: Worker processes left idle this long stop (the next call starts them again).
WORKER_IDLE_SECONDS = 60
#: Extractors that name one of these libraries run in the calling process only: a worker would
#: import TensorFlow and load its model (keras-hub tokenizer, video ResNet) once per process.
_IN_PROCESS_LIBRARIES = ("tensorflow", "keras", "keras-hub", "keras_hub", "tensorflow-text", "torch")


def _one_blas_thread(fn):
    """Run ``fn`` with one BLAS thread (``threadpoolctl``), in the caller and in every worker.

    OpenBLAS rounding follows its thread count (mel filterbank products differ by ~1e-5 dB in
    float32 between 1 and 2 threads), so a fixed count makes the arrays independent of
    ``workers``; and BLAS threads of several processes would compete for the same cores
    (OpenBLAS's waiting threads spin: twice the CPU seconds, measured). Parallelism comes
    from processes. TensorFlow's own thread pools are not BLAS and are left alone.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


def _extract_row(record: Record, names, extractors: Mapping[str, Extractor], specs, cache):
    """Inputs ``names`` of one record, in order: ``(row, None, None)``, or
    ``(partial row, failing input name, FeatureError)`` at the first :class:`FeatureError`."""
    row = {}
    for name in names:
        ex = extractors[name]
        try:
            raw = cache.get_or_compute(ex, record) if cache is not None else ex.extract(record)
            row[name] = _check_array(name, specs[name], ex, record, raw)
        except FeatureError as err:
            return row, name, err
    return row, None, None


def _extract_rows(records, names, extractors, specs, cache, stop_at_error: bool) -> list:
    """:func:`_extract_row` over ``records`` as picklable outcomes: ``("ok", row)``,
    ``("feature_error", row, name, path, problem)`` (a ``FeatureError`` does not survive
    pickling: its ``__init__`` takes two arguments) or ``("error", exception, traceback text)``
    for anything else (a contract violation); stops after the first error when
    ``stop_at_error`` (``on_error="raise"``: later records would not be looked at)."""
    out = []
    for record in records:
        try:
            row, name, err = _extract_row(record, names, extractors, specs, cache)
        except Exception as error:  # re-raised by the caller at this record, in record order
            out.append(("error", error, traceback.format_exc()))
            break
        if err is None:
            out.append(("ok", row))
            continue
        out.append(("feature_error", row, name, err.path, err.problem))
        if stop_at_error:
            break
    return out


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a feature worker process (its ``__cause__``)."""


def _stats_snapshot(cache) -> Optional[dict]:
    stats = getattr(cache, "stats", None)
    return dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) else None


@_one_blas_thread
def _worker_chunk(records, names, extractors, specs, cache, stop_at_error: bool):
    """One chunk in a worker: outcomes and the change of the cache's counters (hits, misses ...)."""
    before = _stats_snapshot(cache)
    out = _extract_rows(records, names, extractors, specs, cache, stop_at_error)
    after = _stats_snapshot(cache)
    delta = None if before is None else {k: after[k] - before[k] for k in before}
    return out, delta


def _picklable(obj) -> bool:
    try:
        pickle.dumps(obj)
        return True
    except Exception:
        return False


def _runs_in_workers(extractor: Extractor) -> bool:
    libraries = {str(lib).lower() for lib in getattr(extractor, "libraries", ())}
    return not libraries.intersection(_IN_PROCESS_LIBRARIES) and _picklable(extractor)


def _cached(cache, names, extractors, record) -> bool:
    """Whether every input ``names`` of ``record`` is already in ``cache`` (a ``FeatureCache``:
    its ``path``); then reading them here beats sending the record to a worker."""
    path_of = getattr(cache, "path", None)
    if not callable(path_of):
        return False
    try:
        return all(Path(path_of(extractors[n], record)).exists() for n in names)
    except Exception:  # e.g. a missing source file: the in-order pass reports it as serial would
        return False


#: Environment variable with the default number of feature processes (``workers=None``); the
#: command lines' ``--workers N`` sets it (:func:`zoo.cli.apply_workers`).
WORKERS_ENV = "ZOO_FEATURE_WORKERS"


def resolve_workers(workers: Optional[int]) -> int:
    """``workers=None`` -> ``$ZOO_FEATURE_WORKERS`` when set, else ``os.cpu_count()``; otherwise a
    positive int."""
    if workers is None:
        value = os.environ.get(WORKERS_ENV, "").strip()
        if not value:
            return max(1, os.cpu_count() or 1)
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"${WORKERS_ENV}={value!r}: the number of feature processes must be a positive int")
        return int(value)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive int or None (the number of cores); got {workers!r}")
    return int(workers)


_EXECUTORS: list = []


def release_workers() -> None:
    """Stop the feature worker processes now (idle ones stop by themselves after a minute)."""
    while _EXECUTORS:
        # Not kill_workers=True: loky then sets an exception on pending futures, also on the
        # ones _parallel_outcomes cancelled (InvalidStateError in its manager thread). Running
        # chunks end first.
        _EXECUTORS.pop().shutdown(wait=True)


def chunk_size(rows: int, workers: int) -> int:
    """Records per chunk that :func:`compute_features` hands to a process: about 16 chunks per
    process (an even share when records differ in length), at most 16 records."""
    return int(np.clip(np.ceil(rows / (16 * workers)), 1, 16))


def _parallel_outcomes(records, rows, names, extractors, specs, cache, workers: int, stop_at_error: bool) -> dict:
    """Outcomes (as :func:`_extract_rows`) of inputs ``names`` for ``records[i]``, ``i`` in ``rows``,
    computed by this process and ``workers - 1`` worker processes. A chunk after the first one
    with an exception (or, with ``stop_at_error``, any error) is not started.

    The workers are loky's reusable executor (vendored in joblib, as scikit-learn uses it):
    fresh interpreters (fork + exec, never a bare fork: a forked child of a process running
    TensorFlow's threads can deadlock), that do not re-import the caller's ``__main__`` (no
    ``if __name__ == "__main__"`` guard needed), kept for a minute between calls so the next
    call does not wait for them to start again (:data:`WORKER_IDLE_SECONDS`,
    :func:`release_workers`). Workers import ``zoo.pipeline`` and the
    extractors' modules (no TensorFlow; extractors that need it stay here, see
    :func:`compute_features`). This process computes the first chunk before handing any out
    (it compiles and caches the extractors' JIT code once; see the comment there), takes chunks
    too, and at the end computes the
    chunks still pending in workers itself (their results are then dropped), so a worker's
    start-up is never waited for. Every process extracts with one BLAS thread (:func:`_one_blas_thread`).
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor

    from zoo.features.cache import FeatureCache

    per_chunk = chunk_size(len(rows), workers)
    chunks = [rows[i:i + per_chunk] for i in range(0, len(rows), per_chunk)]
    results: Dict[int, list] = {}
    first_error = [len(chunks)]

    def store(c, out):
        results[c] = out
        if any(o[0] == "error" or (stop_at_error and o[0] != "ok") for o in out):
            first_error[0] = min(first_error[0], c)

    remote = {n: extractors[n] for n in names}
    # A FeatureCache travels as a new one on the same folder: not its per-process digest memo.
    shipped = FeatureCache(cache.root) if type(cache) is FeatureCache else cache
    stats = getattr(cache, "stats", None)
    executor = get_reusable_executor(max_workers=workers - 1, timeout=WORKER_IDLE_SECONDS)
    if executor not in _EXECUTORS:
        _EXECUTORS[:] = [executor]
    inflight, queue = {}, list(range(len(chunks)))[::-1]  # pop() gives the next chunk in order

    def collect(done):
        for future in done:
            out, delta = future.result()
            if delta and stats is not None:
                for k, v in delta.items():
                    setattr(stats, k, getattr(stats, k) + v)
            store(inflight.pop(future), out)

    def compute_here(c):
        store(c, _extract_rows([records[i] for i in chunks[c]], names, extractors, specs, cache, stop_at_error))

    try:
        # The first chunk is computed here before any is handed out: it compiles the JIT code
        # the extractors run (librosa's numba functions, @jit(cache=True)) and writes numba's
        # on-disk cache once; workers then only read it. Numba's cache is not safe for processes
        # compiling the same function at once: its index and data files, written by two
        # processes, can name the wrong code, and every later process that loads it crashes
        # (a segmentation fault in librosa.util.localmax, seen here with a cold cache). A
        # no-op task starts the workers meanwhile, so their start-up is not waited for.
        executor.submit(os.getpid)
        compute_here(queue.pop())
        while queue or inflight:
            while queue and queue[-1] < first_error[0] and len(inflight) < 2 * (workers - 1):
                c = queue.pop()
                inflight[executor.submit(_worker_chunk, [records[i] for i in chunks[c]], names, remote,
                                         specs, shipped, stop_at_error)] = c
            if queue and queue[-1] < first_error[0]:
                compute_here(queue.pop())
                collect([f for f in list(inflight) if f.done()])
            elif any(f.done() for f in inflight):
                collect([f for f in list(inflight) if f.done()])
            elif inflight:
                # Nothing left to hand out: rather than wait for a worker (still starting, or
                # busy), compute its last pending chunk here too and drop the worker's copy.
                future, c = max(inflight.items(), key=lambda item: item[1])
                if c < first_error[0]:
                    del inflight[future]
                    future.cancel()
                    compute_here(c)
                else:
                    collect(wait(list(inflight), return_when=FIRST_COMPLETED).done)
            else:
                break
    finally:
        for future in inflight:
            future.cancel()
    outcomes = {}
    for c in sorted(results):
        outcomes.update(zip(chunks[c], results[c]))
    return outcomes


@_one_blas_thread
def compute_features(records: Sequence[Record], extractors: Mapping[str, Extractor], cache=None,
                     on_error: str = "raise", workers: Optional[int] = None) -> FeatureTable:
    """Every extractor on every record, once; returns a :class:`FeatureTable`.

    Args:
        extractors: ``{model_input_name: Extractor}``.
        cache: optional object with ``get_or_compute(extractor, record) -> np.ndarray``
            (e.g. ``zoo.features.cache.FeatureCache``, whose atomic writes let processes
            share its folder). Workers get a copy (a ``FeatureCache``: a new one on the same
            folder); the counters of its ``stats`` dataclass are summed back into ``cache``.
        on_error: ``"raise"`` re-raises a record's :class:`FeatureError` (also raised for
            empty or non-finite features); ``"skip"`` leaves the record out and counts it
            in ``table.report`` by reason with examples.
        workers: processes that extract: ``None`` (default) = ``$ZOO_FEATURE_WORKERS`` (the
            command lines' ``--workers``) or else ``os.cpu_count()``, when at
            least :data:`PARALLEL_MIN_RECORDS` records are to compute (fewer: serial),
            ``1`` = serial in this process, ``N`` = this process and ``N - 1`` worker
            processes (fresh interpreters, see :func:`_parallel_outcomes`). The table (rows,
            order, arrays, report, errors raised) is the same for every value. Extractors
            that cannot be pickled or that name TensorFlow / Keras in ``libraries`` run in
            this process; records whose entries are all in a ``FeatureCache`` already are
            read here. Extraction runs with one BLAS thread per process, for every value of
            ``workers`` (so that the arrays do not depend on it).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    if not extractors:
        raise ValueError("no extractors given")
    explicit = workers is not None
    workers = resolve_workers(workers)
    specs = {name: InputSpec.of(ex) for name, ex in extractors.items()}
    records = list(records)
    table = FeatureTable([], {name: [] for name in extractors}, specs)

    outcomes: dict = {}
    remote = ([n for n, ex in extractors.items() if _runs_in_workers(ex)]
              if workers > 1 and (cache is None or _picklable(cache)) else [])
    if remote:
        rows = [i for i, r in enumerate(records) if not _cached(cache, remote, extractors, r)]
        if len(rows) >= (2 if explicit else PARALLEL_MIN_RECORDS):
            outcomes = _parallel_outcomes(records, rows, remote, extractors, specs, cache,
                                          min(workers, len(rows)), stop_at_error=on_error == "raise")

    for i, record in enumerate(records):
        # In input order, exactly as the serial loop: the first failing input decides the skip.
        done = outcomes.get(i)
        if done is not None and done[0] == "error":
            raise done[1] from WorkerTraceback(done[2])
        row, err = {}, None
        for name in extractors:  # at a FeatureError, ``name`` is the input that failed
            if done is not None and name in remote:
                if done[0] == "feature_error" and done[2] == name:
                    err = FeatureError(done[3], done[4])
                    break
                row[name] = done[1][name]
                continue
            part, _, err = _extract_row(record, [name], extractors, specs, cache)
            if err is not None:
                break
            row.update(part)
        if err is not None:
            if on_error == "raise":
                raise err
            kind = err.reason or ("non-finite values" if "non-finite" in err.problem else "feature error")
            table.report.skip(f"{kind} ({name})", f"{record.utterance_id}: {err}")
            continue
        table.records.append(record)
        for name, array in row.items():
            table.features[name].append(array)
    if table.report.total_skipped:
        log.warning("compute_features: skipped %d of %d records: %s", table.report.total_skipped,
                    len(records), dict(table.report.skipped))
    return table


# ----------------------------------------------------------------------------- targets


def label_ids(records: Sequence[Record], label_set: Sequence[str]) -> np.ndarray:
    """int32 index of each record's label in ``label_set``; an error names the utterance."""
    index = {name: i for i, name in enumerate(label_set)}
    ids = np.empty(len(records), dtype=np.int32)
    for i, r in enumerate(records):
        if r.label not in index:
            raise ValueError(f"utterance {r.utterance_id!r} ({r.corpus}, {r.audio_path}) has label "
                             f"{r.label!r}, not in the label set {tuple(label_set)}")
        ids[i] = index[r.label]
    return ids


def _regression_values(records: Sequence[Record], name: str) -> np.ndarray:
    values = np.empty(len(records), dtype=np.float32)
    for i, r in enumerate(records):
        value = getattr(r, name)
        if value is None or not np.isfinite(value):
            raise ValueError(f"utterance {r.utterance_id!r} ({r.corpus}, {r.audio_path}) has no {name} value")
        values[i] = value
    return values


def _targets(records, targets: Sequence[str], label_set) -> Dict[str, np.ndarray]:
    out = {}
    for name in targets:
        if name == "label":
            if label_set is None:
                raise ValueError("target 'label' needs a label_set")
            out[name] = label_ids(records, label_set)
        elif name in REGRESSION_TARGETS:
            out[name] = _regression_values(records, name)
        else:
            raise ValueError(f"unknown target {name!r}; expected 'label' or one of {REGRESSION_TARGETS}")
    return out


def class_weights(data, label_set: Sequence[str]) -> Dict[int, float]:
    """``{class id: weight}`` for Keras ``class_weight``: scikit-learn
    ``compute_class_weight("balanced")`` = ``n / (n_classes * count)``.

    ``data``: records, a :class:`FeatureTable`, label names or integer ids. Every class of
    ``label_set`` must occur (a balanced weight is undefined for an absent class).
    """
    from sklearn.utils.class_weight import compute_class_weight

    if isinstance(data, FeatureTable):
        data = data.records
    data = list(data)
    if data and isinstance(data[0], Record):
        ids = label_ids(data, label_set)
    else:
        values = np.asarray(data)
        if values.dtype.kind in "iu":
            if values.size and (values.min() < 0 or values.max() >= len(label_set)):
                raise ValueError(f"class ids outside 0..{len(label_set) - 1}")
            ids = values.astype(np.int64)
        else:
            ids = label_ids([Record(utterance_id=f"#{i}", corpus="labels", label=v)
                             for i, v in enumerate(values.tolist())], label_set)
    counts = np.bincount(ids, minlength=len(label_set))
    absent = [label_set[i] for i in np.flatnonzero(counts == 0)]
    if absent:
        raise ValueError(f"classes {absent} have no examples; balanced weights are undefined")
    classes = np.arange(len(label_set))
    weights = compute_class_weight("balanced", classes=classes, y=ids)
    return {int(c): float(w) for c, w in zip(classes, weights)}


# ----------------------------------------------------------------------------- chunking


def chunk_sequence(x: np.ndarray, length: int, overlap: int, pad_value: float = 0.0,
                   keep_tail: bool = False) -> np.ndarray:
    """:func:`zoo.features.spectral.chunk_frames` that never drops: a sequence shorter than
    ``length`` gives one window padded with ``pad_value`` (callers that drop short
    utterances check the length first)."""
    return chunk_frames(x, length, overlap, drop_short=False, pad_value=pad_value, keep_tail=keep_tail)


def chunk_table(table: FeatureTable, length: int, overlap: int, drop_short: bool = True,
                keep_tail: bool = False) -> FeatureTable:
    """Expand each row's variable-length inputs into fixed-length chunks (CSA, Jalal et al.
    2020 §4.3.2: chunks of 20-120 frames, 10-frame overlap; utterances shorter than the
    chunk are left out of training and test).

    Every variable input of a row must have the same length. Fixed-shape inputs are
    repeated per chunk. ``utterance_index`` of the result maps each chunk to its row in
    ``table``. Utterances shorter than ``length`` are dropped (``drop_short``, counted in
    the report) or zero-padded to one chunk.
    """
    variable = [n for n, s in table.specs.items() if s.variable]
    if not variable:
        raise ValueError("chunking needs a variable-length input")
    specs = {n: (InputSpec((length, *s.shape[1:]), s.dtype, s.pad_value) if s.variable else s)
             for n, s in table.specs.items()}
    out = FeatureTable([], {n: [] for n in specs}, specs, LoadReport().merge(table.report))
    owners = []
    for i, record in enumerate(table.records):
        lengths = {n: table.features[n][i].shape[0] for n in variable}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"{record.utterance_id!r}: inputs to chunk differ in length {lengths}")
        if lengths[variable[0]] < length and drop_short:
            out.report.skip(f"shorter than chunk length {length}", record.utterance_id)
            continue
        chunks = {n: chunk_sequence(table.features[n][i], length, overlap, specs[n].pad_value, keep_tail)
                  for n in variable}
        n_chunks = len(chunks[variable[0]])
        for c in range(n_chunks):
            out.records.append(record)
            owners.append(i)
            for n in specs:
                out.features[n].append(chunks[n][c] if n in chunks else table.features[n][i])
    out.utterance_index = np.asarray(owners, dtype=np.int64)
    if out.report.total_skipped > table.report.total_skipped:
        log.warning("chunk_table: %s", dict(out.report.skipped))
    return out


# ----------------------------------------------------------------------------- datasets


def _auto_boundaries(lengths: np.ndarray, batch_size: int, max_buckets: int = 8,
                     n_buckets: Optional[int] = None) -> list:
    """Bucket boundaries at length quantiles: ``n_buckets`` buckets, or by default about one
    per batch, at most ``max_buckets`` (fewer when lengths repeat)."""
    if n_buckets is None:
        n_buckets = int(min(max_buckets, max(1, np.ceil(len(lengths) / batch_size))))
    if n_buckets < 2 or len(lengths) == 0:
        return []
    cuts = np.quantile(lengths, np.linspace(0, 1, n_buckets + 1)[1:-1])
    bounds = np.unique(np.ceil(cuts).astype(np.int64) + 1)
    return [int(b) for b in bounds if lengths.min() < b <= lengths.max()]


def _step_lengths(table: FeatureTable, pad_lengths: dict, keep: dict) -> Dict[str, np.ndarray]:
    """Length of every variable input per row after ``truncate`` (``keep``), checked against
    ``pad_to`` (``pad_lengths``)."""
    lengths = {}
    for n in pad_lengths:
        lens = table.lengths(n)
        if keep[n] is not None:
            lens = np.minimum(lens, keep[n])
        if pad_lengths[n] is not None and lens.max() > pad_lengths[n]:
            i = int(np.argmax(lens > pad_lengths[n]))
            raise ValueError(f"utterance {table.records[i].utterance_id!r}: input {n!r} has {lens[i]} "
                             f"steps, more than pad_to={pad_lengths[n]} (use truncate= to cut)")
        lengths[n] = lens
    return lengths


def _bucket_layout(lengths: Dict[str, np.ndarray], pad_lengths: dict, bucket_boundaries, bucket_by,
                   bucket_count, batch_size: int):
    """``(key input, boundaries)`` of length bucketing, or ``(None, [])`` without it.

    The key is ``bucket_by`` or the variable input with the most steps in all, among those
    without ``pad_to`` (a padded input has one length: nothing to bucket by)."""
    if bucket_count is not None:
        if isinstance(bucket_count, bool) or not isinstance(bucket_count, (int, np.integer)) or bucket_count < 1:
            raise ValueError(f"bucket_count must be a positive int; got {bucket_count!r}")
        if bucket_boundaries is None:
            bucket_boundaries = "auto"
        elif not (isinstance(bucket_boundaries, str) and bucket_boundaries == "auto"):
            raise ValueError("bucket_count sets the number of 'auto' buckets; explicit bucket_boundaries "
                             f"{list(bucket_boundaries)} already fix it")
    if bucket_boundaries is None:
        return None, []
    if isinstance(bucket_boundaries, str) and bucket_boundaries != "auto":
        raise ValueError(f"bucket_boundaries: expected None, 'auto' or increasing lengths; got {bucket_boundaries!r}")
    free = {n: lens for n, lens in lengths.items() if pad_lengths[n] is None}
    if bucket_by is not None:
        if bucket_by not in lengths:
            raise ValueError(f"bucket_by={bucket_by!r} is not a variable-length input {sorted(lengths)}")
        if bucket_by not in free:
            raise ValueError(f"bucket_by={bucket_by!r} is padded to pad_to={pad_lengths[bucket_by]}: "
                             f"every batch has that length, nothing to bucket by")
        key = bucket_by
    elif free:
        key = max(free, key=lambda k: int(free[k].sum()))
    else:
        return None, []
    if isinstance(bucket_boundaries, str):
        bounds = _auto_boundaries(free[key], batch_size, n_buckets=bucket_count)
    else:
        bounds = [int(b) for b in bucket_boundaries]
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise ValueError(f"bucket_boundaries must increase; got {bounds}")
    return key, bounds


def bucket_lengths(lengths: Dict[str, np.ndarray], key: str, bounds: Sequence[int],
                   keep_order: bool = False) -> Dict[str, np.ndarray]:
    """The padded length of every input in ``lengths`` per bucket: ``{input: (len(bounds) + 1,)}``.

    Row ``i`` is in bucket ``searchsorted(bounds, lengths[key][i], side="right")`` (bucket ``b``
    holds key lengths in ``[bounds[b - 1], bounds[b])``, as ``bucket_by_sequence_length``).
    A bucket's length is the longest of its rows; with ``keep_order`` (batches in data order,
    whose rows come from this bucket and shorter ones) the longest of its rows and of the
    shorter buckets'. One padded shape per bucket: what a ``tf.function`` traces once.
    """
    owner = np.searchsorted(np.asarray(bounds, dtype=np.int64), lengths[key], side="right")
    out = {}
    for name, lens in lengths.items():
        per = np.zeros(len(bounds) + 1, dtype=np.int64)
        np.maximum.at(per, owner, lens)
        out[name] = np.maximum.accumulate(per) if keep_order else per
    return out


def ordered_batch_lengths(lengths: Dict[str, np.ndarray], key: str, levels: int, batch_size: int,
                          drop_remainder: bool = False) -> Dict[str, np.ndarray]:
    """Padded lengths of the batches of rows in order (``batch_size`` consecutive rows each):
    ``{input: (n_batches,)}`` with at most ``levels`` distinct values per input.

    The levels of ``key`` are the ``i / levels`` quantiles of the batches' longest ``key``
    elements (``inverted_cdf``: values that occur; fewer when they repeat); a batch is padded to the smallest level that holds it, its other inputs to the
    longest of theirs among the batches of that level. In data order most batches hold one
    long element, so length buckets of the rows would pad nearly every batch to the top
    bucket, the longest row; levels of the batch maxima pad little more than each batch's own.
    """
    n = len(lengths[key])
    n_batches = n // batch_size if drop_remainder else -(-n // batch_size)
    if n_batches == 0:
        return {name: np.zeros(0, np.int64) for name in lengths}
    starts = np.arange(n_batches) * batch_size
    maxima = {name: np.maximum.reduceat(lens[:n_batches * batch_size] if drop_remainder else lens, starts)
              for name, lens in lengths.items()}
    marks = np.unique(np.quantile(maxima[key], np.arange(1, levels + 1) / levels, method="inverted_cdf"))
    level = np.searchsorted(marks, maxima[key])  # smallest mark >= the batch's longest
    out = {}
    for name, m in maxima.items():
        per_level = np.zeros(len(marks), dtype=np.int64)
        np.maximum.at(per_level, level, m)
        out[name] = per_level[level]
    return out


def distinct_shapes(dataset, with_batch: bool = False) -> collections.Counter:
    """How many batches of ``dataset`` (or of a list of its batches) have each input shape
    (``{input: shape}`` as a sorted tuple, without the batch axis unless ``with_batch``): the
    traces a ``tf.function`` fed with these batches makes (Keras ``predict``,
    ``train_on_batch`` and ``model(x)`` trace per new shape)."""
    counts = collections.Counter()
    for batch in dataset:
        inputs = batch[0]
        counts[tuple(sorted((name, tuple(int(d) for d in x.shape[0 if with_batch else 1:]))
                            for name, x in inputs.items()))] += 1
    return counts


def _sample_weights(sample_weights, table: FeatureTable, targets, label_set) -> Optional[np.ndarray]:
    if sample_weights is None:
        return None
    if isinstance(sample_weights, str):
        if sample_weights != "balanced":
            raise ValueError(f"sample_weights: expected 'balanced', a dict or an array; got {sample_weights!r}")
        sample_weights = class_weights(table.records, label_set)
    if isinstance(sample_weights, Mapping):
        if "label" not in targets:
            raise ValueError("class-keyed sample_weights need the 'label' target")
        by_id = {(label_set.index(k) if isinstance(k, str) else int(k)): float(w)
                 for k, w in sample_weights.items()}
        ids = label_ids(table.records, label_set)
        missing = sorted({label_set[i] for i in ids if i not in by_id})
        if missing:
            raise ValueError(f"sample_weights has no weight for classes {missing}")
        return np.asarray([by_id[i] for i in ids], dtype=np.float32)
    weights = np.asarray(sample_weights, dtype=np.float32).reshape(-1)
    if weights.size != len(table):
        raise ValueError(f"sample_weights has {weights.size} values for {len(table)} records")
    return weights


def _resolve_lengths(lengths, specs) -> list:
    """The inputs of ``make_dataset(lengths=...)`` that get a ``<name>_length`` input."""
    variable = [n for n, s in specs.items() if s.variable]
    if lengths is None or lengths is False:
        return []
    if lengths is True:
        return variable
    names = [lengths] if isinstance(lengths, str) else list(lengths)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"lengths names {unknown}, not inputs of the table {sorted(specs)}")
    fixed = [n for n in names if n not in variable]
    if fixed:
        raise ValueError(f"lengths names {fixed}: fixed-shape inputs, whose true lengths the table does not "
                         f"know; variable-length inputs: {variable}")
    clash = [n + LENGTH_SUFFIX for n in names if n + LENGTH_SUFFIX in specs]
    if clash:
        raise ValueError(f"inputs {clash} exist already; they would be replaced by the true lengths")
    return names


def _resolve_pad_to(pad_to, specs) -> Dict[str, Optional[int]]:
    variable = [n for n, s in specs.items() if s.variable]
    if pad_to is None or isinstance(pad_to, (int, np.integer)):
        return {n: (None if pad_to is None else int(pad_to)) for n in variable}
    unknown = set(pad_to) - set(variable)
    if unknown:
        raise ValueError(f"pad_to names {sorted(unknown)}, not variable-length inputs {variable}")
    return {n: pad_to.get(n) for n in variable}


def make_dataset(data, label_set: Optional[Sequence[str]] = None, *,
                 extractors: Optional[Mapping[str, Extractor]] = None, cache=None, on_error: str = "raise",
                 targets: Sequence[str] = ("label",), batch_size: int = 32, shuffle: bool = False,
                 seed: Optional[int] = None, epoch=None,
                 bucket_boundaries: Union[None, str, Sequence[int]] = None, bucket_by: Optional[str] = None,
                 bucket_count: Optional[int] = None, keep_order: bool = False, pad_to_bucket: bool = True,
                 pad_to: Union[None, int, Mapping[str, int]] = None,
                 truncate: Union[None, int, Mapping[str, int]] = None,
                 drop_remainder: bool = False, sample_weights=None,
                 chunking: Optional[tuple] = None, prefetch: bool = True,
                 lengths: Union[None, bool, Sequence[str]] = None):
    """A batched ``tf.data.Dataset`` of ``(inputs, targets[, sample_weights])``.

    Args:
        data: a :class:`FeatureTable`, or records (then ``extractors`` is required and
            ``cache``/``on_error`` go to :func:`compute_features`).
        label_set: ordered class names; ``"label"`` targets are int32 indices into it (a
            record whose label is not in it is an error naming the utterance).
        targets: ``("label",)`` or any of ``"valence"``, ``"arousal"``, ``"dominance"``
            (float32). One target gives a tensor, several a dict keyed by target name.
        shuffle, seed, epoch: with ``epoch`` (int or scalar tensor) the order is a function
            of ``(seed, epoch)``; with ``epoch=None`` a seeded shuffle reshuffles on each
            iteration. Same seed, same order.
        bucket_boundaries: ``None``, ``"auto"`` (length quantiles of this table) or
            increasing lengths; batches then hold elements of one length bucket
            (``bucket_by_sequence_length`` on ``bucket_by``, default the variable input with
            the most steps, among those without ``pad_to``), and every variable input is
            zero-padded to its bucket's length (:func:`bucket_lengths`: the bucket's longest
            row), not to the batch's: one shape per bucket, so a ``tf.function`` fed with the
            batches traces once per bucket. Bucketing reorders elements unless ``keep_order``.
        bucket_count: the number of ``"auto"`` buckets (implies ``"auto"``); default about
            one per batch, at most 8; fewer when lengths repeat.
        keep_order: with bucketing, keep the data order (no grouping): for predictions that
            must line up with records (:func:`fold_datasets` does it for validation and test).
            Each batch is padded to one of as many lengths as there are buckets: levels of
            the batches' longest elements (:func:`ordered_batch_lengths`), or with
            ``shuffle`` the length of the bucket of its longest element
            (:func:`bucket_lengths` with ``keep_order``).
        pad_to_bucket: ``False`` pads bucketed batches to their own longest element, as
            before: fewer padded steps (about 20% fewer recurrent steps on IEMOCAP-like
            lengths with 8 buckets), a new shape almost every batch. Keras ``fit`` on a
            dataset traces once either way (its step function sees ``(None, None, D)``);
            ``predict`` and XLA-compiled steps (``jit_compile``, on by default on a GPU)
            compile per shape.
        pad_to: pad variable inputs to this length (int, or dict per input) instead of the
            batch maximum; a longer sequence is an error naming the utterance.
        truncate: keep at most this many steps (int, or dict per input), e.g. AMH's
            750 audio frames / 128 tokens / 25 video frames.
        sample_weights: ``None``, ``"balanced"``, ``{class: weight}`` or one value per record
            of ``data`` (with ``chunking``: per utterance, copied onto its chunks).
        chunking: ``(length, overlap)`` or ``(length, overlap, drop_short)``: see
            :func:`chunk_table`.
        lengths: inputs that get an int32 ``<name>_length`` input (:data:`LENGTH_SUFFIX`) with
            each row's true steps: ``None``/``False`` none, ``True`` every variable input, or
            their names (:func:`length_inputs` of the model's input names). The length is
            counted before padding (``pad_to``, buckets, the batch maximum) and after
            ``truncate``; with ``chunking``, ``min(utterance length, chunk length)``.
    """
    import tensorflow as tf

    if isinstance(data, FeatureTable):
        table = data
    else:
        if extractors is None:
            raise ValueError("make_dataset on records needs extractors={input name: Extractor}")
        table = compute_features(data, extractors, cache=cache, on_error=on_error)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    targets = tuple([targets] if isinstance(targets, str) else targets)
    label_set = None if label_set is None else list(label_set)
    length_names = _resolve_lengths(lengths, table.specs)
    chunk_valid = {}
    if chunking is not None:
        # Per-record weights are given for the utterances and follow them onto their chunks.
        per_record = not (sample_weights is None or isinstance(sample_weights, (str, Mapping)))
        if per_record:
            sample_weights = _sample_weights(sample_weights, table, targets, label_set)
        source = table
        table = chunk_table(table, *chunking)
        if per_record:
            sample_weights = sample_weights[table.utterance_index]
        # Every chunk is whole but the one of an utterance shorter than the chunk (zero-padded).
        chunk_valid = {n: np.minimum(source.lengths(n), int(chunking[0]))[table.utterance_index].astype(np.int32)
                       for n in length_names}
    if len(table) == 0:
        raise ValueError("no records to make a dataset from")
    target_arrays = _targets(table.records, targets, label_set)
    weights = _sample_weights(sample_weights, table, targets, label_set)
    specs = table.specs
    pad_lengths = _resolve_pad_to(pad_to, specs)
    keep = _resolve_pad_to(truncate, specs)

    # Lengths after truncation, checked against pad_to before anything is built.
    lengths = _step_lengths(table, pad_lengths, keep)
    key_input, bounds = _bucket_layout(lengths, pad_lengths, bucket_boundaries, bucket_by, bucket_count,
                                       batch_size)

    packed = table.packed()
    n = len(table)
    with tf.init_scope():
        target_tensors = {k: tf.constant(v) for k, v in target_arrays.items()}
        weight_tensor = None if weights is None else tf.constant(weights)
        valid_tensors = {n: tf.constant(v) for n, v in chunk_valid.items()}

    def fetch(i):
        inputs = {}
        for name, spec in specs.items():
            values, splits = packed[name]
            if splits is None:
                inputs[name] = tf.gather(values, i)
                if name in valid_tensors:
                    inputs[name + LENGTH_SUFFIX] = tf.gather(valid_tensors[name], i)
            else:
                start, stop = splits[i], splits[i + 1]
                if keep[name] is not None:
                    stop = tf.minimum(stop, start + keep[name])
                inputs[name] = values[start:stop]
                if name in length_names:
                    inputs[name + LENGTH_SUFFIX] = tf.cast(stop - start, tf.int32)
        ys = {k: tf.gather(v, i) for k, v in target_tensors.items()}
        y = ys[targets[0]] if len(targets) == 1 else ys
        if weight_tensor is None:
            return inputs, y
        return inputs, y, tf.gather(weight_tensor, i)

    if shuffle and epoch is not None:
        base = np.random.SeedSequence(seed).generate_state(1)[0] if seed is None else seed
        key = tf.stack([tf.constant(base, tf.int64), tf.cast(epoch, tf.int64)])
        order = tf.argsort(tf.random.stateless_uniform([n], seed=key))
        indices = tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64))
    else:
        indices = tf.data.Dataset.range(n)
        if shuffle:
            indices = indices.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    dataset = indices.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def pad_spec(value, dtype):
        dtype = tf.as_dtype(dtype)
        return tf.constant(np.asarray(value).astype(dtype.as_numpy_dtype), dtype=dtype)

    # TensorShape objects, not tuples/lists: bucket_by_sequence_length flattens with tf.nest.
    padded_shapes = {name: tf.TensorShape((pad_lengths[name], *s.shape[1:]) if s.variable else s.shape)
                     for name, s in specs.items()}
    scalar = tf.TensorShape([])
    padding_values = {name: pad_spec(s.pad_value, s.dtype) for name, s in specs.items()}
    for name in length_names:
        padded_shapes[name + LENGTH_SUFFIX] = scalar
        padding_values[name + LENGTH_SUFFIX] = pad_spec(0, tf.int32)
    target_pads = {k: pad_spec(0, v.dtype) for k, v in target_tensors.items()}
    structure_shapes = (padded_shapes, scalar if len(targets) == 1 else {k: scalar for k in targets})
    structure_values = (padding_values, target_pads[targets[0]] if len(targets) == 1 else target_pads)
    if weight_tensor is not None:
        structure_shapes += (scalar,)
        structure_values += (pad_spec(0, tf.float32),)

    if key_input is not None and not keep_order:
        dataset = dataset.bucket_by_sequence_length(
            lambda inputs, *rest: tf.shape(inputs[key_input])[0],
            bucket_boundaries=bounds, bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
            padded_shapes=structure_shapes, padding_values=structure_values,
            drop_remainder=drop_remainder)
    else:
        dataset = dataset.padded_batch(batch_size, padded_shapes=structure_shapes,
                                       padding_values=structure_values, drop_remainder=drop_remainder)
    if key_input is not None and pad_to_bucket:
        # Batches come padded to their longest element; pad on to the bucket's length (zeros
        # appended; the <name>_length inputs keep the true lengths).
        free = {n: lens for n, lens in lengths.items() if pad_lengths[n] is None}

        def pad(inputs, steps):
            padded = dict(inputs)
            for name, length in steps.items():
                x = inputs[name]
                extra = tf.maximum(length - tf.shape(x)[1], 0)
                paddings = [[0, 0], [0, extra]] + [[0, 0]] * (x.shape.rank - 2)
                padded[name] = tf.pad(x, paddings, constant_values=padding_values[name])
            return padded

        if keep_order and not shuffle:
            # The batches are known: pad each to the level of its longest key element.
            with tf.init_scope():
                per_batch = {n: tf.constant(v, tf.int32) for n, v in
                             ordered_batch_lengths(free, key_input, len(bounds) + 1, batch_size, drop_remainder).items()}
            dataset = tf.data.Dataset.zip((tf.data.Dataset.range(len(next(iter(per_batch.values())))), dataset))
            dataset = dataset.map(lambda j, batch: (pad(batch[0], {n: v[j] for n, v in per_batch.items()}), *batch[1:]),
                                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            with tf.init_scope():
                caps = {n: tf.constant(v, tf.int32) for n, v in bucket_lengths(free, key_input, bounds, keep_order).items()}
                bound_tensor = tf.constant(bounds, tf.int32)

            def pad_by_bucket(inputs, *rest):
                steps = tf.reshape(tf.shape(inputs[key_input])[1], [1])
                bucket = tf.searchsorted(bound_tensor, steps, side="right")[0] if bounds else 0
                return (pad(inputs, {n: cap[bucket] for n, cap in caps.items()}), *rest)

            dataset = dataset.map(pad_by_bucket, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    return dataset


def fold_datasets(fold, table: FeatureTable, label_set: Optional[Sequence[str]] = None, *,
                  seed: Optional[int] = 0, **options) -> Dict[str, object]:
    """Datasets of one protocol fold (``zoo.data.protocols.Fold``) from a table of its records.

    Returns ``train`` (shuffled, reshuffled on each iteration), ``train_by_epoch``
    (``epoch -> Dataset``, for ``zoo.train.fit``), ``validation`` (None when the fold has
    none) and ``test`` (in fold order: no shuffling, grouping by length, sample weights or
    dropped remainder, so predictions line up with the records), and the three sub-tables
    under ``tables`` (their reports count records missing from ``table``). With bucketing,
    the boundaries (``"auto"``: length quantiles) come from the training part; validation
    and test batches, in fold order, get as many padded lengths as training has buckets
    (``keep_order``), so prediction also traces once per bucket.
    """
    options = {k: v for k, v in options.items() if k not in ("shuffle", "epoch", "keep_order")}
    tables = {part: table.select(fold.part_records(part)) for part in ("train", "validation", "test")}
    eval_options = {k: v for k, v in options.items()
                    if k not in ("sample_weights", "bucket_boundaries", "bucket_by", "bucket_count", "drop_remainder")}
    bucketing = options.get("bucket_boundaries") is not None or options.get("bucket_count") is not None
    if bucketing and options.get("chunking") is None and len(tables["train"]):
        # Boundaries from the training part; validation and test keep fold order with as many
        # padded lengths as there are buckets.
        specs = tables["train"].specs
        pad_lengths = _resolve_pad_to(options.get("pad_to"), specs)
        lengths = _step_lengths(tables["train"], pad_lengths, _resolve_pad_to(options.get("truncate"), specs))
        key, bounds = _bucket_layout(lengths, pad_lengths, options.get("bucket_boundaries"), options.get("bucket_by"),
                                     options.get("bucket_count"), options.get("batch_size", 32))
        if key is not None:
            options.update(bucket_boundaries=bounds, bucket_by=key, bucket_count=None)
            eval_options.update(bucket_boundaries=bounds, bucket_by=key, keep_order=True)

    def train_by_epoch(epoch):
        return make_dataset(tables["train"], label_set, shuffle=True, seed=seed, epoch=epoch, **options)

    return {
        "train": make_dataset(tables["train"], label_set, shuffle=True, seed=seed, **options),
        "train_by_epoch": train_by_epoch,
        "validation": (make_dataset(tables["validation"], label_set, **eval_options)
                       if len(tables["validation"]) else None),
        "test": make_dataset(tables["test"], label_set, **eval_options) if len(tables["test"]) else None,
        "tables": tables,
    }
