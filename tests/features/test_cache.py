"""FeatureCache: reuse, invalidation, corruption recovery, atomic writes, content-addressed keys."""

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
    with pytest.raises(OSError, match="disk full"):
        cache.get_or_compute(FBank(), record)
    assert entries(tmp_path / "cache") == []  # the temporary file was removed


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
