"""zoo.csa (Jalal et al. 2020): graph size, gamma = 0 at init, chunking, chunk -> utterance
posteriors, the BLSTMATT x CSA combination, .keras round-trip, mixed precision and a toy task."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from zoo import csa, metrics

TINY = dict(chunk_frames=8, input_dim=6, filters=(4, 4, 8), kernel_sizes=(3, 2, 2), reduction=2)


def test_default_graph_parameter_count_by_hand():
    model = csa.build()
    convs = 5 * 5 * 1 * 128 + 3 * 3 * 128 * 128 + 2 * 2 * 128 * 128   # no conv bias (BatchNorm follows)
    batch_norms = 3 * 4 * 128
    attention = 2 * (128 * 16 + 16) + (128 * 128 + 128) + 1            # query, key (C/8), value, gamma
    classifier = 128 * 4 + 4
    assert model.count_params() == convs + batch_norms + attention + classifier == 238_885
    assert tuple(model.input.shape) == (None, 30, 23) and model.input.name == "fbank"
    assert tuple(model.get_layer("self_attention").output.shape) == (None, 30, 23, 128)


@pytest.mark.parametrize("variant", list(csa.VARIANTS))
def test_shapes_every_variant(variant):
    kwargs = {k: v for k, v in TINY.items() if k != "chunk_frames"}
    model = csa.build(variant=variant, classes=3, **kwargs)
    frames = {**csa.DEFAULTS, **csa.VARIANTS[variant]}["chunk_frames"]
    x = np.random.default_rng(0).normal(size=(2, frames, 6)).astype("float32")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    assert csa.build(variant=variant, include_top=False, **kwargs).output.shape[-1] == 8


def test_flatten_and_pooling_options():
    model = csa.build(pooling="flatten", pool_size=(1, 2), **TINY)
    # frequency 6 -> 3 -> 2 -> 1 with 'same' pooling; flatten 8 frames x 1 x 8 channels
    assert model.get_layer("pool").output.shape[-1] == 8 * 1 * 8


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


def test_keras_round_trip_identical_predictions(tmp_path):
    model = csa.build(**TINY)
    # make gamma non-zero so the attention path is exercised after loading
    model.get_layer("self_attention").gamma.assign(0.5)
    x = np.random.default_rng(3).normal(size=(3, 8, 6)).astype("float32")
    path = tmp_path / "csa.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert float(loaded.get_layer("self_attention").gamma.numpy()) == 0.5


def test_mixed_float16_training_step_is_finite():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = csa.build(**TINY)
        x = np.random.default_rng(4).normal(size=(4, 8, 6)).astype("float32")
        y = np.array([0, 1, 2, 3])
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        assert np.isfinite(float(loss))
        assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in grads)
        model.compile(optimizer="adam", loss=loss_fn)
        assert np.isfinite(model.train_on_batch(x, y))
    finally:
        keras.mixed_precision.set_global_policy("float32")


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
