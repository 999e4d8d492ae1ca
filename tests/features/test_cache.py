"""FeatureCache: reuse, invalidation, corruption recovery, atomic writes, content-addressed keys."""

import errno
import os
import pathlib
import warnings

import numpy as np
import pytest

from zoo import features
from zoo.data.records import Record
from zoo.features import cache as cache_module
from zoo.features.base import FeatureError
from zoo.features.cache import FeatureCache
from zoo.features.spectral import FBank


class CountingFBank(FBank):
    """fbank that counts its computations (and can be told to fail)."""

    def __init__(self, fail=False, **options):
        super().__init__(**options)
        self.calls, self.fail = 0, fail

    def compute(self, signal, sr):
        self.calls += 1
        if self.fail:
            raise RuntimeError("boom mid-compute")
        return super().compute(signal, sr)


def entries(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_second_call_reads_the_cache(write_wav, tmp_path):
    record = write_wav()
    extractor = CountingFBank()
    cache = FeatureCache(tmp_path / "cache")
    first = cache.get_or_compute(extractor, record)
    second = cache.get_or_compute(extractor, record)
    assert extractor.calls == 1
    assert (cache.stats.hits, cache.stats.misses, cache.stats.recomputed) == (1, 1, 0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, FBank()(record))
    # another run (new cache object, new extractor) reuses the entry; it is a plain .npy
    again = FeatureCache(tmp_path / "cache")
    other = CountingFBank()
    np.testing.assert_array_equal(again.get_or_compute(other, record), first)
    assert other.calls == 0 and again.stats.hits == 1
    np.testing.assert_array_equal(np.load(again.path(other, record)), first)


def test_key_follows_content_config_and_versions(write_wav, tmp_path, monkeypatch):
    record = write_wav("a.wav")
    cache = FeatureCache(tmp_path / "cache")
    base = cache.path(FBank(), record)
    assert cache.path(FBank(n_mels=24), record) != base
    assert cache.path(FBank(hop_ms=20), record) != base
    copy = write_wav("copy_elsewhere.wav")  # same bytes, other name: same entry
    assert cache.path(FBank(), copy) == base
    changed = write_wav("a.wav", freq=300.0)  # rewritten file: new content, new entry
    assert cache.path(FBank(), changed) != base
    monkeypatch.setattr(cache_module, "library_versions", lambda names: {"librosa": "99.0"})
    assert cache.path(FBank(), copy) != base


def test_config_change_computes_a_new_entry(write_wav, tmp_path):
    record = write_wav()
    cache = FeatureCache(tmp_path / "cache")
    a = cache.get_or_compute(CountingFBank(), record)
    wider = CountingFBank(n_mels=40)
    b = cache.get_or_compute(wider, record)
    assert wider.calls == 1 and a.shape == (48, 23) and b.shape == (48, 40)
    assert cache.stats.misses == 2 and len(entries(tmp_path / "cache")) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupted_entry_is_detected_and_recomputed(write_wav, tmp_path, damage):
    record = write_wav()
    cache = FeatureCache(tmp_path / "cache")
    extractor = CountingFBank()
    good = cache.get_or_compute(extractor, record)
    entry = cache.path(extractor, record)
    data = bytearray(entry.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[200] ^= 0x01  # inside the float data: np.load alone would not notice
    else:
        data = b""
    entry.write_bytes(bytes(data))
    out = cache.get_or_compute(extractor, record)
    np.testing.assert_array_equal(out, good)
    assert extractor.calls == 2 and cache.stats.recomputed == 1
    cache.get_or_compute(extractor, record)  # repaired: a hit again
    assert extractor.calls == 2 and cache.stats.hits == 1


def test_exception_mid_compute_leaves_no_file(write_wav, tmp_path):
    record = write_wav()
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(RuntimeError, match="boom"):
        cache.get_or_compute(CountingFBank(fail=True), record)
    assert not (tmp_path / "cache").exists() or entries(tmp_path / "cache") == []
    with pytest.raises(FeatureError, match="silent"):
        cache.get_or_compute(FBank(), write_wav("z.wav", signal=np.zeros(4000, np.float32)))
    assert not (tmp_path / "cache").exists() or entries(tmp_path / "cache") == []


def test_exception_while_writing_leaves_no_partial_file(write_wav, tmp_path, monkeypatch):
    record = write_wav()
    cache = FeatureCache(tmp_path / "cache")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "replace", failing_replace)
    with pytest.warns(cache_module.CacheWriteWarning, match="disk full"):
        out = cache.get_or_compute(FBank(), record)
    np.testing.assert_array_equal(out, FBank()(record))
    assert entries(tmp_path / "cache") == []  # the temporary file was removed
    assert cache.stats.unwritten == 1


class _HalfWritten:
    """A file object that writes half of what it is given, then fails with ``code``."""

    def __init__(self, handle, code):
        self.handle, self.code = handle, code

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(self.code, os.strerror(self.code))

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def _break_writes(monkeypatch, root, where, code):
    """Make writing under ``root`` fail with errno ``code`` at step ``where`` of an entry's write."""
    root = str(root)

    def under(path):
        return os.fspath(path).startswith(root)

    def error(path):
        return OSError(code, os.strerror(code), os.fspath(path))

    if where == "mkdir":
        real_mkdir = pathlib.Path.mkdir

        def mkdir(self, *args, **kwargs):
            if under(self):
                raise error(self)
            return real_mkdir(self, *args, **kwargs)
        monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    elif where == "create":
        real_open = os.open

        def create(path, flags, *args, **kwargs):
            if under(path) and flags & os.O_CREAT:
                raise error(path)
            return real_open(path, flags, *args, **kwargs)
        monkeypatch.setattr(os, "open", create)
    elif where == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _HalfWritten(real_fdopen(fd, *a, **k), code))
    elif where == "rename":
        real_replace = os.replace

        def replace(src, dst):
            if under(dst):
                raise error(dst)
            return real_replace(src, dst)
        monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("where, code", [("mkdir", errno.EROFS), ("create", errno.EROFS), ("create", errno.EACCES),
                                         ("write", errno.ENOSPC), ("write", errno.EDQUOT), ("rename", errno.ENOSPC)])
