"""zoo.backbones: keras.applications families, weights files, fail-fast ImageNet weights."""
import socket
import time

import numpy as np
import pytest
import keras

from zoo import backbones
from zoo.backbones import ImageNetWeightsUnavailable, vision_backbone


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache and no network: the probe must answer False, and Keras' downloader
    must never be reached."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(backbones, "keras_cache_dirs", lambda: [str(tmp_path / "keras_home" / "models")])
    calls = []

    def no_network(url, timeout=backbones.PROBE_TIMEOUT_S):
        calls.append(url)
        return False

    monkeypatch.setattr(backbones, "_can_reach", no_network)

    def forbidden(*args, **kwargs):
        raise AssertionError("keras.applications constructor reached with an unreachable network")

    monkeypatch.setattr(keras.applications, "VGG16", forbidden)
    return calls


@pytest.mark.parametrize("family, params, out_shape", [
    ("VGG16", 14_714_688, (1, 1, 512)),
    ("vgg19", 20_024_384, (1, 1, 512)),
    ("MobileNet", 3_228_864, (1, 1, 1024)),
    ("efficientnet_b0", 4_049_571, (1, 1, 1280)),
])
def test_families_build_without_top(family, params, out_shape):
    model = vision_backbone(family, (32, 32, 3), weights=None, name="n2")
    assert model.name == "n2"
    assert model.count_params() == params  # keras.applications' published no-top sizes
    assert model.output_shape == (None, *out_shape)


def test_pooling_and_names():
    model = vision_backbone("vgg16", (32, 32, 3), pooling="avg")
    assert model.output_shape == (None, 512)
    assert backbones.canonical_name("EfficientNet-B0") == "efficientnetb0"
    assert backbones.canonical_name("Inception_V3") == "inceptionv3"
    assert {"vgg16", "vgg19", "resnet50", "resnet101", "inceptionv3", "mobilenet", "mobilenetv2",
            "densenet121", "efficientnetb0"} <= set(backbones.available_backbones())
    with pytest.raises(ValueError, match="unknown backbone"):
        vision_backbone("resnet34", (32, 32, 3))
    with pytest.raises(ValueError, match=">= 75"):
        vision_backbone("inception_v3", (32, 32, 3))


def test_preprocess_input_is_the_family_function():
    x = np.full((1, 2, 2, 3), 255.0, "float32")
    out = backbones.preprocess_input("vgg16")(x.copy())
    # caffe mode: RGB -> BGR, minus the ImageNet BGR means
    np.testing.assert_allclose(out[0, 0, 0], 255.0 - np.array([103.939, 116.779, 123.68]), rtol=1e-5)
    out = backbones.preprocess_input("mobilenet_v2")(x.copy())
    np.testing.assert_allclose(out, 1.0)  # tf mode: [-1, 1]
    layer = backbones.BackbonePreprocessing("vgg16")
    np.testing.assert_allclose(np.asarray(layer(x)), backbones.preprocess_input("vgg16")(x.copy()), rtol=1e-6)
    assert keras.layers.deserialize(keras.layers.serialize(layer)).family == "vgg16"


def test_weights_file_round_trip(tmp_path):
    first = vision_backbone("vgg16", (32, 32, 3), weights=None)
    path = tmp_path / "vgg16_32.weights.h5"
    first.save_weights(path)
    second = vision_backbone("vgg16", (32, 32, 3), weights=str(path), name="restored")
    assert second.name == "restored"
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh = vision_backbone("vgg16", (32, 32, 3), weights=None)
    assert not np.array_equal(fresh.get_weights()[0], first.get_weights()[0])


def test_weights_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        vision_backbone("vgg16", (32, 32, 3), weights=str(tmp_path / "missing.weights.h5"))
    path = tmp_path / "vgg19.weights.h5"
    vision_backbone("vgg19", (32, 32, 3)).save_weights(path)
    with pytest.raises(ValueError, match="vgg19.weights.h5"):
        vision_backbone("mobilenet", (32, 32, 3), weights=str(path))
    with pytest.raises(ValueError, match="vgg19.weights.h5"):  # same layer names, fewer layers
        vision_backbone("vgg16", (32, 32, 3), weights=str(path))


