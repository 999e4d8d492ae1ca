"""zoo.weights.storage: releases over the commit limit stored as the trainable part (frozen
encoder rebuilt from its preset) or as float16, written by publish() and loaded by
zoo.weights.load(); downloads through keras.utils.get_file from a local file:// URL."""
import h5py
import keras
import numpy as np
import pytest

from zoo import blstmatt, registry, text_encoders
from zoo import weights
from zoo.features import text as feature_text
from zoo.weights import manifest, storage
from zoo.weights.release import publish
from tests.test_weights import TINY, entry_fields

TEXT = {"text": {"extractor": "bert_tokens", "options": {"max_length": 8}, "config": {}}}


def _tiny_text_args(**extra):
    args = registry.get_spec("gru_bert").tiny_args("text_only")
    args.pop("text_encoder")  # a built random backbone: not JSON, not a preset
    return {**args, "text_encoder": text_encoders.MINILM, "classes": 4, **extra}


def text_entry(name="tiny-text", **build):
    return {**entry_fields(name), "model": "gru_bert", "variant": "text_only", "build": _tiny_text_args(**build),
            "features": TEXT, "command": "python -m zoo.weights release gru_bert:text_only --corpus synthetic"}


def _save_preset(folder, seed):
    keras.utils.set_random_seed(seed)
    text_encoders.tiny_bert_backbone(vocabulary_size=32).save_to_preset(str(folder))


@pytest.fixture
def minilm(tmp_path, monkeypatch):
    """The offline MiniLM name resolves to a tiny random preset folder (no package, no download)."""
    folder = tmp_path / "minilm"
    _save_preset(folder, 3)
    monkeypatch.setattr(feature_text, "offline_minilm_path", lambda: str(folder))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def _build(entry):
    return registry.build(f"{entry['model']}:{entry['variant']}", **entry["build"])


def _tokens():
    return np.random.default_rng(0).integers(1, 32, size=(5, 8)).astype("int32")


def _full_size(model, tmp_path):
    path = tmp_path / "probe.weights.h5"
    model.save_weights(path)
    return path.stat().st_size


@pytest.fixture
def text_release(minilm, tmp_path):
    """A gru_bert text_only release with the frozen MiniLM, over its (shrunk) commit limit."""
    entry = text_entry(text_trainable=False)
    keras.utils.set_random_seed(1)
    model = _build(entry)
    path = tmp_path / "weights" / "manifest.json"
    published = publish(model, entry, path, commit_limit=_full_size(model, tmp_path) - 1)
    return {"model": model, "entry": published, "manifest": path, "file": tmp_path / "weights" / published["file"]}


# ------------------------------------------------------------------------------ trainable part
def test_trainable_part_round_trip_is_exact(text_release):
    entry, model = text_release["entry"], text_release["model"]
    assert entry["storage"] == "trainable_part" and entry["committed"] is True
    assert entry["storage_details"]["not_used"]["full"].endswith("commit limit")
    layout = storage.h5_layer_names(text_release["file"])
    assert sorted(set(layout.values())) == ["logits", "penultimate", "text_dense"]  # no encoder weight in the file
    encoder = entry["storage_details"]["encoders"]["text_encoded"]
    assert encoder["source"].startswith(text_encoders.MINILM) and encoder["parameters"] > 0
    assert entry["parameters"] == model.count_params()  # the whole model's count
    assert "Storage trainable_part" in entry["notes"]
    row = next(line for line in weights.table(text_release["manifest"]).splitlines() if "`tiny-text`" in line)
    assert "committed<br>trainable part only (frozen encoder from all-minilm-l6-v2" in row
    keras.utils.set_random_seed(7)  # a fresh build's own head differs from the released one
    assert not np.array_equal(_build(entry).get_layer("text_dense").get_weights()[0],
                              model.get_layer("text_dense").get_weights()[0])
    loaded = weights.load(entry["name"], manifest_path=text_release["manifest"])
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
    np.testing.assert_array_equal(loaded.predict(_tokens(), verbose=0), model.predict(_tokens(), verbose=0))


