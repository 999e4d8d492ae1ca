"""Intersection matrices (Kumar et al. 2021, Sec. 2.2, Eq. 6-9) against hand-computed intervals."""
import types

import numpy as np
import pytest

from zoo.explain import intersection as ix


@pytest.mark.parametrize("a, b, expected", [
    ((0, 1), (2, 3), 0.0),          # disjoint
    ((0, 1), (1, 2), 0.0),          # touching: zero-length overlap
    ((0, 2), (1, 3), 1 / 3),        # partial: overlap [1,2] over hull [0,3]
    ((0, 4), (1, 2), 1 / 4),        # nested: inner length over outer length
    ((1, 3), (1, 3), 1.0),          # identical
    ((5, 5), (5, 5), 1.0),          # the same single point
    ((5, 5), (6, 6), 0.0),          # two distinct points
    ((-3, -1), (-2, 2), 1 / 5),     # negative coordinates: overlap [-2,-1], hull [-3,2]
])
def test_interval_overlap_eq8(a, b, expected):
    assert ix.interval_overlap(a[0], a[1], b[0], b[1]) == pytest.approx(expected)
    assert ix.interval_overlap(b[0], b[1], a[0], a[1]) == pytest.approx(expected)  # symmetric


def test_class_intervals_mean_pm_two_population_sigma():
    # class 0, component 0: [1, 3] -> mean 2, population σ 1 -> [0, 4]
    # class 0, component 1: [0, 0] -> [0, 0];  class 1: [2, 2, 8] -> mean 4, σ = sqrt(8) -> 4 ∓ 2·sqrt(8)
    comps = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 1.0], [2.0, 1.0], [8.0, 1.0]])
    labels = np.array([0, 0, 1, 1, 1])
    left, right = ix.class_intervals(comps, labels, n_classes=3)
    np.testing.assert_allclose(left[0], [0.0, 0.0])
    np.testing.assert_allclose(right[0], [4.0, 0.0])
    np.testing.assert_allclose(left[1], [4 - 2 * np.sqrt(8), 1.0])
    np.testing.assert_allclose(right[1], [4 + 2 * np.sqrt(8), 1.0])
    assert np.isnan(left[2]).all() and np.isnan(right[2]).all()  # class without samples


def test_matrix_is_the_product_over_components_with_unit_diagonal():
    left = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 10.0], [0.5, 0.5, 0.5]])
    right = np.array([[2.0, 1.0, 1.0], [3.0, 1.0, 11.0], [1.5, 0.75, 0.75]])
    m = ix.intersection_from_intervals(left, right)
    # 0 vs 1: comp0 [0,2]&[1,3] -> 1/3, comp1 identical -> 1, comp2 disjoint -> 0
    # 0 vs 2: comp0 nested [0.5,1.5] in [0,2] -> 1/2, comp1 [0.5,0.75] in [0,1] -> 1/4, comp2 same -> 1/4
    # 1 vs 2: comp0 [1,1.5] of [0.5,3] -> 0.5/2.5, comp1 -> 1/4, comp2 disjoint -> 0
    expected = np.array([[1, 0, 1 / 32], [0, 1, 0], [1 / 32, 0, 1]])
    np.testing.assert_allclose(m, expected)


def test_embedding_uses_sklearn_scaler_and_pca():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)) * np.array([1, 5, 0.1, 2, 3, 1])
    comps, _, _ = ix.embed(x)
    z = StandardScaler().fit_transform(x)
    ref = PCA(3, svd_solver="full").fit_transform(z)
    np.testing.assert_allclose(np.abs(comps), np.abs(ref), atol=1e-8)  # PCA signs are arbitrary
    assert comps.shape == (40, 3)


def test_separated_and_identical_classes():
    rng = np.random.default_rng(1)
    far = np.concatenate([rng.normal(0, 0.1, (30, 5)), rng.normal(50, 0.1, (30, 5))])
    result = ix.intersection_from_embedding(far, [0] * 30 + [1] * 30, ["a", "b"])
    assert result.matrix[0, 1] == 0.0 and result.matrix[1, 0] == 0.0
    np.testing.assert_array_equal(np.diag(result.matrix), [1.0, 1.0])
    same = rng.normal(size=(20, 5))
    both = ix.intersection_from_embedding(np.concatenate([same, same]), [0] * 20 + [1] * 20, ["a", "b"])
    assert both.matrix[0, 1] == pytest.approx(1.0)  # identical class clouds -> identical intervals