def test_imagenet_fails_fast_with_a_helpful_message(offline):
    start = time.monotonic()
    with pytest.raises(ImageNetWeightsUnavailable) as info:
        vision_backbone("vgg16", (128, 128, 3), weights="imagenet")
    assert time.monotonic() - start < 2.0
    message = str(info.value)
    assert 'weights="/path/to/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"' in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" in message
    assert offline == ["https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                       "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"]


def test_imagenet_uses_the_cache_without_probing(offline, tmp_path, monkeypatch):
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    (cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"x")
    seen = {}
    monkeypatch.setattr(keras.applications, "VGG16", lambda **kw: seen.update(kw) or
                        keras.applications.VGG19(**{**kw, "weights": None}))
    vision_backbone("vgg16", (32, 32, 3), weights="imagenet")
    assert seen["weights"] == "imagenet" and offline == []  # handed to Keras, no network probe


def test_download_error_is_rewrapped(monkeypatch, tmp_path):
    monkeypatch.setattr(backbones, "keras_cache_dirs", lambda: [str(tmp_path)])
    monkeypatch.setattr(backbones, "_can_reach", lambda url, timeout=0: True)

    def failing(**kwargs):
        raise Exception("URL fetch failure on https://...: 403 -- Forbidden")

    monkeypatch.setattr(keras.applications, "DenseNet121", failing)
    with pytest.raises(ImageNetWeightsUnavailable, match="densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        vision_backbone("densenet121", (32, 32, 3), weights="imagenet")


def test_probe_is_bounded_and_honours_offline_switch(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers: a silent host must not hang us
    try:
        start = time.monotonic()
        assert backbones._can_reach(f"http://127.0.0.1:{server.getsockname()[1]}/x.h5", timeout=0.3) is False
        assert time.monotonic() - start < 1.5
    finally:
        server.close()
    start = time.monotonic()
    assert backbones._can_reach("https://weights.invalid/x.h5", timeout=0.3) is False
    assert time.monotonic() - start < 1.5
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    start = time.monotonic()
    assert backbones._can_reach("https://storage.googleapis.com/x", timeout=5) is False
    assert time.monotonic() - start < 0.1


def test_legacy_h5_file_like_keras_imagenet_files(tmp_path):
    """Keras' ImageNet files are legacy (layer-name) HDF5; a path to one must load."""
    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving import legacy_h5_format

    first = vision_backbone("vgg16", (32, 32, 3))
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, first)
    second = vision_backbone("vgg16", (32, 32, 3), weights=str(path))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("family, module, attr", [
    ("vgg16", "vgg16", "WEIGHTS_PATH_NO_TOP"), ("vgg19", "vgg19", "WEIGHTS_PATH_NO_TOP"),
    ("inception_v3", "inception_v3", "WEIGHTS_PATH_NO_TOP"), ("densenet121", "densenet", "DENSENET121_WEIGHT_PATH_NO_TOP"),
])
def test_imagenet_file_names_match_keras(family, module, attr):
    keras_apps = pytest.importorskip(f"keras.src.applications.{module}")
    fname, url = backbones.imagenet_weights_file(family)
    assert url == getattr(keras_apps, attr) and url.endswith("/" + fname)


def test_imagenet_file_names_by_pattern():
    resnet = pytest.importorskip("keras.src.applications.resnet")
    assert backbones.imagenet_weights_file("resnet101")[1] == (
        resnet.BASE_WEIGHTS_PATH + "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert backbones.imagenet_weights_file("mobilenet", input_shape=(128, 128, 3))[0] == "mobilenet_1_0_128_tf_no_top.h5"
    assert backbones.imagenet_weights_file("mobilenet_v2", input_shape=(32, 32, 3))[0] == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")
    assert backbones.imagenet_weights_file("efficientnetb0", include_top=True) == (
        "efficientnetb0.h5", "https://storage.googleapis.com/keras-applications/efficientnetb0.h5")
