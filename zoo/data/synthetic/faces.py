"""Drawn cartoon faces whose expression depends on the emotion, noisy by design.

Head ellipse, eyes (openness), brows (inner-end angle and height) and mouth (curvature
and openness) follow the emotion, in the direction of the Facial Action Coding System
prototypes (Ekman & Friesen 1978): smile for happy, inner-brow raise and frown for sad,
lowered brows and narrowed eyes for angry, raised brows and open mouth for surprise. The
expression parameters get heavy noise, and the picture gets pose jitter, lighting,
per-speaker skin and background colours, occluders and pixel noise, so faces are an
informative but imperfect modality.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageDraw


@dataclasses.dataclass(frozen=True)
class Expression:
    mouth_curve: float  # + smile, - frown
    mouth_open: float  # 0 closed .. 1 wide open
    brow_angle: float  # + inner ends lowered (anger), - inner ends raised (sadness)
    brow_raise: float  # + raised brows (surprise)
    eye_open: float  # 1 neutral


EXPRESSIONS = {
    "neutral": Expression(0.0, 0.05, 0.0, 0.0, 1.0),
    "happy": Expression(1.0, 0.3, 0.0, 0.1, 0.8),
    "excited": Expression(1.0, 0.65, 0.0, 0.4, 1.0),
    "angry": Expression(-0.5, 0.45, 1.0, -0.3, 0.7),
    "sad": Expression(-0.8, 0.05, -0.9, 0.1, 0.7),
    "frustrated": Expression(-0.4, 0.2, 0.5, -0.1, 0.85),
    "surprised": Expression(0.2, 0.9, -0.2, 1.0, 1.4),
    "fearful": Expression(-0.4, 0.5, -0.7, 0.7, 1.3),
}
EXPRESSION_NOISE = 0.35


@dataclasses.dataclass(frozen=True)
class Look:
    """Per-speaker appearance."""

    skin: tuple
    background: tuple
    hair: tuple
    face_width: float


def speaker_look(rng: np.random.Generator) -> Look:
    tone = rng.uniform(0.35, 1.0)
    skin = tuple(int(v) for v in (120 + 120 * tone, 80 + 110 * tone, 60 + 90 * tone))
    background = tuple(int(v) for v in rng.integers(30, 220, size=3))
    hair = tuple(int(v) for v in rng.integers(10, 120, size=3))
    return Look(skin, background, hair, float(rng.uniform(0.62, 0.78)))


def noisy_expression(emotion: str, rng: np.random.Generator) -> Expression:
    e = EXPRESSIONS[emotion]
    z = rng.normal(0, EXPRESSION_NOISE, size=5)
    return Expression(
        e.mouth_curve + z[0], float(np.clip(e.mouth_open + 0.6 * z[1], 0, 1.2)),
        e.brow_angle + z[2], e.brow_raise + z[3], float(np.clip(e.eye_open + 0.6 * z[4], 0.3, 1.8)),
    )


def draw(expr: Expression, look: Look, size: int, rng: np.random.Generator,
         pose=None, talk: float = 0.0, occluder=None) -> np.ndarray:
    """One face as a ``size`` x ``size`` x 3 uint8 array.

    ``pose`` = (dx, dy, scale, angle) in units of the image size; drawn at 2x and
    downsampled for anti-aliasing. ``talk`` adds mouth opening (for video frames);
    ``occluder`` (see :func:`random_occluder`) paints a blob over the face.
    """
    big = size * 2
    light = rng.uniform(0.75, 1.2)
    bg = tuple(int(np.clip(c * light, 0, 255)) for c in look.background)
    img = Image.new("RGB", (big, big), bg)
    d = ImageDraw.Draw(img)
    u = big / 2.0  # half-size unit
    cx, cy = u, u
    fw, fh = look.face_width * u, 0.9 * u
    d.ellipse([cx - fw * 1.03, cy - fh * 1.05, cx + fw * 1.03, cy - fh * 0.2], fill=look.hair)
    skin = tuple(int(np.clip(c * light, 0, 255)) for c in look.skin)
    d.ellipse([cx - fw, cy - fh, cx + fw, cy + fh], fill=skin)

    # eyes
    ex, ey = 0.38 * fw, cy - 0.18 * fh
    ew, eh = 0.2 * fw, 0.09 * fh * expr.eye_open
    for side in (-1, 1):
        x = cx + side * ex
        d.ellipse([x - ew, ey - eh, x + ew, ey + eh], fill=(250, 250, 250))
        r = min(eh, 0.1 * fw)
        d.ellipse([x - r, ey - r, x + r, ey + r], fill=(30, 30, 40))
    # brows: inner end lowered by brow_angle, both raised by brow_raise
    by = ey - 0.22 * fh - 0.1 * fh * expr.brow_raise
    for side in (-1, 1):
        inner = (cx + side * 0.12 * fw, by + 0.1 * fh * expr.brow_angle)
        outer = (cx + side * 0.62 * fw, by - 0.03 * fh * expr.brow_angle)
        d.line([inner, outer], fill=look.hair, width=max(2, int(big / 40)))
    # nose
    d.line([(cx, cy - 0.05 * fh), (cx - 0.06 * fw, cy + 0.2 * fh), (cx, cy + 0.22 * fh)],
           fill=tuple(int(c * 0.7) for c in skin), width=max(1, int(big / 80)))
    # mouth: upper lip bends with the curvature, lower lip opens below it
    my, mw = cy + 0.5 * fh, 0.42 * fw
    xs = np.linspace(-1, 1, 21)
    # image y grows downwards: a smile (curve > 0) puts the middle below the corners
    bend = 0.18 * fh * expr.mouth_curve * ((1 - xs ** 2) - 0.5)
    upper = [(cx + mw * x, my + b) for x, b in zip(xs, bend)]
    opening = 0.25 * fh * max(0.0, expr.mouth_open + talk) * (1 - xs ** 2)
    lower = [(cx + mw * x, my + b + o) for x, b, o in zip(xs, bend, opening)]
    if opening.max() > 0.02 * fh:
        d.polygon(upper + lower[::-1], fill=(90, 20, 30), outline=(120, 30, 40))
    else:
        d.line(upper, fill=(120, 30, 40), width=max(2, int(big / 45)))
    if occluder is not None:  # (x0, y0, w, h) in units of the image size, colour
        (x0, y0, w, h), colour = occluder
        d.ellipse([x0 * big, y0 * big, (x0 + w) * big, (y0 + h) * big], fill=colour)

    dx, dy, scale, angle = pose if pose is not None else (0.0, 0.0, 1.0, 0.0)
    # inverse affine map (output -> input pixel): rotate by ``angle``, zoom by ``scale``,
    # shift by (dx, dy); then downsample 2x
    th = np.deg2rad(angle)
    cos, sin = np.cos(th) / scale, np.sin(th) / scale
    ox, oy = cx + dx * big, cy + dy * big
    coeffs = (cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy)
    img = img.transform((big, big), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=bg)
    img = img.resize((size, size), resample=Image.BOX)
    arr = np.asarray(img, dtype=np.float32)
    arr += rng.normal(0, 12.0, size=arr.shape)
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def random_pose(rng: np.random.Generator) -> tuple:
    return (float(rng.normal(0, 0.04)), float(rng.normal(0, 0.04)),
            float(rng.uniform(0.88, 1.1)), float(rng.normal(0, 6.0)))


def random_occluder(rng: np.random.Generator, p: float = 0.15):
    """A hand or microphone in front of the face with probability ``p``, else None."""
    if rng.random() >= p:
        return None
    x0, y0 = rng.uniform(0, 0.7, size=2)
    w, h = rng.uniform(0.15, 0.4, size=2)
    return (float(x0), float(y0), float(w), float(h)), tuple(int(v) for v in rng.integers(0, 255, 3))


def face_image(emotion: str, look: Look, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """The per-utterance face picture (128 x 128 x 3 uint8 by default)."""
    return draw(noisy_expression(emotion, rng), look, size, rng, random_pose(rng),
                occluder=random_occluder(rng))


def face_video(emotion: str, look: Look, rng: np.random.Generator, frames: int = 6,
               size: int = 64) -> np.ndarray:
    """A short talking-face clip (frames x size x size x 3 uint8): one expression, with
    small head motion and the mouth moving as if speaking."""
    expr = noisy_expression(emotion, rng)
    pose = np.asarray(random_pose(rng))
    occluder = random_occluder(rng)
    clip = []
    for k in range(frames):
        pose_k = pose + rng.normal(0, [0.01, 0.01, 0.01, 1.5])
        talk = 0.25 * max(0.0, np.sin(2 * np.pi * (k / 3.0 + rng.uniform(0, 0.2))))
        clip.append(draw(expr, look, size, rng, tuple(float(p) for p in pose_k), talk, occluder))
    return np.stack(clip)


def two_actor_frames(speaker: np.ndarray, listener: np.ndarray, speaker_left: bool) -> np.ndarray:
    """Both actors side by side as in an IEMOCAP dialog video: ``(F, H, 2W, 3)``, the speaker's
    clip on the left half when ``speaker_left`` (the speaker is the dialog's lead actor), else on
    the right (``zoo.features.vision.iemocap_speaker_side`` reads it back from the utterance id)."""
    if speaker.shape != listener.shape:
        raise ValueError(f"clips differ in shape: {speaker.shape} vs {listener.shape}")
    halves = (speaker, listener) if speaker_left else (listener, speaker)
    return np.concatenate(halves, axis=2)