def test_trainable_part_refused_unless_the_encoder_comes_from_a_named_source(minilm):
    def why(model, **build):
        entry = {"model": model, "variant": "default", "build": build}
        with pytest.raises(storage.StorageRefused) as caught:
            storage.rebuilt_parts(entry)
        return str(caught.value)

    assert "random initialisation" in why("parallelnet", trainable_backbones=False)  # frozen random backbones
    assert "fine-tuned" in why("gru_bert", text_encoder=text_encoders.MINILM, text_trainable=True)
    assert "fine-tuned" in why("gru_bert")  # the builder's default text_trainable=True
    assert "built BertBackbone" in why("gru_bert", text_encoder=text_encoders.tiny_bert_backbone(), text_trainable=False)
    assert "local folder" in why("gru_bert", text_encoder=str(minilm), text_trainable=False)
    assert "no frozen encoder" in why("blstmatt")
    parts = storage.rebuilt_parts({"model": "gru_bert", "variant": "frozen_bert", "build": {}})  # the variant's False
    assert list(parts) == ["text_encoded"]


def test_writer_refuses_a_trainable_part_for_a_fine_tuned_encoder_and_falls_back(minilm, tmp_path):
    entry = text_entry(text_trainable=True)
    model = _build(entry)
    path = tmp_path / "weights" / "manifest.json"
    with pytest.raises(storage.StorageRefused, match="text_trainable=True: the text encoder is fine-tuned"):
        publish(model, entry, path, storage="trainable_part")
    assert not path.exists() and not list((tmp_path / "weights").glob("*.h5"))
    auto = publish(model, entry, path, commit_limit=_full_size(model, tmp_path) - 1)
    assert auto["storage"] == "float16" and "fine-tuned" in auto["storage_details"]["not_used"]["trainable_part"]


def test_mismatched_trainable_part_files_are_clear_errors(text_release, tmp_path):
    entry, where = text_release["entry"], text_release["manifest"]
    full = tmp_path / "full.weights.h5"
    text_release["model"].save_weights(full)  # the whole model under a trainable_part entry
    text_release["file"].write_bytes(full.read_bytes())
    manifest.update({**entry, "sha256": weights.sha256(full), "size": full.stat().st_size}, where)
    with pytest.raises(weights.WeightsError, match=r"release 'tiny-text'.*unexpected layer 'bert_backbone(_\d+)?/"):
        weights.load(entry["name"], manifest_path=where)
    cut = tmp_path / "cut.weights.h5"
    part = storage.trainable_part(text_release["model"], entry)
    part.save(cut)
    with h5py.File(cut, "a") as f:
        name = next(k for k in f["layers"] if f[f"layers/{k}/vars"].attrs["name"] == "logits")
        del f[f"layers/{name}/vars/0"]
    text_release["file"].write_bytes(cut.read_bytes())
    manifest.update({**entry, "sha256": weights.sha256(cut), "size": cut.stat().st_size}, where)
    with pytest.raises(weights.WeightsError, match=r"release 'tiny-text'.*missing layer 'logits'"):
        weights.load(entry["name"], manifest_path=where)


def test_another_encoder_under_the_same_name_is_an_error(text_release, minilm):
    import shutil

    shutil.rmtree(minilm)
    _save_preset(minilm, 4)  # same shapes, other weights: another package version
    with pytest.raises(weights.WeightsError, match="release 'tiny-text': the frozen encoder text -> text_dense"):
        weights.load(text_release["entry"]["name"], manifest_path=text_release["manifest"])


# ------------------------------------------------------------------------------ float16
def test_float16_round_trip_within_float16_rounding(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    keras.utils.set_random_seed(2)
    model = blstmatt.build(**TINY)
    path = tmp_path / "weights" / "manifest.json"
    entry = publish(model, entry_fields(), path, commit_limit=_full_size(model, tmp_path) - 1)
    assert entry["storage"] == "float16" and entry["committed"] is True
    assert "no frozen encoder" in entry["storage_details"]["not_used"]["trainable_part"]
    with h5py.File(tmp_path / "weights" / entry["file"], "r") as f:
        dtypes = set()
        f.visititems(lambda name, obj: dtypes.add(obj.dtype) if isinstance(obj, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float16")}
    original = model.get_weights()
    rounded = [w.astype(np.float16).astype(np.float32) for w in original]
    error = max(float(np.abs(w - r).max()) for w, r in zip(original, rounded))
    assert entry["storage_details"]["max_abs_error"] == pytest.approx(error) and error > 0
    loaded = weights.load(entry["name"], manifest_path=path)
    assert all(w.dtype == np.float32 for w in loaded.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), rounded))  # exactly the cast values
    x = {"fbank": np.random.default_rng(0).normal(size=(3, 20, 23)).astype("float32"),
         "fbank_length": np.array([20, 15, 9], dtype="int32")}
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=5e-3)


