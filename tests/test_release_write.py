"""zoo.weights.release.publish writes the weights file once, atomically, where it belongs."""
import keras
import pytest

from zoo import blstmatt
from zoo.weights import manifest
from zoo.weights.release import publish
from tests.test_weights import TINY, TINY_PARAMETERS, entry_fields


@pytest.fixture
def saves(monkeypatch, tmp_path):
    """Every path ``save_weights`` writes to (the cache folder under ``tmp_path``)."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    calls, original = [], keras.Model.save_weights

    def spy(self, path, *args, **kwargs):
        calls.append(path)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", spy)
    return calls


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


@pytest.mark.parametrize("limit, where", [(manifest.COMMIT_LIMIT_BYTES, "weights"), (1000, "cache/weights")])
def test_written_once_to_a_temporary_name_beside_the_target(saves, tmp_path, limit, where):
    entry = publish(blstmatt.build(**TINY), entry_fields(), tmp_path / "weights" / "manifest.json", commit_limit=limit)
    folder = tmp_path / where
    assert len(saves) == 1  # not staged elsewhere and copied
    assert saves[0].parent == folder and saves[0].name.startswith(".") and not saves[0].exists()
    assert (folder / entry["file"]).stat().st_size == entry["size"]
    assert entry["committed"] is (where == "weights")
    assert _leftovers(folder) == [] and _leftovers(tmp_path / "weights") == []


def test_a_file_just_over_the_limit_goes_to_the_cache(saves, tmp_path):
    # The variables' bytes fit the limit, the file with HDF5's overhead does not.
    path = tmp_path / "weights" / "manifest.json"
    entry = publish(blstmatt.build(**TINY), entry_fields(), path, commit_limit=4 * TINY_PARAMETERS)
    assert entry["committed"] is False and entry["size"] > 4 * TINY_PARAMETERS
    assert not (tmp_path / "weights" / entry["file"]).exists()
    assert (tmp_path / "cache" / "weights" / entry["file"]).stat().st_size == entry["size"]
    assert [p.parent.name for p in saves] == ["weights", "weights"] and saves[1].parent.parent.name == "cache"
    assert _leftovers(tmp_path / "weights") == [] and _leftovers(tmp_path / "cache" / "weights") == []


def test_a_failing_save_leaves_no_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))

    def broken(self, path, *args, **kwargs):
        path.write_bytes(b"\x89HDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save_weights", broken)
    path = tmp_path / "weights" / "manifest.json"
    with pytest.raises(OSError, match="disk full"):
        publish(blstmatt.build(**TINY), entry_fields(), path)
    assert list((tmp_path / "weights").iterdir()) == []  # no partial file, no temporary, no manifest
