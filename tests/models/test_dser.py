"""zoo.dser (Atmaja & Akagi 2020): parameter anchors, each variant's recipe against its graph, the CCC
loss, MTL loss weights (also through a compiled .keras round trip), float32 regression heads, text
masking, a tiny BERT encoder, toy tasks, recipes and Table II numbers. The generic contract is
tests/models/test_harness.py's."""
import numpy as np
import pytest

from zoo.recipe import compile_model
import keras

from zoo import dser, losses, metrics, registry

TINY = dict(hsf_dim=5, acoustic_units=(None, 6, 6), text_units=(None, 6, 6), branch_dim=4,
            fusion_units=(6, 5), vocab_size=20, embedding_dim=3, max_length=7)


def batch(n=8, seed=0, hsf_dim=5, max_length=7, vocab=20):
    rng = np.random.default_rng(seed)
    hsf = rng.normal(size=(n, hsf_dim)).astype("float32")
    text = rng.integers(1, vocab, size=(n, max_length)).astype("int32")
    for i in range(n):  # right-padded transcripts of different lengths
        text[i, rng.integers(2, max_length + 1):] = 0
    return hsf, text


def test_parameter_anchor_acoustic_only_mtl():
    model = dser.build(variant="acoustic")
    assert model.count_params() == 912_291 == dser.SPEC.parameters["acoustic"]
    assert model.output_names == ["valence", "arousal", "dominance"]
    assert tuple(model.input.shape) == (None, 68) and model.input.name == "hsf"
    assert [model.get_layer(f"acoustic_lstm_{i}").units for i in (1, 2, 3)] == [68, 256, 256]


def test_parameter_anchor_acoustic_text_mtl_and_embedding_matrix():
    model = dser.build()  # default: HSF + 3,438 x 300 trainable embedding, MTL
    assert model.count_params() == 3_787_259 == dser.SPEC.parameters["default"]
    assert [tuple(t.shape) for t in model.inputs] == [(None, 68), (None, 554)]
    assert [model.get_layer(f"text_lstm_{i}").units for i in (1, 2, 3)] == [300, 256, 256]
    matrix = np.random.default_rng(0).normal(size=(3438, 300)).astype("float32")
    from_vectors = dser.build(embedding_matrix=matrix, trainable_embedding=False)
    assert from_vectors.count_params() == 3_787_259
    layer = from_vectors.get_layer("text_embedding")
    np.testing.assert_array_equal(layer.embeddings.numpy(), matrix)
    assert not layer.trainable


@pytest.mark.parametrize("variant", list(dser.SPEC.variants))
def test_each_variant_recipe_matches_its_graph(variant):
    """A variant's recipe extracts exactly its inputs and trains exactly its outputs (MTL / STL)."""
    model = dser.build(variant=variant, **TINY)
    recipe = dser.SPEC.variants[variant].recipe
    assert model.output_names == list(recipe.targets)
    assert sorted(t.name for t in model.inputs) == sorted(recipe.features)
    assert recipe.loss == "ccc" and recipe.label_set is None
    if len(recipe.targets) > 1:
        assert sorted(recipe.loss_weights) == sorted(model.output_names)
        assert sum(recipe.loss_weights.values()) == pytest.approx(1.0)  # Eq. 4
    else:
        assert recipe.loss_weights is None


def test_stl_dimension_and_sequence_input_selectable():
    model = dser.build(modalities=("acoustic",), tasks=("arousal",), **TINY)
    assert model.output_names == ["arousal"] and tuple(model.input.shape) == (None, 5)
    assert model.predict(batch()[0], verbose=0).shape == (8, 1)
    # The authors' (1, D) input: the same graph and parameters.
    code = dser.build(modalities=("acoustic",), tasks=("arousal",), hsf_input="sequence", **TINY)
    assert tuple(code.input.shape) == (None, 1, 5) and code.count_params() == model.count_params()
    assert code.predict(batch()[0][:, None, :], verbose=0).shape == (8, 1)
    with pytest.raises(ValueError, match="tasks"):
        dser.build(tasks=("valence", "joy"), **TINY)


