"""Vision features: face image loading and ResNet-101 frame vectors (weights=None: nothing downloaded)."""
import numpy as np
import pytest

from zoo import features
from zoo.data.records import Record
from zoo.features.base import FeatureError


def test_image_is_resized_rgb_in_unit_range(tmp_path):
    from PIL import Image

    pixels = np.zeros((64, 32, 3), np.uint8)
    pixels[..., 0] = 255  # pure red
    pixels[:, :, 2] = 51
    Image.fromarray(pixels).save(tmp_path / "face.png")
    extractor = features.get("image")
    out = extractor(Record("u", "test", image_path=str(tmp_path / "face.png")))
    assert extractor.shape == out.shape == (128, 128, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], 1.0)
    np.testing.assert_allclose(out[..., 1], 0.0)
    np.testing.assert_allclose(out[..., 2], 0.2, atol=1e-6)
    grey = Image.fromarray(np.full((10, 10), 255, np.uint8))  # "L" image -> 3 equal channels
    grey.save(tmp_path / "grey.png")
    assert features.get("image", size=16)(Record("g", "test", image_path=str(tmp_path / "grey.png"))).shape == (16, 16, 3)


def test_image_bad_inputs(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(FeatureError, match="cannot decode image"):
        features.get("image")(Record("b", "test", image_path=str(tmp_path / "bad.png")))
    with pytest.raises(FeatureError, match="no image_path"):
        features.get("image")(Record("b", "test"))


def test_half_frame_selection_and_centre_crop():
    frames = np.zeros((1, 300, 500, 3), np.uint8)
    frames[:, :, 250:] = 200  # right actor bright
    frames[:, 150, 125] = 7  # centre pixel of the left half
    extractor = features.get("video_resnet", speaker_side="left")
    left = extractor.prepare(frames, "left")
    assert left.shape == (1, 224, 224, 3) and np.all(left[..., 0][left[..., 0] != 7] == 0)
    assert left[0, 112, 112, 0] == 7  # (300-224)//2 = 38 rows, (250-224)//2 = 13 cols cropped
    right = extractor.prepare(frames, "right")
    assert np.all(right == 200)
    small = extractor.prepare(np.ones((2, 20, 40, 3), np.uint8), None)  # upscaled then cropped
    assert small.shape == (2, 224, 224, 3)
    sides = features.get("video_resnet", speaker_side={"Session1:F": "right", "F": "left", "M": "right"})
    assert sides.side_for(Record("u", "t", session="Session1", gender="F")) == "right"
    assert sides.side_for(Record("u", "t", session="Session2", gender="F")) == "left"
    with pytest.raises(FeatureError, match="no entry"):
        sides.side_for(Record("u", "t", session="Session2", gender=None))


def test_video_resnet_on_a_tiny_frame_array(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "v.npy", rng.integers(0, 256, size=(3, 48, 64, 3), dtype=np.uint8))
    record = Record("u", "test", video_path=str(tmp_path / "v.npy"))
    extractor = features.get("video_resnet", weights=None, crop=64)
    out = extractor(record)
    assert extractor.shape == (None, 2048)
    assert out.shape == (3, 2048) and out.dtype == np.float32 and np.all(np.isfinite(out))
    assert not np.allclose(out[0], out[1])  # different frames, different vectors
    # the untrained network is seeded: a fresh extractor (another process) gives the same vectors
    np.testing.assert_allclose(features.get("video_resnet", weights=None, crop=64)(record), out, rtol=1e-4, atol=1e-5)
    model = extractor.model()
    assert model.count_params() == 42_658_176  # ResNet-101 without top (keras.applications)


def test_video_bad_inputs(tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 8, 8, 3), np.uint8))
    np.save(tmp_path / "flat.npy", np.zeros((8, 8), np.uint8))
    extractor = features.get("video_resnet")
    with pytest.raises(FeatureError, match="no video frames"):
        extractor(Record("e", "test", video_path=str(tmp_path / "empty.npy")))
    with pytest.raises(FeatureError, match=r"\(F, H, W, 3\)"):
        extractor(Record("f", "test", video_path=str(tmp_path / "flat.npy")))
    with pytest.raises(FeatureError, match="no video_path"):
        extractor(Record("n", "test"))
    with pytest.raises(ValueError, match="weights"):
        features.get("video_resnet", weights="/no/such/file.h5")