def test_missing_class_is_nan_and_reported():
    x = np.random.default_rng(2).normal(size=(10, 4))
    r = ix.intersection_from_embedding(x, [0] * 5 + [1] * 5, ["a", "b", "c"])
    assert r.missing_classes == ["c"]
    assert np.isnan(r.matrix[2, 0]) and r.matrix[2, 2] == 1.0
    assert "n/a" in r.to_markdown()


def _tiny_model():
    import keras

    inputs = keras.Input((5,), name="x")
    h = keras.layers.Dense(6, activation="relu", name="hidden")(inputs)
    p = keras.layers.Dense(4, activation="relu", name="penultimate")(h)
    out = keras.layers.Dense(3, activation="softmax", name="output")(p)
    return keras.Model(inputs, out)


def test_intersection_matrix_of_layers_of_a_model():
    import keras

    keras.utils.set_random_seed(0)
    model = _tiny_model()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 5)).astype("float32")
    y = np.arange(30) % 3
    results = ix.intersection_matrix(model, ["hidden", "output"], ({"x": x}, y), class_names=["a", "b", "c"])
    assert [r.layer for r in results] == ["hidden", "output"]
    hidden = keras.Model(model.inputs, model.get_layer("hidden").output)(x)
    ref = ix.intersection_from_embedding(np.asarray(hidden), y, ["a", "b", "c"])
    np.testing.assert_allclose(results[0].matrix, ref.matrix)
    single = ix.intersection_matrix(model, "output", ({"x": x}, y), class_names=["a", "b", "c"])
    np.testing.assert_allclose(single.matrix, results[1].matrix)
    # a tf.data pipeline of batches gives the same outputs as one array pair
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(7)
    batched = ix.intersection_matrix(model, "hidden", ds, class_names=["a", "b", "c"])
    np.testing.assert_allclose(batched.matrix, results[0].matrix, atol=1e-6)


def test_default_layers_use_explain_layers_else_last_three_flat():
    model = _tiny_model()
    spec = types.SimpleNamespace(explain_layers=("hidden", "penultimate", "output"))
    assert ix.default_layers(model, spec) == ("hidden", "penultimate", "output")
    assert ix.default_layers(model, None) == ("hidden", "penultimate", "output")
    # A spec naming layers the model lacks falls back to the last three flat layers.
    assert ix.default_layers(model, types.SimpleNamespace(explain_layers=("nope",))) == ("hidden", "penultimate", "output")
    from zoo import gru_bert

    assert gru_bert.SPEC.explain_layers == gru_bert.EXPLAIN_LAYERS == ("fusion", "penultimate", "predictions")
    tiny = gru_bert.build(text_encoder=None, feature_dims={"mel": 4, "mfcc": 3, "chroma": 2},
                          gru_units={"mel": 2, "mfcc": 2, "chroma": 2},
                          branch_units={"mel": 2, "mfcc": 2, "chroma": 2}, fusion_units=3)
    assert ix.default_layers(tiny, gru_bert.SPEC) == gru_bert.EXPLAIN_LAYERS
    # Table 5's third-last layer is the fusion: the last three flat layers would be the logits' neighbours.
    assert ix.default_layers(tiny, None) == ("penultimate", "logits", "predictions")


def test_a_dataset_without_the_models_length_inputs_is_a_clear_error():
    import zoo

    model = zoo.build("blstmatt", lstm_units=4, attention_units=2)
    x = np.random.default_rng(0).normal(size=(3, 20, 23)).astype("float32")
    with pytest.raises(ValueError, match=r"lacks the model's input\(s\) \['fbank_length'\].*lengths=True"):
        ix.layer_outputs(model, ["logits"], ({"fbank": x}, np.zeros(3)))
    merged, _ = ix.layer_outputs(model, ["logits"], ({"fbank": x, "fbank_length": np.array([20, 9, 3])}, np.zeros(3)))
    assert merged["logits"].shape == (3, 4)