def test_ccc_loss_is_one_minus_ccc_hand_case():
    # t = 1,2,3; p = 1,2,4: var_t 2/3, var_p 14/9, cov 1, (mean diff)^2 1/9 -> CCC = 2/(21/9) = 6/7
    loss = losses.CCCLoss(epsilon=0.0)(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
    assert float(loss) == pytest.approx(1.0 / 7.0, abs=1e-6)
    assert metrics.ccc([1, 2, 3], [1, 2, 4]) == pytest.approx(6.0 / 7.0)


def _np_ccc_loss(t, p, epsilon=1e-7, floor=1e-2):
    """1 - CCC with the loss's epsilon (matters here: an untrained model's outputs barely vary) and
    its target-variance floor (zoo.losses.CCCLoss: v = max(var_t, floor))."""
    t, p = np.ravel(t).astype("float64"), np.ravel(p).astype("float64")
    cov = np.mean((t - t.mean()) * (p - p.mean()))
    v = max(t.var(), floor)
    return 1.0 - (2.0 * cov + v - t.var()) / (v + p.var() + (t.mean() - p.mean()) ** 2 + epsilon)


@pytest.mark.parametrize("variant, weights", [("default", (0.7, 0.2, 0.1)), ("acoustic", (0.1, 0.4, 0.5)),
                                              ("acoustic_code", (0.1, 0.5, 0.4))])
def test_mtl_loss_is_weighted_sum_of_ccc_losses(variant, weights):
    recipe = dser.SPEC.variants[variant].recipe
    assert [recipe.loss_weights[d] for d in dser.DIMENSIONS] == pytest.approx(list(weights))
    model = compile_model(dser.build(variant=variant, **TINY), recipe)
    for name in model.output_names:  # spread the untrained outputs so that the CCCs are well defined
        head = model.get_layer(name)   # (target variance well above CCCLoss's floor of 1e-2)
        head.kernel.assign(head.kernel * 1000.0)
    hsf, text = batch(16, seed=1)
    x = [hsf, text] if variant == "default" else hsf
    pred = dict(zip(model.output_names, model.predict(x, batch_size=16, verbose=0)))
    # targets that give three clearly different losses: ~0 (agreement), ~2 (reversed), ~1 (unrelated)
    y = {"valence": pred["valence"], "arousal": 2 * pred["arousal"].mean() - pred["arousal"],
         "dominance": np.random.default_rng(7).uniform(-1, 1, size=(16, 1)).astype("float32")}
    result = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    per_output = [_np_ccc_loss(y[d], pred[d]) for d in dser.DIMENSIONS]
    assert result["loss"] == pytest.approx(float(np.dot(weights, per_output)), abs=1e-3)
    assert per_output[0] < 0.1 and per_output[1] > 1.5
    assert float(np.dot(weights, per_output)) != pytest.approx(float(np.mean(per_output)), abs=1e-2)


def test_recipes_follow_paper_and_code():
    at, ac = registry.recipe_of("dser"), registry.recipe_of("dser:acoustic")
    assert (at.optimizer, at.optimizer_options["learning_rate"], at.batch_size, at.epochs) == ("RMSprop", 1e-3, 256, 50)
    assert (ac.optimizer, ac.optimizer_options["learning_rate"], ac.batch_size, ac.epochs) == ("Nadam", 2e-3, 64, 200)
    assert at.callbacks[0] == ("EarlyStopping", {"monitor": "val_loss", "patience": 10, "restore_best_weights": True})
    assert set(at.features) == {"hsf", "text"} and at.features["text"].options["max_length"] == 554
    assert at.features["hsf"].extractor == "paa_hsf" and at.features["text"].extractor == "word_ids"
    assert registry.recipe_of("dser:stl_valence").loss_weights is None and at.protocol == "session5"
    assert at is dser.RECIPE
    assert dser.PAPER.reported == {"ccc_valence": 0.421, "ccc_arousal": 0.590, "ccc_dominance": 0.484}
    assert registry.paper_of("dser") is dser.PAPER
    assert registry.paper_of("dser:acoustic").reported == {"ccc_valence": 0.183, "ccc_arousal": 0.577, "ccc_dominance": 0.444}
    assert registry.paper_of("dser:stl_valence").reported == {"ccc_valence": 0.424}
    assert registry.paper_of("dser:acoustic_stl_valence").reported == {"ccc_valence": 0.208}
    # Table II cannot tell which alpha/beta it used: the code's variant carries the same row, flagged.
    assert registry.paper_of("dser:acoustic_code").reported == registry.paper_of("dser:acoustic").reported
    assert "not known" in registry.paper_of("dser:acoustic_code").metric_notes


def test_text_padding_is_masked():
    """With mask_zero the padding embedding row never reaches the LSTMs."""
    model = dser.build(**TINY)
    hsf, text = batch()
    before = np.concatenate(model.predict([hsf, text], verbose=0), axis=1)
    emb = model.get_layer("text_embedding")
    table = emb.embeddings.numpy()
    table[0] = 50.0
    emb.embeddings.assign(table)
    after = np.concatenate(model.predict([hsf, text], verbose=0), axis=1)
    np.testing.assert_allclose(after, before, atol=1e-5)


def test_whole_set_ccc_is_not_the_per_batch_average():
    rng = np.random.default_rng(2)
    t = rng.normal(size=(64, 3))
    p = t + rng.normal(scale=0.8, size=(64, 3)) + np.linspace(-1, 1, 64)[:, None]
    report = dser.whole_set_ccc(t, p)
    assert report["ccc_valence"] == pytest.approx(metrics.ccc(t[:, 0], p[:, 0]))
    assert report["ccc_valence"] != pytest.approx(metrics.batch_averaged_ccc(t[:, 0], p[:, 0], 16), abs=1e-3)


def test_compiled_round_trip_keeps_the_weighted_ccc_losses(tmp_path):
    """A compiled model saved as .keras comes back with a CCC loss per output and Eq. 4's weights."""
    model = compile_model(dser.build(**TINY), dser.RECIPE)
    for name in model.output_names:  # spread the untrained outputs so that the CCCs are well defined
        head = model.get_layer(name)
        head.kernel.assign(head.kernel * 100.0)
    hsf, text = batch(16, seed=6)
    pred = dict(zip(model.output_names, model.predict([hsf, text], batch_size=16, verbose=0)))
    # losses ~0, ~2, ~1: unequal weights give a total far from the plain mean
    y = {"valence": pred["valence"], "arousal": 2 * pred["arousal"].mean() - pred["arousal"],
         "dominance": np.random.default_rng(8).uniform(-1, 1, size=(16, 1)).astype("float32")}
    per_output = [_np_ccc_loss(y[d], pred[d]) for d in dser.DIMENSIONS]
    expected = float(np.dot((0.7, 0.2, 0.1), per_output))
    assert expected != pytest.approx(float(np.mean(per_output)), abs=0.1)
    path = tmp_path / "dser.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.output_names == ["valence", "arousal", "dominance"]
    after = loaded.evaluate([hsf, text], y, batch_size=16, verbose=0, return_dict=True)
    assert after["loss"] == pytest.approx(expected, abs=1e-3)


def test_regression_heads_stay_float32_under_mixed_precision():
    """The Dense(1) heads compute in float32 so that the CCC loss is exact under mixed_float16."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = dser.build(**TINY)
        assert model.get_layer("fusion_dense_1").compute_dtype == "float16"
        assert [model.get_layer(d).compute_dtype for d in dser.DIMENSIONS] == ["float32"] * 3
        assert [o.dtype for o in model.outputs] == ["float32"] * 3
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_contextual_bert_text_encoder(tmp_path):
    keras_hub = pytest.importorskip("keras_hub")
    backbone = keras_hub.models.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=32)
    kwargs = {k: v for k, v in TINY.items() if k not in ("vocab_size", "embedding_dim")}
    model = dser.build(text_encoder=backbone, **kwargs)
    assert model.get_layer("text_lstm_1").units == 16  # first text LSTM = encoder width
    hsf, text = batch()
    out = model.predict([hsf, text], verbose=0)
    assert [o.shape for o in out] == [(8, 1)] * 3
    model.save(tmp_path / "dser_bert.keras")
    loaded = keras.models.load_model(tmp_path / "dser_bert.keras")
    for a, b in zip(loaded.predict([hsf, text], verbose=0), out):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="max_sequence_length"):
        dser.build(text_encoder=backbone, **{**kwargs, "max_length": 554})


# Slightly wider than TINY so that the toy tasks converge for any seed within seconds.
LEARN = dict(acoustic_units=(None, 16, 16), text_units=(None, 16, 16), branch_dim=8, embedding_dim=8,
             fusion_units=(16, 8))


def _toy_targets(hsf, text):
    """valence from the words (ids < 10 positive), arousal and dominance from the acoustics."""
    positive = ((text > 0) & (text < 10)).sum(1) - (text >= 10).sum(1)
    valence = np.tanh(0.5 * positive)
    arousal = np.tanh(hsf[:, 0] + 0.5 * hsf[:, 1])
    dominance = np.tanh(hsf[:, 2] - 0.5 * hsf[:, 3])
    return {d: v[:, None].astype("float32") for d, v in zip(dser.DIMENSIONS, (valence, arousal, dominance))}


def test_acoustic_only_learns_a_toy_task():
    hsf, text = batch(192, seed=4)
    y = _toy_targets(hsf, text)
    keras.utils.set_random_seed(0)
    model = compile_model(dser.build(variant="acoustic", **{**TINY, **LEARN}),
                               dser.SPEC.variants["acoustic"].recipe.replace(optimizer_options={"learning_rate": 1e-2}))
    model.fit(hsf[:128], {d: y[d][:128] for d in y}, batch_size=32, epochs=20, verbose=0)
    pred = dict(zip(model.output_names, model.predict(hsf[128:], verbose=0)))
    assert metrics.ccc(y["arousal"][128:], pred["arousal"]) > 0.6
    assert metrics.ccc(y["dominance"][128:], pred["dominance"]) > 0.6


def test_acoustic_text_learns_valence_from_words():
    hsf, text = batch(192, seed=5)
    y = _toy_targets(hsf, text)
    keras.utils.set_random_seed(0)
    model = compile_model(dser.build(**{**TINY, **LEARN, "fusion_dropout": 0.0, "text_dropout": 0.0}),
                               dser.RECIPE.replace(optimizer_options={"learning_rate": 1e-2}))
    model.fit([hsf[:128], text[:128]], {d: y[d][:128] for d in y}, batch_size=32, epochs=20, verbose=0)
    pred = dict(zip(model.output_names, model.predict([hsf[128:], text[128:]], verbose=0)))
    assert metrics.ccc(y["valence"][128:], pred["valence"]) > 0.7   # weight 0.7: learnt from the words
    assert metrics.ccc(y["arousal"][128:], pred["arousal"]) > 0.5


def test_eq1_branch_outputs_are_linear_and_text_width_is_decoupled():
    """Eq. 1: both branches end in a LINEAR Dense(64) and the regression heads are linear; the
    first text LSTM keeps the paper's 300 units with a 50-d embedding."""
    import keras

    model = dser.build(embedding_matrix=np.zeros((20, 50), "float32"), max_length=None)
    for name in ("acoustic_dense", "text_dense", *dser.DIMENSIONS):
        assert model.get_layer(name).activation is keras.activations.linear, name
    assert model.get_layer("text_lstm_1").units == 300
    # Functionally: a linear branch gives negative values (a ReLU one never would).
    branch = keras.Model(model.inputs, model.get_layer("acoustic_dense").output)
    out = branch({"hsf": np.random.default_rng(0).normal(size=(8, 68)).astype("float32"),
                  "text": np.ones((8, 5), "int32")})
    assert np.asarray(out).min() < 0


def test_recipes_hold_out_a_fifth_of_the_training_speakers():
    from zoo import registry

    assert all(registry.recipe_of(n).validation == 0.2 for n in registry.get_spec("dser").names())