def test_video_file_without_a_decoder_says_what_to_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("cv2") or importlib.util.find_spec("av"):
        pytest.skip("a video decoder is installed here; this checks the message when none is")
    (tmp_path / "d.avi").write_bytes(b"RIFF....AVI ")
    with pytest.raises(FeatureError, match="opencv-python-headless") as info:
        features.get("video_resnet")(Record("d", "test", video_path=str(tmp_path / "d.avi"), start=0.0, end=1.0))
    assert info.value.path == str(tmp_path / "d.avi")


def test_avi_frames_at_3_fps_between_start_and_end(tmp_path):
    cv2 = pytest.importorskip("cv2", reason="OpenCV (opencv-python-headless) is not installed")
    from zoo.features.vision import read_video

    path = str(tmp_path / "dialog.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (80, 60))
    for i in range(90):  # 3 s at 30 fps; frame i has red = 2 i, right half blue
        frame = np.zeros((60, 80, 3), np.uint8)
        frame[..., 2] = 2 * i  # OpenCV is BGR
        frame[:, 40:, 0] = 200
        writer.write(frame)
    writer.release()
    frames = read_video(path, 1.0, 2.0, 3.0)  # t = 1, 4/3, 5/3 s -> frames 30, 40, 50
    assert frames.shape == (3, 60, 80, 3)
    np.testing.assert_allclose(frames[:, 30, 10, 0], [60, 80, 100], atol=4)  # JPEG error
    np.testing.assert_allclose(frames[:, 30, 60, 2], 200, atol=4)
    assert read_video(path, None, None, 3.0).shape[0] == 9


@pytest.mark.parametrize("uid, side", [
    ("Ses01F_impro01_F000", "left"),      # the lead (F, after the session number) speaks: left half
    ("Ses01F_impro01_M013", "right"),     # the other actor speaks: right half
    ("Ses03M_script02_1_M020", "left"),   # a male-led dialog: M is the lead
    ("Ses03M_script02_1_F007", "right"),
    ("Ses05M_impro05b_F001", "right"),
])
def test_iemocap_speaker_side_from_the_utterance_id(uid, side):
    from zoo.features.vision import iemocap_speaker_side

    assert iemocap_speaker_side(uid) == side
    extractor = features.get("video_resnet", speaker_side="iemocap")
    assert extractor.side_for(Record(uid, "iemocap", video_path="/v.avi")) == side
    assert extractor.source_extras(Record(uid, "iemocap"))["side"] == side  # enters the cache key


def test_iemocap_speaker_side_refuses_an_id_it_cannot_read():
    extractor = features.get("video_resnet", speaker_side="iemocap")
    for uid in ("Ses01F_impro01_MXX0", "03a01Fa", "Ses1F_impro01_F000"):
        with pytest.raises(FeatureError, match=rf"{uid}.*not an IEMOCAP id"):
            extractor.side_for(Record(uid, "x", video_path="/v.avi"))
    with pytest.raises(ValueError, match="'left', 'right' or 'iemocap'"):
        features.get("video_resnet", speaker_side="centre")


def test_amh_reads_the_speakers_half_by_default():
    from zoo import amh

    assert amh.RECIPE.features["video"].options["speaker_side"] == "iemocap"
    assert features.get(amh.RECIPE.features["video"]).speaker_side == "iemocap"


def test_the_synthetic_corpus_puts_the_speaker_where_the_iemocap_rule_looks(tmp_path):
    """Every synthetic clip shows both actors; the half the rule does NOT pick is exactly the
    listener's neutral clip (redrawn here from its own random stream), the other one talks."""
    from zoo.data import synthetic
    from zoo.data.synthetic import faces, plan
    from zoo.features.vision import iemocap_speaker_side

    seed, n = 3, 24
    root = tmp_path / "syn"
    synthetic.synthesize(root, seed=seed, utterances=n)
    speakers = plan.make_speakers(np.random.default_rng([seed, 0]))
    sides = set()
    for u in plan.make_plan(n, np.random.default_rng([seed, 1])):
        (path,) = root.rglob(f"video/{u.dialog}/{u.utterance_id}.npy")
        clip = np.load(path)
        assert clip.shape == (6, 64, 128, 3)
        side = iemocap_speaker_side(u.utterance_id)
        sides.add(side)
        listener = speakers[(u.session, "M" if u.gender == "F" else "F")]
        quiet = faces.face_video("neutral", listener.look, np.random.default_rng([seed, 4, u.index]))
        other = clip[:, :, 64:] if side == "left" else clip[:, :, :64]
        picked = clip[:, :, :64] if side == "left" else clip[:, :, 64:]
        np.testing.assert_array_equal(other, quiet, err_msg=u.utterance_id)
        assert not np.array_equal(picked, quiet)
    assert sides == {"left", "right"}  # both cases occur
