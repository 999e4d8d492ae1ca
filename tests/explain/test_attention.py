"""Attention aligned to forced-alignment phones (Jalal et al. 2020, Sec. 5.1), by hand."""
import numpy as np
import pytest

from zoo.data.records import CorpusError
from zoo.data.synthetic import writer
from zoo.explain import attention as at

PHONES = [(0, 9, -100, "SIL"), (10, 29, -200, "HH SIL AY b"), (30, 39, -90, "AY HH T e"), (40, 49, -50, "SIL")]


def _write(tmp_path, rows, kind="phseg"):
    path = tmp_path / f"utt.{kind}"
    path.write_text(writer.phseg(rows) if kind == "phseg" else writer.wdseg(rows))
    return path


def test_read_alignment_of_the_release_format(tmp_path):
    segments = at.read_alignment(_write(tmp_path, PHONES))
    assert [(s.start, s.end, s.label) for s in segments] == [(0, 9, "SIL"), (10, 29, "HH"), (30, 39, "AY"),
                                                             (40, 49, "SIL")]
    assert segments[1].start_s == pytest.approx(0.10) and segments[1].end_s == pytest.approx(0.30)
    words = at.read_alignment(_write(tmp_path, [(0, 9, -1, "<s>"), (10, 39, -2, "HI(2)"), (40, 49, -3, "</s>")],
                                     "wdseg"))
    assert [w.label for w in words] == ["<s>", "HI", "</s>"]


def test_bad_alignment_row_names_file_and_line(tmp_path):
    path = tmp_path / "bad.phseg"
    path.write_text("\tSFrm EFrm SegAScr Phone\n\t0 9 -1 SIL\n\tten 20 -1 AA\n")
    with pytest.raises(CorpusError) as info:
        at.read_alignment(path)
    assert "bad.phseg" in str(info.value) and "3" in str(info.value)


def test_phone_classes():
    assert [at.phone_class(p) for p in ("AA", "ay", "IY1", "T", "HH", "SIL", "+BREATH+", "<sil>")] == [
        "vowel", "vowel", "vowel", "consonant", "consonant", "other", "other", "other"]


def test_frame_timing_of_the_extractors():
    from zoo import features

    assert at.frame_timing(features.get("fbank")) == pytest.approx((0.010, 0.0125))          # 25 ms / 10 ms
    assert at.frame_timing(features.get("mfcc_deltas")) == pytest.approx((0.010, 0.0125))
    assert at.frame_timing(features.get("logmel")) == pytest.approx((512 / 22050, 0.0))      # centred librosa
    assert at.frame_timing(features.get("logmel", center=False)) == pytest.approx((512 / 22050, 1024 / 22050))


def test_frames_map_to_phones_by_their_centre(tmp_path):
    segments = at.read_alignment(_write(tmp_path, PHONES))
    # fbank frame t is centred at 12.5 ms + 10 ms * t: t = 0..8 -> alignment frames 1..9 (SIL),
    # t = 9 -> 102.5 ms -> frame 10 (HH) ... t = 28 -> 292.5 ms (HH), t = 29 -> 302.5 ms (AY)
    fbank = at.phones_of_frames(at.frame_centres(50, 0.010, 0.0125), segments)
    np.testing.assert_array_equal(fbank[:9], 0)
    np.testing.assert_array_equal(fbank[9:29], 1)
    np.testing.assert_array_equal(fbank[29:39], 2)
    np.testing.assert_array_equal(fbank[39:49], 3)
    assert fbank[49] == -1  # 502.5 ms: after the last segment
    # gru_bert frames: 512 / 22050 s = 23.2 ms apart, centred: 0, 23.2, 46.4, ... ms
    librosa_frames = at.phones_of_frames(at.frame_centres(23, 512 / 22050), segments)
    # 0/23/46/70/93 ms SIL; 116..279 ms HH (frames 5..12); 302/325/348/372/395 ms AY;
    # 418/441/464/488 ms SIL; 511 ms none
    np.testing.assert_array_equal(librosa_frames, [0] * 5 + [1] * 8 + [2] * 5 + [3] * 4 + [-1])


def test_vowel_consonant_means_by_hand():
    segments = [at.Segment(0, 9, "SIL"), at.Segment(10, 19, "AA"), at.Segment(20, 29, "T")]
    centres = np.array([0.05, 0.15, 0.25])  # one frame in each segment
    u1 = (np.array([0.2, 0.5, 0.3]), centres, segments)
    u2 = (np.array([0.1, 0.6, 0.1, 0.2]), np.array([0.05, 0.15, 0.25, 0.35]), segments)  # last: no phone
    stats = at.vowel_consonant_attention([u1, u2])
    assert stats["utterances"] == 2
    assert stats["vowel"]["frames"] == 2 and stats["consonant"]["frames"] == 2 and stats["other"]["frames"] == 3
    assert stats["vowel"]["mean_weight"] == pytest.approx((0.5 + 0.6) / 2)
    assert stats["consonant"]["mean_weight"] == pytest.approx((0.3 + 0.1) / 2)
    # relative = weight x frames of its utterance (3 and 4)
    assert stats["vowel"]["mean_relative"] == pytest.approx((0.5 * 3 + 0.6 * 4) / 2)
    assert stats["consonant"]["mean_relative"] == pytest.approx((0.3 * 3 + 0.1 * 4) / 2)
    assert stats["other"]["mean_relative"] == pytest.approx((0.2 * 3 + 0.1 * 4 + 0.2 * 4) / 3)
    assert stats["vowel_over_consonant"] == pytest.approx(3.9 / 1.3)


def test_attention_weights_of_blstmatt():
    import keras

    from zoo import blstmatt

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(7, 23)).astype("float32")
    model = blstmatt.build(lstm_units=3, attention_units=2)
    w = at.attention_weights(model, blstmatt.SPEC, {"fbank": x})
    assert list(w) == ["attention"] and w["attention"].shape == (7,)
    assert w["attention"].sum() == pytest.approx(1.0, abs=1e-5)
    assert at.attention_inputs(model, blstmatt.SPEC) == {"attention": "fbank"}


def test_attention_weights_of_gru_bert_streams():
    from zoo import gru_bert

    dims = {"mel": 4, "mfcc": 3, "chroma": 2}
    gb = gru_bert.build(text_encoder=None, feature_dims=dims, gru_units={k: 2 for k in dims},
                        branch_units={k: 2 for k in dims}, fusion_units=3)
    feed = {k: np.random.default_rng(1).normal(size=(5, d)).astype("float32") for k, d in dims.items()}
    w = at.attention_weights(gb, gru_bert.SPEC, feed)
    assert sorted(w) == ["chroma", "mel", "mfcc"] and all(v.shape == (5,) for v in w.values())
    assert at.attention_inputs(gb, gru_bert.SPEC) == {"mel": "mel", "mfcc": "mfcc", "chroma": "chroma"}


def test_attention_weights_of_every_amh_hop():
    from zoo import amh

    hop = amh.build(hops=2, modalities=("audio", "text"), vocab_size=10, embedding_dim=4,
                    gru_units={"audio": 3, "text": 3}, feature_dims={"audio": 5}, classes=4)
    w = at.attention_weights(hop, amh.SPEC, {"audio": np.ones((6, 5), "float32"), "text": np.array([2, 3, 4], "int32")})
    assert at.attention_inputs(hop, amh.SPEC) == {"hop1_audio": "audio", "hop2_text": "text"}
    assert w["hop1_audio"].shape == (6,) and w["hop2_text"].shape == (3,)
    assert w["hop2_text"].sum() == pytest.approx(1.0, abs=1e-5)