def test_unwritable_cache_computes_without_caching(write_wav, tmp_path, monkeypatch, where, code):
    records = [write_wav(f"r{i}.wav", freq=200.0 + 50 * i) for i in range(4)]
    reference = FeatureCache(tmp_path / "writable")
    expected = [reference.get_or_compute(FBank(), r) for r in records]
    root = tmp_path / "cache"
    stored = FeatureCache(root)
    stored.get_or_compute(FBank(), records[0])  # one entry exists before the folder breaks
    _break_writes(monkeypatch, root, where, code)
    cache = FeatureCache(root)
    extractor = CountingFBank()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = [cache.get_or_compute(extractor, r) for r in records]
        out += [cache.get_or_compute(extractor, r) for r in records]  # nothing was stored: computed again
    for got, want in zip(out, expected + expected):
        np.testing.assert_array_equal(got, want)
    said = [w for w in caught if issubclass(w.category, cache_module.CacheWriteWarning)]
    assert len(said) == 1, [str(w.message) for w in caught]  # said once, naming the folder and the error
    assert str(root) in str(said[0].message) and os.strerror(code) in str(said[0].message)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.unwritten) == (2, 6, 6)
    assert extractor.calls == 6
    monkeypatch.undo()
    assert entries(root) == [str(stored.path(FBank(), records[0]).relative_to(root))]  # no partial file


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders (the errno tests above cover it)")
def test_read_only_cache_folder(write_wav, tmp_path):
    records = [write_wav(f"r{i}.wav", freq=200.0 + 50 * i) for i in range(3)]
    root = tmp_path / "cache"
    FeatureCache(root).get_or_compute(FBank(), records[0])
    before = entries(root)
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        folder.chmod(0o555)
    try:
        cache = FeatureCache(root)
        with pytest.warns(cache_module.CacheWriteWarning, match=str(root)):
            out = [cache.get_or_compute(FBank(), r) for r in records]
    finally:
        for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)
    for got, record in zip(out, records):
        np.testing.assert_array_equal(got, FBank()(record))
    assert (cache.stats.hits, cache.stats.unwritten) == (1, 2) and entries(root) == before


def test_corrupt_entry_in_a_read_only_cache_is_recomputed_and_counted(write_wav, tmp_path, monkeypatch):
    record = write_wav()
    root = tmp_path / "cache"
    good = FeatureCache(root).get_or_compute(FBank(), record)
    entry = FeatureCache(root).path(FBank(), record)
    entry.write_bytes(entry.read_bytes()[:-5])
    _break_writes(monkeypatch, root, "create", errno.EROFS)
    cache = FeatureCache(root)
    with pytest.warns(cache_module.CacheWriteWarning):
        np.testing.assert_array_equal(cache.get_or_compute(FBank(), record), good)
    assert (cache.stats.recomputed, cache.stats.unwritten) == (1, 1)


def test_text_key_depends_on_the_transcript_not_the_audio(write_wav, tmp_path):
    a = write_wav("a.wav").replace(transcript="you do")
    b = write_wav("b.wav", freq=300.0).replace(transcript="you do")
    c = a.replace(transcript="do you")
    vocab = features.Vocabulary.build(["you do"])
    extractor = features.get("word_ids", vocabulary=vocab)
    cache = FeatureCache(tmp_path / "cache")
    assert cache.path(extractor, a) == cache.path(extractor, b)
    assert cache.path(extractor, a) != cache.path(extractor, c)
    assert vocab.words == ["<pad>", "<oov>", "do", "you"]  # ties are alphabetical
    assert cache.get_or_compute(extractor, c).tolist() == [2, 3]
    text_only = Record("t", "test", transcript="do you")  # no audio at all
    assert cache.get_or_compute(extractor, text_only).tolist() == [2, 3] and cache.stats.hits == 1


def test_video_key_includes_the_time_span(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((1, 4, 4, 3), np.uint8))
    record = Record("v", "test", video_path=str(tmp_path / "v.npy"), start=1.0, end=2.0)
    extractor = features.get("video_resnet")
    cache = FeatureCache(tmp_path / "cache")
    assert cache.path(extractor, record) != cache.path(extractor, record.replace(end=3.0))


def test_file_digest_memo_is_refreshed_when_the_file_changes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"one")
    cache = FeatureCache(tmp_path / "cache")
    first = cache.file_digest(path)
    path.write_bytes(b"two!")
    assert cache.file_digest(path) != first
    with pytest.raises(FeatureError, match="cannot read source file"):
        cache.file_digest(tmp_path / "missing.wav")
