"""zoo.csa (Jalal et al. 2020): graph size by hand, gamma = 0 at init (and after a .keras round
trip), the chunk-length and 1-D variants, chunking, chunk -> utterance posteriors, the BLSTMATT x
CSA combination, a toy task, recipe and Table 1 numbers. The generic contract is
tests/models/test_harness.py's."""
import numpy as np
import pytest
import keras

from zoo import blstmatt, csa, metrics, registry

TINY = dict(chunk_frames=8, input_dim=6, filters=(4, 4, 8), kernel_sizes=(3, 2, 2), reduction=2)


def test_default_graph_parameter_count_by_hand():
    model = csa.build()
    convs = 5 * 5 * 1 * 128 + 3 * 3 * 128 * 128 + 2 * 2 * 128 * 128   # no conv bias (BatchNorm follows)
    batch_norms = 3 * 4 * 128
    attention = 2 * (128 * 16 + 16) + (128 * 128 + 128) + 1            # query, key (C/8), value, gamma
    classifier = 128 * 4 + 4
    assert model.count_params() == convs + batch_norms + attention + classifier == 238_885 == csa.SPEC.parameters["default"]
    assert model.get_layer("logits").activation is keras.activations.linear  # "linearly projects"
    assert tuple(model.input.shape) == (None, 30, 23) and model.input.name == "fbank"
    assert tuple(model.get_layer("self_attention").output.shape) == (None, 30, 23, 128)


def test_chunk_variants_are_the_table1_sweep():
    """chunkN = CSA on N-frame chunks with its own Table 1 row; the chunk length is the input length."""
    chunk_variants = {v: spec for v, spec in csa.SPEC.variants.items() if v.startswith("chunk")}
    assert sorted(int(v[5:]) for v in chunk_variants) == [20, 40, 60, 80, 100, 120]
    for name, variant in chunk_variants.items():
        n = int(name[5:])
        assert variant.build_args == {"chunk_frames": n} and csa.SPEC.chunking.frames(variant.build_args) == n
        ua, wa = csa.PAPER_BY_CHUNK[n]
        assert variant.paper.reported == {"overall_accuracy": ua, "mean_class_recall": wa}
    assert csa.SPEC.chunking.options({}) == (30, 10, True)  # default 30 frames, overlap 10, short ones left out
    kwargs = {k: v for k, v in TINY.items() if k != "chunk_frames"}
    assert tuple(csa.build(variant="chunk40", **kwargs).input.shape) == (None, 40, 6)


def test_conv1d_variant_attends_over_frames_only():
    """Our alternative reading: bands as channels of a 1-D map, attention over time alone."""
    kwargs = {k: v for k, v in TINY.items() if k != "chunk_frames"}
    model = csa.build(variant="conv1d", chunk_frames=8, **kwargs)
    assert tuple(model.get_layer("self_attention").output.shape) == (None, 8, 8)
    assert registry.paper_of("csa:conv1d") is None


def test_flatten_and_pooling_options():
    model = csa.build(pooling="flatten", pool_size=(1, 2), **TINY)
    # frequency 6 -> 3 -> 2 -> 1 with 'same' pooling; flatten 8 frames x 1 x 8 channels
    assert model.get_layer("pool").output.shape[-1] == 8 * 1 * 8


