"""A small source-filter speech synthesiser whose prosody depends on emotion and speaker.

Hand-written on purpose (no TTS engine is needed, and the synthesiser must know every
segment boundary to write the forced-alignment files). Classic Klatt-style recipe:

- voiced source: a sawtooth glottal pulse train (-6 dB/octave, i.e. glottal flow plus lip
  radiation) driven by a per-frame F0 contour (declination, word accents, a final fall or
  rise), with jitter (cycle-to-cycle F0 noise), shimmer, breathiness (aspiration noise) and
  a one-pole low-pass for the spectral tilt;
- vowels: that source through a cascade of second-order formant resonators (Klatt 1980,
  unity gain at DC) at textbook F1-F3 values (Peterson & Barney 1952), scaled per speaker;
- consonants: band-passed noise for fricatives, closure + burst for stops, a weak
  low-passed murmur for nasals and liquids; pauses are silence plus a noise floor.

Emotion sets F0 level and range, tempo, energy, tilt, jitter and breathiness (Banse &
Scherer 1996 direction of effects): arousal (angry/happy/excited vs sad/neutral) is
carried strongly, valence only weakly (happy: wider range, rising ends; angry: harsher,
brighter), so audio alone confuses angry with happy. Every boundary is an integer number
of 10 ms frames so the ``.phseg``/``.wdseg`` files are exact.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from scipy import signal

from . import lexicon

SR = 16000
FRAME = 160  # 10 ms at 16 kHz: the forced-alignment frame

# Male formant targets F1, F2, F3 in Hz (Peterson & Barney 1952 averages, rounded).
FORMANTS = {
    "AA": (730, 1090, 2440), "AE": (660, 1720, 2410), "AH": (520, 1190, 2390),
    "AO": (570, 840, 2410), "AW": (700, 1150, 2400), "AY": (700, 1400, 2500),
    "EH": (530, 1840, 2480), "ER": (490, 1350, 1690), "EY": (480, 2000, 2550),
    "IH": (390, 1990, 2550), "IY": (270, 2290, 3010), "OW": (500, 900, 2350),
    "OY": (550, 1000, 2400), "UH": (440, 1020, 2240), "UW": (300, 870, 2240),
}
BANDWIDTHS = (80.0, 100.0, 150.0)


@dataclasses.dataclass(frozen=True)
class Voice:
    """A speaker: F0 baseline (Hz), formant scale, tempo factor and voice-quality base."""

    f0: float
    formant_scale: float
    rate: float
    jitter: float
    breath: float
    tilt: float  # one-pole low-pass coefficient of the source (higher = darker voice)
    level_db: float


@dataclasses.dataclass(frozen=True)
class Prosody:
    """Emotion-dependent changes to a voice."""

    f0_scale: float
    f0_range: float  # semitones of accent excursion
    rate: float
    energy_db: float
    tilt: float  # added to the voice's tilt coefficient
    jitter: float
    breath: float
    final: float  # semitones at the utterance end (negative = fall, positive = rise)
    pause: float  # probability of a pause between words


PROSODY = {
    "neutral": Prosody(1.00, 2.5, 1.00, 0.0, 0.00, 0.006, 0.06, -2.0, 0.12),
    "angry": Prosody(1.30, 4.5, 1.15, 7.0, -0.22, 0.022, 0.04, -3.0, 0.10),
    "happy": Prosody(1.27, 6.0, 1.12, 5.5, -0.12, 0.010, 0.06, 2.0, 0.10),
    "excited": Prosody(1.37, 7.0, 1.22, 7.0, -0.18, 0.012, 0.06, 2.5, 0.08),
    "sad": Prosody(0.95, 1.8, 0.88, -2.5, 0.06, 0.008, 0.14, -1.5, 0.20),
    "frustrated": Prosody(1.12, 3.5, 1.00, 3.0, -0.08, 0.016, 0.10, -2.5, 0.15),
    "surprised": Prosody(1.40, 8.0, 1.05, 5.0, -0.10, 0.010, 0.08, 4.0, 0.10),
    "fearful": Prosody(1.30, 3.0, 1.20, 0.0, 0.00, 0.030, 0.22, 1.0, 0.20),
}


@functools.lru_cache(maxsize=None)
def _bandpass(lo: float, hi: float):
    return signal.butter(4, [lo, hi], btype="band", fs=SR, output="sos")


@functools.lru_cache(maxsize=None)
def _lowpass(hi: float):
    return signal.butter(2, hi, btype="low", fs=SR, output="sos")


# Noise bands (Hz) and levels relative to a vowel, per consonant phone.
_FRICATION = {
    "S": ((3800, 7600), 0.35), "Z": ((3800, 7600), 0.22), "SH": ((2000, 6500), 0.35),
    "ZH": ((2000, 6500), 0.22), "CH": ((2000, 6500), 0.35), "JH": ((2000, 6500), 0.25),
    "F": ((1500, 7600), 0.12), "V": ((1500, 7600), 0.08), "TH": ((1500, 7600), 0.10),
    "DH": ((1500, 7600), 0.08), "HH": ((500, 3500), 0.10),
}
_VOICED_OBSTRUENTS = {"Z", "ZH", "JH", "V", "DH", "B", "D", "G"}
_BURST = {"P": (500, 3000), "B": (500, 3000), "T": (3000, 7000), "D": (3000, 7000),
          "K": (1500, 4000), "G": (1500, 4000)}


def _resonators(formants, bandwidths) -> np.ndarray:
    """Klatt (1980) second-order resonators as SOS rows: unity gain at 0 Hz."""
    rows = []
    for f, bw in zip(formants, bandwidths):
        c = -np.exp(-2 * np.pi * bw / SR)
        b = 2 * np.exp(-np.pi * bw / SR) * np.cos(2 * np.pi * f / SR)
        a = 1 - b - c
        rows.append([a, 0.0, 0.0, 1.0, -b, -c])
    return np.asarray(rows)


def _ramp(n: int, edge: int) -> np.ndarray:
    env = np.ones(n)
    edge = min(edge, n // 2)
    if edge > 0:
        r = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
        env[:edge] = r
        env[n - edge:] = r[::-1]
    return env


def _rms_normalise(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(x * x)) if len(x) else 0.0
    return x / rms if rms > 1e-12 else x


@dataclasses.dataclass
class Segment:
    """One aligned segment: ``phone`` ('SIL' or a phone), frames [start, end] inclusive."""

    phone: str
    start: int
    end: int
    word_index: int  # index into the words, -1 for silences

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def plan(words, voice: Voice, prosody: Prosody, rng: np.random.Generator, max_frames=300):
    """Phone segments with integer-frame durations; words past ``max_frames`` are dropped.

    Returns ``(segments, kept_word_count)``; silences carry ``word_index = -1`` and
    ``phone = 'SIL'`` (leading, trailing and inter-word pauses).
    """
    tempo = voice.rate * prosody.rate * float(np.exp(rng.normal(0, 0.1)))
    segs, t = [], 0

    def add(phone, frames, w):
        nonlocal t
        frames = max(1, int(round(frames)))
        segs.append(Segment(phone, t, t + frames - 1, w))
        t += frames

    add("SIL", rng.uniform(12, 25), -1)
    kept = 0
    for w, word in enumerate(words):
        start_len, start_t = len(segs), t
        for ph in lexicon.phones(word):
            if ph in lexicon.VOWELS:
                dur = rng.uniform(7, 14) / tempo
            elif ph in lexicon.STOPS:
                dur = rng.uniform(5, 8) / tempo ** 0.5
            else:
                dur = rng.uniform(5, 9) / tempo ** 0.5
            add(ph, dur, w)
        if w + 1 < len(words) and rng.random() < prosody.pause:
            add("SIL", rng.uniform(10, 30) / tempo, -1)
        if t + 25 > max_frames and kept >= 2:
            del segs[start_len:]
            t = start_t
            break
        kept += 1
    if segs[-1].phone == "SIL" and segs[-1].word_index == -1 and len(segs) > 1:
        t = segs.pop().start
    add("SIL", rng.uniform(10, 25), -1)
    return segs, kept


def render(segments, voice: Voice, prosody: Prosody, rng: np.random.Generator) -> np.ndarray:
    """Audio (float64, 16 kHz) of ``segments``; exactly ``frames * 160`` samples long."""
    n_frames = segments[-1].end + 1
    n = n_frames * FRAME
    out = np.zeros(n)

    # --- F0 contour per frame, in semitones around the emotion-shifted baseline ---
    voiced = [s for s in segments if s.phone in lexicon.VOWELS]
    st = np.zeros(n_frames)
    if voiced:
        v0, v1 = voiced[0].start, voiced[-1].end
        span = max(1, v1 - v0)
        frames = np.arange(n_frames)
        st += prosody.f0_range * 0.25 * (1 - 2 * np.clip((frames - v0) / span, 0, 1))  # declination
        seen = set()
        for s in voiced:  # one accent per word, on its first vowel
            if s.word_index in seen:
                continue
            seen.add(s.word_index)
            height = prosody.f0_range * rng.uniform(0.2, 1.0)
            centre = (s.start + s.end) / 2
            st += height * np.exp(-0.5 * ((frames - centre) / 6.0) ** 2)
        tail = np.clip((frames - (v1 - 25)) / 25.0, 0, 1)
        st += prosody.final * tail
    drift = np.cumsum(rng.normal(0, 0.08, n_frames))
    st += drift - drift.mean()
    f0_frames = voice.f0 * prosody.f0_scale * float(np.exp(rng.normal(0, 0.07))) * 2 ** (st / 12)
    jitter = voice.jitter + prosody.jitter
    f0_frames *= 1 + jitter * rng.standard_normal(n_frames)
    f0 = np.interp(np.arange(n) / FRAME, np.arange(n_frames) + 0.5, f0_frames)

    # --- voiced source: sawtooth pulse train + aspiration, spectral tilt ---
    phase = np.cumsum(f0 / SR)
    source = 2 * (phase % 1.0) - 1
    shimmer = np.interp(np.arange(n) / FRAME, np.arange(n_frames),
                        1 + 0.3 * jitter * 10 * rng.standard_normal(n_frames))
    breath = voice.breath + prosody.breath
    source = source * shimmer + breath * 2.0 * rng.standard_normal(n)
    tilt = float(np.clip(voice.tilt + prosody.tilt, 0.05, 0.95))
    source = signal.lfilter([1 - tilt], [1, -tilt], source)
    source = _rms_normalise(source)

    warm = 160  # filter warm-up samples before a segment
    edge = 80  # 5 ms ramps at segment edges
    scale = voice.formant_scale
    for seg in segments:
        a, b = seg.start * FRAME, (seg.end + 1) * FRAME
        ph = seg.phone
        if ph == "SIL":
            continue
        if ph in lexicon.VOWELS:
            f = [x * scale * rng.uniform(0.96, 1.04) for x in FORMANTS[ph]] + [3500 * scale]
            bw = [x * (1 + breath) for x in BANDWIDTHS] + [250.0]
            lo = max(0, a - warm)
            y = signal.sosfilt(_resonators(f, bw), source[lo:b])[a - lo:]
            y = _rms_normalise(y) * rng.uniform(0.85, 1.15)
        elif ph in lexicon.SONORANTS:
            lo = max(0, a - warm)
            y = signal.sosfilt(_resonators([280 * scale, 1300 * scale], [120.0, 300.0]),
                               source[lo:b])[a - lo:]
            y = _rms_normalise(y) * 0.35
        elif ph in _FRICATION:
            band, level = _FRICATION[ph]
            y = _rms_normalise(signal.sosfilt(_bandpass(*band), rng.standard_normal(b - a))) * level
            if ph in _VOICED_OBSTRUENTS:
                y += _rms_normalise(signal.sosfilt(_lowpass(500.0), source[a:b])) * 0.15
        else:  # stop: closure, then a decaying burst in the last 40 % of the segment
            m = b - a
            burst_at = int(m * 0.6)
            y = np.zeros(m)
            noise = signal.sosfilt(_bandpass(*_BURST[ph]), rng.standard_normal(m - burst_at))
            y[burst_at:] = _rms_normalise(noise) * 0.45 * np.exp(-np.arange(m - burst_at) / 200.0)
            if ph in _VOICED_OBSTRUENTS:
                y[:burst_at] = _rms_normalise(signal.sosfilt(_lowpass(400.0), source[a:a + burst_at])) * 0.08
        out[a:b] += y * _ramp(b - a, edge)

    level = 0.05 * 10 ** ((voice.level_db + prosody.energy_db + rng.normal(0, 2.5)) / 20)
    out *= level
    out += 10 ** (-65 / 20) * rng.standard_normal(n)  # recording noise floor
    return np.tanh(out / 0.9) * 0.9  # soft limiter: never clips