def test_float16_refused_for_values_out_of_its_range(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    model = blstmatt.build(**TINY)
    layer = model.get_layer("logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + 1e5])
    path = tmp_path / "weights" / "manifest.json"
    with pytest.raises(storage.StorageRefused, match="beyond float16's range"):
        publish(model, entry_fields(), path, storage="float16")
    entry = publish(model, entry_fields(), path, commit_limit=_full_size(model, tmp_path) - 1)
    assert entry["storage"] == "full" and entry["committed"] is False
    assert "beyond float16's range" in entry["storage_details"]["not_used"]["float16"]
    assert "Not float16: weight 'logits'" in entry["notes"]
    assert list((tmp_path / "weights").glob("*.h5")) == []


def test_a_float32_file_under_a_float16_entry_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    model = blstmatt.build(**TINY)
    path = tmp_path / "weights" / "manifest.json"
    entry = publish(model, entry_fields(), path, storage="float16")
    file = tmp_path / "weights" / entry["file"]
    model.save_weights(file)
    manifest.update({**entry, "sha256": weights.sha256(file), "size": file.stat().st_size}, path)
    with pytest.raises(weights.WeightsError, match="stored as float16 but holds"):
        weights.load(entry["name"], manifest_path=path)


def test_schema_of_the_storage_keys():
    base = {**entry_fields(), "file": "x.weights.h5", "sha256": "0" * 64, "size": 1, "committed": True,
            "parameters": 1}
    assert manifest.validate_entry(base) == [] and manifest.validate_entry({**base, "storage": "full"}) == []
    assert any("storage 'int8'" in p for p in manifest.validate_entry({**base, "storage": "int8"}))
    assert any("max_abs_error" in p for p in manifest.validate_entry({**base, "storage": "float16"}))
    assert any("encoders" in p for p in manifest.validate_entry({**base, "storage": "trainable_part"}))


# ------------------------------------------------------------------------------ downloads
@pytest.fixture
def get_file_calls(monkeypatch):
    calls, original = [], keras.utils.get_file

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.utils, "get_file", spy)
    return calls


def test_a_release_not_on_disk_is_fetched_from_a_file_url_and_verified(text_release, tmp_path, get_file_calls):
    entry = text_release["entry"]
    served = tmp_path / "served" / entry["file"]
    served.parent.mkdir()
    text_release["file"].rename(served)
    manifest.update({**entry, "url": served.as_uri()}, text_release["manifest"])
    loaded = weights.load(entry["name"], manifest_path=text_release["manifest"])
    np.testing.assert_array_equal(loaded.predict(_tokens(), verbose=0),
                                  text_release["model"].predict(_tokens(), verbose=0))
    assert [(c["origin"], c["file_hash"], c["hash_algorithm"]) for c in get_file_calls] == [
        (served.as_uri(), entry["sha256"], "sha256")]
    cache = tmp_path / "cache" / "weights"
    assert [p.name for p in cache.iterdir()] == [entry["file"]] and weights.sha256(cache / entry["file"]) == entry["sha256"]


def test_a_wrong_hash_download_is_a_clear_error_leaving_no_file(tiny_release, tmp_path, get_file_calls):
    entry, where = tiny_release
    wrong = tmp_path / "served" / entry["file"]
    wrong.parent.mkdir()
    keras.utils.set_random_seed(9)
    blstmatt.build(**TINY).save_weights(wrong)  # other values: another sha256
    (tmp_path / "weights" / entry["file"]).unlink()
    manifest.update({**entry, "url": wrong.as_uri(), "size": wrong.stat().st_size}, where)
    with pytest.raises(weights.ChecksumError, match=r"sha256 does not match release 'tiny-blstmatt'.*nothing was kept"):
        weights.load(entry["name"], manifest_path=where)
    assert len(get_file_calls) == 1
    assert list((tmp_path / "cache" / "weights").iterdir()) == []  # no file, no temporary folder


@pytest.fixture
def tiny_release(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "weights" / "manifest.json"
    return publish(blstmatt.build(**TINY), entry_fields(), path), path
