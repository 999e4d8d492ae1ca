"""Vision features: face images (ParallelNet) and ResNet-101 video-frame vectors (AMH).

* ``image`` — ``Record.image_path`` -> ``(128, 128, 3)`` float32 RGB in [0, 1] (PIL: RGB
  conversion and bilinear resize, what ``keras.utils.load_img`` does).
* ``video_resnet`` — Yoon et al. 2020 §4.2: frames at 3 fps ->
  ``keras.applications.ResNet101(include_top=False, pooling="avg")`` -> ``(F, 2048)``.
  Input ``Record.video_path`` is either a ``.npy`` uint8 frame array ``(F, H, W, 3)``
  (synthetic corpus: every frame is used) or a video file read between ``record.start``
  and ``record.end`` at ``fps`` (OpenCV, else PyAV; neither is a zoo dependency: install
  ``opencv-python-headless`` or ``av``). Each frame: optionally keep the speaking actor's
  half (``speaker_side``), resize up (bilinear) if the shorter side is under ``crop``,
  centre-crop ``crop x crop``, ``keras.applications.resnet.preprocess_input``.

``speaker_side``: None (whole frame), ``"left"`` / ``"right"``, ``"iemocap"`` (the half of the
utterance's speaker, from its IEMOCAP utterance id: :func:`iemocap_speaker_side`), a dict keyed by
``"<session>:<gender>"``, ``"<session>"`` or ``"<gender>"`` (first match wins; IEMOCAP
dialog videos show both actors side by side and which side is whom is a setting), or a
callable ``record -> "left" | "right" | None``.

IEMOCAP rule (``"iemocap"``, taken from public IEMOCAP video preprocessing code, not from the AMH
authors): the dialog's lead actor, the letter after the session number (``F`` in
``Ses01F_impro01``), sits on the LEFT half of the frame, the other actor on the right; the
utterance's speaker is the letter before the turn number (``Ses01F_impro01_M013``: M, the other
actor, the right half). An utterance id that does not parse is a :class:`FeatureError` naming it
(a counted skip with ``on_error="skip"``).

``weights``: None (untrained; kernels re-drawn with seeded Glorot-uniform so that cached
features are reproducible across processes: for tests only), ``"imagenet"`` (keras
downloads the file) or a path to a weights file (its sha256 enters the cache key).
"""
from __future__ import annotations

import os
import re
from typing import Callable, Optional, Union

import numpy as np

from .base import Extractor, FeatureError, require_source_file

NO_DECODER = ("no video decoder is installed: `pip install opencv-python-headless` (or `av`) "
              "to read video files, or give per-utterance .npy frame arrays")


_IEMOCAP_ID = re.compile(r"^Ses\d{2}([FM])_.*_([FM])\d{3}$")


def iemocap_speaker_side(utterance_id: str) -> str:
    """``"left"`` when the utterance's speaker is the dialog's lead actor (the letter after the
    session number), else ``"right"`` (see the module docstring); ``ValueError`` naming an id that
    is not ``Ses<NN><F|M>_..._<F|M><NNN>``."""
    match = _IEMOCAP_ID.match(str(utterance_id))
    if match is None:
        raise ValueError(f"utterance id {utterance_id!r} is not an IEMOCAP id Ses<NN><F|M>_..._<F|M><NNN>: "
                         "cannot tell which half of the frame shows its speaker (speaker_side='iemocap')")
    lead, speaker = match.groups()
    return "left" if speaker == lead else "right"


#: PIL's resampling filters, by our name (PIL's attribute; PIL is imported when an image is read).
_RESIZE = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC", "lanczos": "LANCZOS"}


class Image(Extractor):
    """RGB image resized to ``size x size``, float32 in [0, 1]: ``(size, size, 3)``."""

    name = "image"
    implementation = 1
    libraries = ("numpy", "pillow")

    def __init__(self, size: int = 128, interpolation: str = "bilinear"):
        if interpolation not in _RESIZE:
            raise ValueError(f"interpolation must be one of {sorted(_RESIZE)}")
        self.size, self.interpolation = int(size), interpolation

    @property
    def shape(self):
        return (self.size, self.size, 3)

    def config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "size": self.size,
                "interpolation": self.interpolation}

    def source_path(self, record):
        return record.image_path

    def extract(self, record) -> np.ndarray:
        path = record.image_path
        if path is None:
            raise FeatureError(record.utterance_id, "image: record has no image_path")
        return read_image(path, self.size, self.interpolation)


