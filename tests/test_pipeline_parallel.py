"""compute_features over worker processes: the same table as the serial loop (rows, order,
arrays, skip report, errors), the cache shared safely, audio extractors picklable.

This module imports no TensorFlow: the worker processes that unpickle its extractors import it."""
import dataclasses
import multiprocessing
import os
import pickle
import time

import numpy as np
import pytest
import soundfile

from tests import shared_data
from zoo import features, pipeline
from zoo.data.records import Record
from zoo.features.base import Extractor, FeatureError
from zoo.features.cache import FeatureCache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Ramp(Extractor):
    """(n, 3) float frames from ``record.extra``; FeatureError / NaN on request."""

    name = "ramp"

    @property
    def shape(self):
        return (None, 3)

    def config(self):
        return {}

    def source_path(self, record):
        return record.audio_path

    def extract(self, record):
        if record.extra.get("broken"):
            raise FeatureError(record.audio_path, "cannot decode")
        n, k = record.extra["n"], record.extra["k"]
        x = k + np.arange(3 * n, dtype=np.float64).reshape(n, 3) / 7
        if record.extra.get("nan"):
            x[-1, 1] = np.nan
        return x


class Stats(Extractor):
    """A fixed (2,) vector; empty (a FeatureError) when ``record.extra["empty"]``."""

    name = "stats"

    @property
    def shape(self):
        return (None,)

    def config(self):
        return {}

    def extract(self, record):
        return np.zeros(0) if record.extra.get("empty") else np.array([record.extra["k"], -1.5])


class Pid(Extractor):
    """The id of the process that extracted."""

    name = "pid"

    @property
    def shape(self):
        return (1,)

    def config(self):
        return {}

    def extract(self, record):
        return np.array([os.getpid()], dtype=np.float64)


class PidAfterWorker(Pid):
    """:class:`Pid`, but after its first chunk of ``records`` records (computed before any is
    handed out) the calling process waits until a worker has extracted one record (a marker
    file): it would otherwise compute every chunk itself before a worker starts."""

    def __init__(self, marker, records=4, workers=2):
        self.marker, self.caller, self.done_here = str(marker), os.getpid(), 0
        self.first_chunk = pipeline.chunk_size(records, workers)

    def extract(self, record):
        if os.getpid() != self.caller:
            open(self.marker, "a").close()
        elif self.done_here >= self.first_chunk:
            deadline = time.monotonic() + 60
            while not os.path.exists(self.marker) and time.monotonic() < deadline:
                time.sleep(0.01)
        self.done_here += os.getpid() == self.caller
        return super().extract(record)


class Timed(PidAfterWorker):
    """:class:`PidAfterWorker` that leaves ``<utterance>.txt`` = "pid start end" in ``folder``."""

    def __init__(self, marker, folder, records):
        super().__init__(marker, records)
        self.folder = str(folder)

    def extract(self, record):
        start = time.time()
        if os.getpid() == self.caller and not self.done_here:
            time.sleep(1.5)  # the caller's first record is slow: a worker handed a chunk would start meanwhile
        value = super().extract(record)
        # Written whole then renamed: a worker may still be extracting a chunk that the caller
        # recomputed (and dropped) while the test reads the folder; it must never see half a line.
        path = os.path.join(self.folder, f"{record.utterance_id}.txt")
        with open(f"{path}.{os.getpid()}.tmp", "w") as f:
            f.write(f"{os.getpid()} {start} {time.time()}")
        os.replace(f"{path}.{os.getpid()}.tmp", path)
        return value


class WrongShape(Stats):
    def extract(self, record):
        if record.extra["k"] == 7:
            return np.zeros((2, 2))
        return super().extract(record)


def rec(k, n=4, path=None, **extra):
    return Record(utterance_id=f"utt{k:03d}", corpus="toy", audio_path=path or f"/toy/utt{k:03d}.wav",
                  label="angry", extra={"n": n, "k": k, **extra})


def corpus(size=40):
    flaws = {3: {"broken": True}, 11: {"nan": True}, 12: {"empty": True}, 30: {"broken": True, "empty": True}}
    return [rec(k, n=1 + k % 5, **flaws.get(k, {})) for k in range(size)]


