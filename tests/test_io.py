"""zoo.io: atomic writes leave the old file or the new one, never a part; sha256; strict loading."""
import ast
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo import io as zio


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_atomic_writes_write_the_content_and_nothing_else(tmp_path):
    zio.atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01bytes")
    zio.atomic_write_text(tmp_path / "b.txt", "h\u00e9llo\n")
    zio.atomic_write_json(tmp_path / "c.json", {"x": [1, 2.5]})
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01bytes"
    assert (tmp_path / "b.txt").read_bytes() == "h\u00e9llo\n".encode("utf-8")
    assert json.loads((tmp_path / "c.json").read_text()) == {"x": [1, 2.5]}
    assert listing(tmp_path) == ["a.bin", "b.txt", "c.json"]


def test_permissions_follow_the_umask_unless_given(tmp_path):
    old = os.umask(0o027)
    try:
        zio.atomic_write_bytes(tmp_path / "u.bin", b"x")
        zio.atomic_write_text(tmp_path / "p.txt", "x", perm=0o644)
    finally:
        os.umask(old)
    # as open() would make it (mkstemp would give 0600), and an explicit mode wins over the umask
    assert stat.S_IMODE((tmp_path / "u.bin").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "p.txt").stat().st_mode) == 0o644


def test_an_exception_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "t.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="half way"):
        with zio.atomic_write(target, "w") as f:
            f.write("new, but only half")
            f.flush()
            raise RuntimeError("half way")
    assert target.read_text() == "old" and listing(tmp_path) == ["t.json"]


def test_a_failing_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zio.os, "replace", full)
    with pytest.raises(OSError, match="No space"):
        zio.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and listing(tmp_path) == ["t.bin"]


def test_atomic_path_gives_writers_a_named_file_with_the_suffix(tmp_path):
    target = tmp_path / "w.weights.h5"
    with zio.atomic_path(target, suffix=".weights.h5") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".weights.h5") and tmp != target
        assert zio.is_temporary(tmp) and not target.exists()
        tmp.write_bytes(b"payload")
    assert target.read_bytes() == b"payload" and listing(tmp_path) == ["w.weights.h5"]
    with pytest.raises(ValueError):
        with zio.atomic_path(tmp_path / "x.weights.h5", suffix=".weights.h5") as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError("writer failed")
    assert listing(tmp_path) == ["w.weights.h5"]


def test_remove_temporaries_removes_only_temporary_files(tmp_path):
    keep = [".hidden", "notes.tmp", "ckpt-0001.weights.h5", ".a.tmp"]  # look alike, but not ours
    for name in keep:
        (tmp_path / name).write_bytes(b"k")
    stale = [zio.temporary_name(tmp_path / "state.json"),
             zio.temporary_name(tmp_path / "ckpt-0002.weights.h5", ".weights.h5")]
    for path in stale:
        path.write_bytes(b"partial")
    removed = zio.remove_temporaries(tmp_path)
    assert sorted(removed) == sorted(stale)
    assert listing(tmp_path) == sorted(keep)


def test_sha256_matches_hashlib(tmp_path):
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # several read blocks and a tail
    (tmp_path / "f").write_bytes(data)
    assert zio.sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest() == zio.sha256_bytes(data)
    with open(tmp_path / "f", "rb") as f:
        assert zio.sha256(tmp_path / "f") == hashlib.file_digest(f, "sha256").hexdigest()


def test_io_imports_nothing_from_zoo_nor_keras():
    source = Path(zio.__file__).read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("zoo"), ast.dump(node)
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("zoo") for a in node.names), ast.dump(node)
    out = subprocess.run([sys.executable, "-c", "import sys, zoo.io; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('keras', 'tensorflow', 'h5py') or m.startswith('zoo.')))"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.strip() == "['zoo.io']"


# ----------------------------------------------------------------------------- weights files
def _dense(units, name="tiny"):
    import keras

    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(units, name="dense")(inputs), name=name)


def test_h5_layout_and_truncated_file(tmp_path):
    model = _dense(2)
    model.save_weights(tmp_path / "m.weights.h5")
    layout = zio.h5_layout(tmp_path / "m.weights.h5")
    assert sorted(layout.values()) == [(2,), (3, 2)]
    data = (tmp_path / "m.weights.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(zio.WeightsError, match="cut.weights.h5.*truncated or corrupt"):
        zio.h5_layout(tmp_path / "cut.weights.h5")


def test_load_weights_strict_refuses_a_file_of_another_model(tmp_path):
    source = _dense(2)
    source.save_weights(tmp_path / "two.weights.h5")
    same = _dense(2, name="same")
    zio.load_weights_strict(same, tmp_path / "two.weights.h5")
    for a, b in zip(same.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(zio.WeightsError, match="two.weights.h5"):
        zio.load_weights_strict(_dense(5, name="wider"), tmp_path / "two.weights.h5")