def read_image(path, size: int, interpolation: str = "bilinear") -> np.ndarray:
    """``path`` as ``(size, size, 3)`` float32 RGB in [0, 1] (PIL's conversion and resize, what
    :class:`Image` extracts); a missing or undecodable file is a :class:`FeatureError` naming it."""
    from PIL import Image as PILImage

    method = getattr(PILImage, _RESIZE[interpolation])
    require_source_file(path, "image")
    try:
        with PILImage.open(path) as img:
            img = img.convert("RGB").resize((int(size), int(size)), method)
            pixels = np.asarray(img, dtype=np.float32)
    except Exception as error:
        raise FeatureError(path, f"cannot decode image ({error})") from error
    return pixels / 255.0


def _file_sha(path) -> str:
    from zoo.io import sha256

    return sha256(path)


class VideoResNet(Extractor):
    """ResNet-101 (avg-pooled) vector per video frame: ``(F, 2048)``."""

    name = "video_resnet"
    implementation = 1
    libraries = ("numpy", "keras", "tensorflow")
    #: The ``keras.applications`` family of the network (``zoo.backbones``), for a check that its
    #: ImageNet file can be had before an experiment starts.
    imagenet_family = "resnet101"

    def __init__(self, weights: Optional[str] = None, fps: float = 3.0,
                 speaker_side: Union[None, str, dict, Callable] = None, crop: int = 224,
                 batch_size: int = 16, seed: int = 0):
        if not (weights is None or weights == "imagenet" or os.path.exists(str(weights))):
            raise ValueError(f"weights must be None, 'imagenet' or an existing file, got {weights!r}")
        if isinstance(speaker_side, str) and speaker_side not in ("left", "right", "iemocap"):
            raise ValueError(f"speaker_side must be 'left', 'right' or 'iemocap', got {speaker_side!r}")
        self.weights, self.fps, self.speaker_side = weights, float(fps), speaker_side
        self.crop, self.batch_size, self.seed = int(crop), int(batch_size), int(seed)
        self._model = None

    @property
    def shape(self):
        return (None, 2048)

    def config(self) -> dict:
        if self.weights is None:
            weights = f"none(seed={self.seed})"
        elif self.weights == "imagenet":
            weights = "imagenet"
        else:
            weights = "sha256:" + _file_sha(self.weights)
        side = self.speaker_side
        if callable(side):
            side = f"callable:{getattr(side, '__module__', '')}.{getattr(side, '__qualname__', repr(side))}"
        elif isinstance(side, dict):
            side = dict(sorted((str(k), v) for k, v in side.items()))
        return {"name": self.name, "implementation": self.implementation, "weights": weights,
                "fps": self.fps, "speaker_side": side, "crop": self.crop,
                "backbone": "ResNet101/avg", "preprocess": "resnet.preprocess_input"}

    def source_path(self, record):
        return record.video_path

    def source_extras(self, record) -> dict:
        """Record fields besides the file content that change the output (cache key)."""
        return {"start": record.start, "end": record.end, "side": self.side_for(record)}

    # -- frames ---------------------------------------------------------------------
    def side_for(self, record) -> Optional[str]:
        side = self.speaker_side
        if side == "iemocap":
            try:
                return iemocap_speaker_side(record.utterance_id)
            except ValueError as error:
                raise FeatureError(record.video_path or record.utterance_id, str(error)) from None
        if side is None or isinstance(side, str):
            return side
        if callable(side):
            return side(record)
        for key in (f"{record.session}:{record.gender}", str(record.session), str(record.gender)):
            if key in side:
                return side[key]
        raise FeatureError(record.video_path, f"speaker_side has no entry for session "
                                              f"{record.session!r} / gender {record.gender!r}")

    def read_frames(self, record) -> np.ndarray:
        """RGB uint8 frames ``(F, H, W, 3)`` of the record's utterance."""
        path = record.video_path
        if path is None:
            raise FeatureError(record.utterance_id, "video_resnet: record has no video_path")
        require_source_file(path, "video")
        if path.endswith(".npy"):
            try:
                frames = np.load(path, allow_pickle=False)
            except Exception as error:
                raise FeatureError(path, f"cannot read frame array ({error})") from error
        else:
            frames = read_video(path, record.start, record.end, self.fps)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise FeatureError(path, f"expected frames (F, H, W, 3), got shape {frames.shape}")
        if frames.shape[0] == 0:
            raise FeatureError(path, "no video frames in the utterance's time span")
        return frames

    def prepare(self, frames: np.ndarray, side: Optional[str]) -> np.ndarray:
        """Half-frame selection, upscaling if needed, centre crop: ``(F, crop, crop, 3)`` float32."""
        frames = np.asarray(frames, dtype=np.float32)
        if side is not None:
            half = frames.shape[2] // 2
            frames = frames[:, :, :half] if side == "left" else frames[:, :, frames.shape[2] - half:]
        height, width = frames.shape[1:3]
        if min(height, width) < self.crop:
            import keras

            scale = self.crop / min(height, width)
            size = (max(self.crop, int(round(height * scale))), max(self.crop, int(round(width * scale))))
            frames = keras.ops.convert_to_numpy(keras.ops.image.resize(frames, size, interpolation="bilinear"))
            height, width = size
        top, left = (height - self.crop) // 2, (width - self.crop) // 2
        return frames[:, top:top + self.crop, left:left + self.crop]

    # -- network --------------------------------------------------------------------
    def model(self):
        """The ResNet-101 feature network (built on first use)."""
        if self._model is None:
            import keras

            weights = None if self.weights is None else self.weights
            model = keras.applications.ResNet101(include_top=False, pooling="avg", weights=weights,
                                                 input_shape=(self.crop, self.crop, 3))
            if self.weights is None:  # reproducible untrained network (see module docstring)
                for i, variable in enumerate(model.weights):
                    if variable.path.endswith("kernel"):
                        init = keras.initializers.GlorotUniform(seed=self.seed + i)
                        variable.assign(init(variable.shape, dtype=variable.dtype))
            self._model = model
        return self._model

    def extract(self, record) -> np.ndarray:
        import keras

        frames = self.prepare(self.read_frames(record), self.side_for(record))
        inputs = keras.applications.resnet.preprocess_input(frames)
        model = self.model()
        out = [keras.ops.convert_to_numpy(model(inputs[i:i + self.batch_size], training=False))
               for i in range(0, len(inputs), self.batch_size)]
        features = np.concatenate(out).astype(np.float32)
        if not np.all(np.isfinite(features)):
            raise FeatureError(record.video_path, "video_resnet produced NaN/inf values")
        return features

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        return state