def assert_same_table(a, b):
    assert [r.utterance_id for r in a.records] == [r.utterance_id for r in b.records]
    assert a.report.skipped == b.report.skipped and a.report.examples == b.report.examples
    assert a.features.keys() == b.features.keys()
    for name in a.features:
        assert len(a.features[name]) == len(b.features[name])
        for x, y in zip(a.features[name], b.features[name]):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


def test_parallel_table_equals_serial_with_skips(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    records = []
    for r in corpus():  # source files for the cache keys; utt039 is a copy of utt038 (one key)
        k = min(r.extra["k"], 38)
        (folder / f"{k}.wav").write_bytes(f"source {k}".encode())
        records.append(dataclasses.replace(r, audio_path=str(folder / f"{k}.wav"),
                                           extra={**r.extra, "k": k, "n": 1 + k % 5}))
    extractors = {"seq": Ramp(), "vec": Stats(), "pid": Pid()}
    caches = {w: FeatureCache(tmp_path / f"cache{w}") for w in (1, 2)}
    serial = pipeline.compute_features(records, extractors, cache=caches[1], on_error="skip", workers=1)
    after_worker = PidAfterWorker(tmp_path / "worker-ran", len(records))
    parallel = pipeline.compute_features(records, {**extractors, "pid": after_worker},
                                         cache=caches[2], on_error="skip", workers=2)
    # utt030 is broken in both inputs: the first input in order ("seq") names the skip.
    assert serial.report.skipped == {"feature error (seq)": 2, "non-finite values (seq)": 1,
                                     "feature error (vec)": 1}
    assert serial.report.examples["feature error (seq)"] == [
        f"utt003: {records[3].audio_path}: cannot decode", f"utt030: {records[30].audio_path}: cannot decode"]
    pids = {int(x[0]) for x in parallel.features.pop("pid")}
    assert os.getpid() in pids and len(pids) == 2  # this process and one worker both extracted
    assert {int(x[0]) for x in serial.features.pop("pid")} == {os.getpid()}
    assert_same_table(serial, parallel)
    # the workers' cache counters were summed back: every (record, input) looked up once
    counted = lambda s: s.hits + s.misses
    assert counted(caches[2].stats) == counted(caches[1].stats) == 3 * 36 + 1 + 1 + 1 + 2
    entries = lambda w: sorted(p.relative_to(caches[w].root) for p in caches[w].root.rglob("*") if p.is_file())
    assert entries(1) == entries(2)
    assert all(e.suffix == ".npy" for e in entries(2))  # no temporary file left
    again = pipeline.compute_features(records, {"seq": Ramp(), "vec": Stats()}, cache=caches[2],
                                      on_error="skip", workers=2)  # all cached: read here
    assert caches[2].stats.hits >= 2 * 36
    assert_same_table(serial, again)


def test_parallel_raises_the_first_error_in_record_order():
    records = corpus()
    for workers in (1, 2):
        with pytest.raises(FeatureError, match=r"^/toy/utt003.wav: cannot decode$"):
            pipeline.compute_features(records, {"vec": Stats(), "seq": Ramp()}, workers=workers)
    # a contract violation in a worker is re-raised here, with the worker's traceback as cause
    bad = [rec(k) for k in range(10)]
    with pytest.raises(ValueError, match="'stats'.*utt007.*shape") as info:
        pipeline.compute_features(bad, {"vec": WrongShape()}, workers=2)
    assert isinstance(info.value.__cause__, pipeline.WorkerTraceback)
    assert "_check_array" in str(info.value.__cause__)  # where it was raised


def test_no_main_guard_needed(tmp_path):
    """A script without ``if __name__ == "__main__"`` computes in workers (they do not re-run it)."""
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text("import os\nfrom tests.test_pipeline_parallel import PidAfterWorker, rec\n"
                      "from zoo import pipeline\n"
                      f"pid = PidAfterWorker({str(tmp_path / 'worker-ran')!r}, 6)\n"
                      "t = pipeline.compute_features([rec(k) for k in range(6)], {'pid': pid}, workers=2)\n"
                      "print(len(t), os.path.exists(pid.marker), flush=True)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    # A worker extracted (its marker; whether its rows or the caller's recomputation of a chunk
    # still pending end up in the table depends on scheduling), and the line is printed once:
    # the worker did not re-run the script.
    assert run.stdout.split() == ["6", "True"], run.stderr


def test_release_workers_then_start_again(tmp_path):
    pipeline.compute_features([rec(k) for k in range(2)], {"pid": Pid()}, workers=2)
    pipeline.release_workers()
    pipeline.release_workers()  # nothing left to stop: no error
    marker = tmp_path / "ran"
    table = pipeline.compute_features([rec(k) for k in range(4)], {"pid": PidAfterWorker(marker)}, workers=2)
    # A worker started again and extracted a record (the marker). Whether its row or the caller's
    # recomputation of a chunk still pending ends up in the table depends on scheduling (a loaded
    # machine), so only the restart itself is asserted.
    assert marker.exists() and len(table) == 4


def test_the_first_chunk_is_computed_here_before_any_worker_extracts(tmp_path):
    # Numba's on-disk cache (librosa's JIT code) is not safe for two processes compiling at once:
    # the first chunk compiles it here, alone. A worker extracts only after that chunk is done.
    (tmp_path / "times").mkdir()
    records = [rec(k) for k in range(40)]
    table = pipeline.compute_features(records, {"pid": Timed(tmp_path / "ran", tmp_path / "times", 40)}, workers=2)
    assert len(table) == 40
    times = {}
    for path in (tmp_path / "times").glob("*.txt"):
        pid, start, end = path.read_text().split()
        times[path.stem] = (int(pid), float(start), float(end))
    first_chunk = [r.utterance_id for r in records[:pipeline.chunk_size(40, 2)]]
    in_workers = [start for pid, start, _ in times.values() if pid != os.getpid()]
    assert all(times[u][0] == os.getpid() for u in first_chunk) and in_workers
    assert min(in_workers) >= max(times[u][2] for u in first_chunk)


def test_default_workers_and_what_stays_in_this_process(monkeypatch):
    monkeypatch.delenv(pipeline.WORKERS_ENV, raising=False)
    few = [rec(k) for k in range(pipeline.PARALLEL_MIN_RECORDS - 1)]
    table = pipeline.compute_features(few, {"pid": Pid()})  # workers=None: too few to start workers
    assert {int(x[0]) for x in table.features["pid"]} == {os.getpid()}

    class LocalPid(Pid):  # defined in a function: cannot be pickled, so it runs here
        pass

    table = pipeline.compute_features([rec(k) for k in range(8)], {"pid": LocalPid()}, workers=2)
    assert {int(x[0]) for x in table.features["pid"]} == {os.getpid()}
    for wrong in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            pipeline.compute_features(few, {"pid": Pid()}, workers=wrong)
    assert pipeline.resolve_workers(None) == os.cpu_count()


def test_workers_flag_sets_the_default_of_every_call(monkeypatch):
    """``--workers N`` (benchmark, release, finetune) becomes ``$ZOO_FEATURE_WORKERS``, the default of
    ``compute_features(workers=None)``: ``1`` keeps every record in this process however many there
    are; a bad value is an error naming the variable; an explicit ``workers=`` still wins."""
    import argparse

    from zoo import cli

    monkeypatch.setenv(pipeline.WORKERS_ENV, "")  # restored (unset) after the test, whatever cli sets
    monkeypatch.delenv(pipeline.WORKERS_ENV)
    parser = argparse.ArgumentParser()
    cli.add_workers_argument(parser)
    cli.apply_workers(parser.parse_args([]))
    assert pipeline.WORKERS_ENV not in os.environ
    cli.apply_workers(parser.parse_args(["--workers", "1"]))
    assert os.environ[pipeline.WORKERS_ENV] == "1" and pipeline.resolve_workers(None) == 1
    many = [rec(k) for k in range(2 * pipeline.PARALLEL_MIN_RECORDS)]
    table = pipeline.compute_features(many, {"pid": Pid()})
    assert {int(x[0]) for x in table.features["pid"]} == {os.getpid()} and len(table.records) == len(many)
    assert pipeline.resolve_workers(3) == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(pipeline.WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=pipeline.WORKERS_ENV):
            pipeline.resolve_workers(None)
    for bad in (["--workers", "0"], ["--workers", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    from benchmarks import __main__ as bench

    assert bench.parse_args(["--workers", "2"]).workers == 2


def _write_clips(folder, count):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"clip{i}.wav"
        n = int(16000 * (0.3 + 0.05 * i))
        t = np.arange(n) / 16000
        soundfile.write(path, (0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t) + 0.01 * rng.standard_normal(n))
                        .astype(np.float32), 16000, subtype="FLOAT")
        paths.append(str(path))
    (folder / "empty.wav").write_bytes(b"")
    return paths + [str(folder / "empty.wav")]


@pytest.mark.slow  # a worker imports librosa: seconds
def test_parallel_audio_with_shared_cache_equals_serial(tmp_path):
    paths = _write_clips(tmp_path, 6)
    # utt006 is the empty file; utt007 and utt008 are the same file (one cache key, maybe
    # written by two processes at once)
    records = [rec(k, path=p) for k, p in enumerate(paths)] + [rec(7, path=paths[0]), rec(8, path=paths[0])]
    # logmel: resampled to 22,050 Hz and a 128 x 1025 BLAS product, whose rounding follows
    # the BLAS thread count (the workers must use the same)
    extractors = {"fbank": features.get("fbank"), "logmel": features.get("logmel")}
    serial_cache, parallel_cache = FeatureCache(tmp_path / "serial"), FeatureCache(tmp_path / "parallel")
    serial = pipeline.compute_features(records, extractors, cache=serial_cache, on_error="skip", workers=1)
    parallel = pipeline.compute_features(records, extractors, cache=parallel_cache, on_error="skip", workers=2)
    assert serial.report.skipped == {"feature error (fbank)": 1}
    assert_same_table(serial, parallel)
    assert serial_cache.stats.hits + serial_cache.stats.misses == 2 * 8 + 1  # the empty file: fbank only
    assert (parallel_cache.stats.hits + parallel_cache.stats.misses
            == serial_cache.stats.hits + serial_cache.stats.misses)  # the workers' counts came back
    files = lambda root: sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    entries = files(tmp_path / "parallel")
    assert entries == files(tmp_path / "serial")
    assert len(entries) == 2 * 6 and not [e for e in entries if e.suffix != ".npy"]  # no temporary left
    again = pipeline.compute_features(records, extractors, cache=parallel_cache, on_error="skip", workers=2)
    assert_same_table(serial, again)


AUDIO = ("fbank", "logmel", "mfcc", "mfcc_deltas", "chroma", "logmel_image", "paa_frames", "paa_hsf")


@pytest.mark.parametrize("name", AUDIO)
def test_audio_extractors_pickle(name, tmp_path):
    (path,) = _write_clips(tmp_path, 1)[:1]
    extractor = features.get(name)
    record = rec(0, path=path)
    expected = extractor.extract(record)
    copy = pickle.loads(pickle.dumps(extractor))
    assert type(copy) is type(extractor) and copy.config() == extractor.config()
    np.testing.assert_array_equal(copy.extract(record), expected)
    assert pipeline._runs_in_workers(extractor)


def _hammer(root, key_source, value, rounds):
    """Write the entry of ``key_source`` ``rounds`` times with arrays full of ``value``."""
    cache = FeatureCache(root)
    extractor = features.get("fbank")
    entry = cache.path(extractor, rec(0, path=key_source))
    for _ in range(rounds):
        cache._write(entry, np.full((500, 23), value, np.float32))


def test_concurrent_writers_of_one_cache_key_are_safe(tmp_path):
    """Two processes rewrite one entry while this one reads it: every read is one whole array
    (``os.replace`` is atomic), and no temporary file is left."""
    source = _write_clips(tmp_path, 1)[0]
    root = tmp_path / "cache"
    cache = FeatureCache(root)
    entry = cache.path(features.get("fbank"), rec(0, path=source))
    _hammer(root, source, 0.0, 1)
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_hammer, args=(root, source, float(v), 60)) for v in (1, 2)]
    for w in writers:
        w.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        array = cache._read(entry)
        assert array is not None and array.shape == (500, 23)
        values = np.unique(array)
        assert values.size == 1 and values[0] in (0.0, 1.0, 2.0)
        seen.add(float(values[0]))
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert seen & {1.0, 2.0}
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]


@pytest.mark.slow
@shared_data.needs("ravdess")
def test_parallel_equals_serial_bit_for_bit_on_real_clips():
    """Resampled clips through 128-band mel products: arrays that would follow the BLAS
    thread count, were it not fixed in every process."""
    from zoo import data

    records = sorted(data.load("ravdess", shared_data.corpus("ravdess")).records, key=lambda r: r.audio_path)[:12]
    extractors = {"logmel": features.get("logmel"), "chroma": features.get("chroma")}
    assert_same_table(pipeline.compute_features(records, extractors, workers=1),
                      pipeline.compute_features(records, extractors, workers=2))