def test_bn_momentum_sets_every_batchnorm_and_its_moving_average():
    """Keras' 0.99 by default (the paper gives none); 0.9 (PyTorch's default) moves the moving
    statistics ten times as far per training step."""
    default, fast = csa.build(**TINY), csa.build(bn_momentum=0.9, **TINY)
    bns = [layer for layer in fast.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 3 and all(layer.momentum == 0.9 for layer in bns)
    assert all(default.get_layer(layer.name).momentum == 0.99 for layer in bns)
    fast.set_weights(default.get_weights())  # the same batch statistics in both
    x = np.random.default_rng(0).normal(3.0, 1.0, (4, 8, 6)).astype("float32")
    moved = []
    for model in (default, fast):
        layer = model.get_layer("block1_bn")
        before = np.array(layer.moving_mean)
        model(x, training=True)  # one training-mode call updates the moving mean once
        moved.append(float(np.abs(np.array(layer.moving_mean) - before).max()))
    assert moved[1] == pytest.approx(10 * moved[0], rel=1e-4) and moved[0] > 0
    with pytest.raises(ValueError, match="bn_momentum"):
        csa.build(bn_momentum=1.0, **TINY)


def test_real_profiles_build_csa_at_momentum_0_9_and_smoke_keeps_keras_default():
    """The real profiles' value, chosen on EmoDB's validation speakers; smoke and paper keep the
    builder's 0.99 (their committed tables were made with it)."""
    from zoo.profiles import PROFILES

    for name in ("real", "real_sn", "real_sn_trim"):
        model = csa.build(**{**PROFILES[name].build["csa"], **TINY})  # the profile's options at tiny sizes
        bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        assert bns and all(layer.momentum == 0.9 for layer in bns), name
    for name in ("smoke", "paper"):
        assert "bn_momentum" not in PROFILES[name].build.get("csa", {}), name


def test_gamma_starts_at_zero_so_attention_is_identity():
    model = csa.build(**TINY)
    layer = model.get_layer("self_attention")
    assert float(layer.gamma.numpy()) == 0.0
    probe = keras.Model(model.input, [model.get_layer("block3_relu").output, layer.output])
    x = np.random.default_rng(1).normal(size=(2, 8, 6)).astype("float32")
    before, after = probe.predict(x, verbose=0)
    np.testing.assert_array_equal(before, after)


def test_make_chunks_overlap_and_short_utterances():
    frames = np.arange(70 * 2, dtype="float32").reshape(70, 2)
    chunks = csa.make_chunks(frames, chunk_frames=30, overlap=10)      # starts 0, 20, 40
    assert chunks.shape == (3, 30, 2)
    np.testing.assert_array_equal(chunks[1], frames[20:50])
    np.testing.assert_array_equal(chunks[2], frames[40:70])
    assert csa.make_chunks(frames[:25], 30).shape == (0, 30, 2)      # left out (Sec. 4.3.2)
    padded = csa.make_chunks(frames[:25], 30, pad_short=True)
    assert padded.shape == (1, 30, 2) and np.all(padded[0, 25:] == 0)
    with pytest.raises(ValueError, match="overlap"):
        csa.make_chunks(frames, 10, overlap=10)


def test_chunk_utterances_reports_left_out():
    utts = [np.ones((12, 3)), np.ones((5, 3)), np.ones((8, 3))]
    chunks, index, left_out = csa.chunk_utterances(utts, chunk_frames=8, overlap=4)  # hop 4
    assert chunks.shape == (3, 8, 3)            # 12 frames -> starts 0, 4; 8 frames -> start 0
    np.testing.assert_array_equal(index, [0, 0, 2])
    assert left_out == [1]


def test_utterance_posterior_is_mean_of_chunk_posteriors():
    chunk_probs = np.array([[0.6, 0.4], [0.2, 0.8], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    index = np.array([0, 0, 2, 2, 2])
    with pytest.raises(ValueError, match="no chunks"):
        csa.utterance_posteriors(chunk_probs, index)
    post = csa.utterance_posteriors(chunk_probs, index, missing="nan")
    np.testing.assert_allclose(post[0], [0.4, 0.6])
    np.testing.assert_allclose(post[2], [0.5, 0.5])
    assert np.all(np.isnan(post[1]))
    np.testing.assert_allclose(csa.utterance_posteriors(chunk_probs[2:], index[2:] - 2), [[0.5, 0.5]])


def test_model_chunk_posteriors_average_to_utterance_posterior():
    model = csa.build(**TINY)
    rng = np.random.default_rng(2)
    utts = [rng.normal(size=(n, 6)).astype("float32") for n in (8, 20, 14)]
    chunks, index, left_out = csa.chunk_utterances(utts, chunk_frames=8, overlap=2)
    assert left_out == []
    post = csa.utterance_posteriors(model.predict(chunks, verbose=0), index)
    second = model.predict(csa.make_chunks(utts[1], 8, 2), verbose=0)   # 20 frames -> starts 0, 6, 12
    assert second.shape[0] == 3
    np.testing.assert_allclose(post[1], second.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(post.sum(-1), 1.0, atol=1e-5)


def test_combination_formula():
    p_b = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    p_c = np.array([[0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    raw = p_b * p_c ** 0.4                                     # "scaled by 0.4 and multiplied"
    combined = csa.combine(p_b, p_c)
    np.testing.assert_allclose(combined, raw / raw.sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(csa.combine(p_b, p_c, renormalize=False), raw, rtol=1e-12)
    np.testing.assert_array_equal(combined.argmax(-1), raw.argmax(-1))
    # row 0: 0.5*0.1^0.4 = 0.199, 0.3*0.8^0.4 = 0.274 -> CSA flips BLSTMATT's decision
    assert combined[0].argmax() == 1 and p_b[0].argmax() == 0
    np.testing.assert_allclose(csa.combine(p_b, p_c, weight=0.0), p_b, rtol=1e-12)
    assert np.all(np.isfinite(csa.combine(p_b, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))))


def test_keras_round_trip_keeps_gamma(tmp_path):
    model = csa.build(**TINY)
    # make gamma non-zero so the attention path is exercised after loading
    model.get_layer("self_attention").gamma.assign(0.5)
    x = np.random.default_rng(3).normal(size=(3, 8, 6)).astype("float32")
    path = tmp_path / "csa.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert float(loaded.get_layer("self_attention").gamma.numpy()) == 0.5


def test_learns_a_toy_task_and_gamma_moves():
    """Class = which half of the 6 bands carries a short energy burst."""
    rng = np.random.default_rng(5)
    n = 128
    y = rng.integers(0, 2, n)
    x = rng.normal(scale=0.3, size=(n, 8, 6)).astype("float32")
    for i in range(n):
        start = rng.integers(0, 6)
        bands = slice(0, 3) if y[i] == 0 else slice(3, 6)
        x[i, start:start + 2, bands] += 1.5
    keras.utils.set_random_seed(0)
    model = csa.build(classes=2, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x[:96], y[:96], epochs=15, batch_size=16, verbose=0)
    accuracy = metrics.overall_accuracy(y[96:], model.predict(x[96:], verbose=0).argmax(-1))
    assert accuracy >= 0.85
    assert float(model.get_layer("self_attention").gamma.numpy()) != 0.0


def test_recipe_and_paper_numbers():
    assert csa.RECIPE.optimizer_options == {"learning_rate": 1e-4}
    assert csa.RECIPE.features["fbank"].extractor == "fbank" and csa.RECIPE.protocol == "session5"
    assert csa.PAPER.reported == metrics.to_our_names("csa", {"UA": 0.763, "WA": 0.688})
    assert csa.PAPER_BY_CHUNK[30] == (0.763, 0.688)
    assert max(csa.PAPER_BY_CHUNK, key=lambda n: csa.PAPER_BY_CHUNK[n][0]) == 30  # best UA at 30 frames
    assert csa.COMBINATION_PAPER.reported == {"overall_accuracy": 0.805, "mean_class_recall": 0.740}
    # Sec. 4.3: the shared training settings are BLSTMATT's.
    assert (csa.RECIPE.optimizer, csa.RECIPE.callbacks) == (blstmatt.RECIPE.optimizer, blstmatt.RECIPE.callbacks)
    assert registry.paper_of("csa") is csa.PAPER and registry.paper_of("csa:chunk40").reported["overall_accuracy"] == 0.751
    combination = csa.SPEC.combination
    assert (combination.partner, combination.combine, combination.paper) == ("blstmatt", csa.combine, csa.COMBINATION_PAPER)
