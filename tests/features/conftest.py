"""Synthetic audio for the feature tests: sine + noise at 16 kHz, written to tmp_path."""
import numpy as np
import pytest
import soundfile

from zoo.data.records import Record


def make_signal(seconds=0.5, sr=16000, freq=440.0, seed=0, channels=1):
    t = np.arange(int(round(seconds * sr))) / sr
    rng = np.random.default_rng(seed)
    mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.shape)
    if channels == 1:
        return mono.astype(np.float32)
    return np.stack([mono * (c + 1) / channels for c in range(channels)], axis=1).astype(np.float32)


@pytest.fixture
def write_wav(tmp_path):
    """``write_wav(name, signal=None, sr=16000, **make_signal_kwargs) -> Record``."""

    def _write(name="a.wav", signal=None, sr=16000, subtype="FLOAT", **kwargs):
        if signal is None:
            signal = make_signal(sr=sr, **kwargs)
        path = tmp_path / name
        soundfile.write(path, signal, sr, subtype=subtype)
        return Record(utterance_id=path.stem, corpus="test", audio_path=str(path), sample_rate=sr)

    return _write
