"""zoo.blstmatt (Jalal et al. 2020): parameter anchor by layer, the 1024-d attention context,
masking (incl. the masked mean), attention weights (also after a .keras round trip), a toy task,
recipe and paper numbers. The generic contract is tests/models/test_harness.py's."""
import numpy as np
import keras

from zoo import blstmatt, metrics, registry

TINY = dict(input_dim=4, lstm_units=6, attention_units=5)


def feed(x, lengths=None):
    """``{"fbank", "fbank_length"}``: the true frame counts default to the whole array."""
    lengths = np.full(len(x), x.shape[1]) if lengths is None else lengths
    return {"fbank": x, "fbank_length": np.asarray(lengths, "int32")}


def test_parameter_anchor_paper_configuration():
    model = blstmatt.build()  # 23-d fbank, 2 x BiLSTM 512/direction, attention 128, 4 classes
    assert model.count_params() == 8_757_637 == blstmatt.SPEC.parameters["default"]
    layers = {name: model.get_layer(name).count_params() for name in ("blstm_1", "blstm_2", "attention", "logits")}
    assert layers["blstm_1"] + layers["blstm_2"] == 8_491_008
    assert layers["attention"] == 262_529
    assert layers["logits"] == 4_100
    assert [tuple(t.shape) for t in model.inputs] == [(None, None, 23), (None,)]
    assert [t.name for t in model.inputs] == ["fbank", "fbank_length"] and model.inputs[1].dtype == "int32"
    assert tuple(model.output.shape) == (None, 4)
    assert model.get_layer("logits").activation is keras.activations.linear
    assert [layer.name for layer in model.layers[-2:]] == ["logits", "predictions"]


def test_context_is_the_weighted_sum_of_blstm_outputs():
    """Sec. 4.3.1 read as the lab's code: the context is the 2 x lstm_units weighted sum of the
    BLSTM outputs (no 128 -> 1024 projection); one attention weight per frame."""
    x = np.random.default_rng(0).normal(size=(3, 7, 4)).astype("float32")
    model = blstmatt.build(classes=3, **TINY)
    probs, weights = blstmatt.attention_model(model).predict(feed(x), verbose=0)
    assert probs.shape == (3, 3) and weights.shape == (3, 7)
    features = blstmatt.build(include_top=False, **TINY)
    assert features.output.shape[-1] == 12  # 2 x lstm_units, not attention_units
    blstm = keras.Model(model.inputs, [model.get_layer("blstm_2").output, model.get_layer("attention").output[0]])
    h, context = blstm.predict(feed(x), verbose=0)
    np.testing.assert_allclose(context, np.einsum("bt,btd->bd", weights, h), rtol=1e-5, atol=1e-6)


def test_padding_changes_nothing():
    """Frames beyond the true length are masked in both LSTM directions, in the mean m and in the softmax."""
    rng = np.random.default_rng(1)
    model = blstmatt.attention_model(blstmatt.build(**TINY))
    short = rng.normal(size=(1, 5, 4)).astype("float32")
    long_ = rng.normal(size=(1, 9, 4)).astype("float32")
    alone_p, alone_a = model.predict(feed(short), verbose=0)
    batch = np.zeros((2, 12, 4), "float32")
    batch[0, :5], batch[1, :9] = short[0], long_[0]
    batch_p, batch_a = model.predict(feed(batch, [5, 9]), verbose=0)
    np.testing.assert_allclose(batch_p[0], alone_p[0], atol=1e-5)
    np.testing.assert_allclose(batch_a[0, :5], alone_a[0], atol=1e-5)
    assert np.all(batch_a[0, 5:] == 0.0) and np.all(batch_a[1, 9:] == 0.0)
    np.testing.assert_allclose(batch_a.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batch_p[1], model.predict(feed(long_), verbose=0)[0][0], atol=1e-5)


def test_keras_round_trip_keeps_attention_weights(tmp_path):
    model = blstmatt.build(**TINY)
    x = np.random.default_rng(2).normal(size=(2, 6, 4)).astype("float32")
    x[0, 4:] = 0
    x = feed(x, [4, 6])
    path = tmp_path / "blstmatt.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(blstmatt.attention_model(loaded).predict(x, verbose=0)[1],
                                  blstmatt.attention_model(model).predict(x, verbose=0)[1])


def test_learns_a_toy_task():
    """Class = sign of feature 0 in a short burst somewhere inside variable-length noise."""
    rng = np.random.default_rng(4)
    n, t_max = 96, 10
    x = np.zeros((n, t_max, 4), "float32")
    y = rng.integers(0, 2, n)
    lengths = rng.integers(5, t_max + 1, n)
    for i, length in enumerate(lengths):
        x[i, :length] = rng.normal(scale=0.3, size=(length, 4))
        x[i, rng.integers(0, length), 0] = 2.0 if y[i] else -2.0
    keras.utils.set_random_seed(0)
    model = blstmatt.build(classes=2, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(feed(x[:64], lengths[:64]), y[:64], epochs=12, batch_size=16, verbose=0)
    accuracy = metrics.overall_accuracy(y[64:], model.predict(feed(x[64:], lengths[64:]), verbose=0).argmax(-1))
    assert accuracy >= 0.85


def test_recipe_and_paper_mapping():
    assert blstmatt.RECIPE.optimizer == "Adam" and blstmatt.RECIPE.optimizer_options["learning_rate"] == 1e-4
    assert blstmatt.RECIPE.callbacks[0] == ("ReduceLROnPlateau", {"monitor": "val_loss", "patience": 4, "factor": 0.8})
    assert blstmatt.RECIPE.features["fbank"].extractor == "fbank"
    assert blstmatt.RECIPE.protocol == "session5"
    # the paper's swapped names (Eq. 6) mapped like zoo.metrics' table
    assert blstmatt.PAPER.reported == metrics.to_our_names("blstmatt", {"UA": 0.801, "WA": 0.735})
    assert registry.paper_of("blstmatt") is blstmatt.PAPER and registry.recipe_of("blstmatt") is blstmatt.RECIPE
    assert list(blstmatt.SPEC.variants) == ["default"]  # batch size 1 is a recipe change, not a variant