def frame_times(start: Optional[float], end: Optional[float], fps: float, duration: float) -> np.ndarray:
    """Sampling times ``start, start + 1/fps, ... < end`` (whole video when start/end are None)."""
    start = 0.0 if start is None else float(start)
    end = duration if end is None else min(float(end), duration)
    return np.arange(start, end, 1.0 / fps) if end > start else np.zeros(0)


def read_video(path: str, start: Optional[float], end: Optional[float], fps: float) -> np.ndarray:
    """RGB frames at ``fps`` between ``start`` and ``end`` seconds, with OpenCV or PyAV."""
    try:
        import cv2  # noqa: F401
        return _read_cv2(path, start, end, fps)
    except ImportError:
        pass
    try:
        import av  # noqa: F401
        return _read_av(path, start, end, fps)
    except ImportError:
        raise FeatureError(path, NO_DECODER) from None


def _read_cv2(path, start, end, fps) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise FeatureError(path, "OpenCV cannot open the video")
        native = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not native or native <= 0 or count <= 0:
            raise FeatureError(path, "video reports no frame rate or no frames")
        wanted = np.unique(np.minimum(np.round(frame_times(start, end, fps, count / native) * native), count - 1).astype(int))
        frames = []
        if len(wanted):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(wanted[0]))
            position = int(wanted[0])
            for index in wanted:
                while position < index:  # grab skips decoding of unwanted frames
                    capture.grab()
                    position += 1
                ok, frame = capture.read()
                position += 1
                if not ok:
                    raise FeatureError(path, f"cannot decode frame {index}")
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)
    finally:
        capture.release()


def _read_av(path, start, end, fps) -> np.ndarray:
    import av

    try:
        container = av.open(path)
    except Exception as error:
        raise FeatureError(path, f"PyAV cannot open the video ({error})") from error
    with container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else float("inf")
        times = list(frame_times(start, end, fps, duration))
        frames = []
        if times:
            container.seek(int(times[0] / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                while times and frame.time >= times[0] - 1e-6:
                    frames.append(frame.to_ndarray(format="rgb24"))
                    times.pop(0)
                if not times:
                    break
        return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)
