"""zoo.model_inputs and the entry points that call it: a wrong last dimension, a wrong rank and an
empty batch give an error naming the input, the shape received and the shape expected (not a
Keras-internal one), and correct input still runs."""
import re

import numpy as np
import pytest

from zoo.model_inputs import InputShapeError, check_batch, check_dataset, expected_shapes, pretty


def _two_input_model():
    import keras

    fbank = keras.Input((None, 23), name="fbank")
    hsf = keras.Input((68,), name="hsf")
    h = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling1D()(fbank), hsf])
    return keras.Model([fbank, hsf], keras.layers.Dense(3, activation="softmax")(h), name="two")


@pytest.fixture(scope="module")
def two():
    return _two_input_model()


def good(batch=2, frames=7):
    rng = np.random.default_rng(0)
    return {"fbank": rng.normal(size=(batch, frames, 23)).astype("float32"),
            "hsf": rng.normal(size=(batch, 68)).astype("float32")}


# ----------------------------------------------------------------------------- the checker
def test_expected_shapes_and_their_spelling(two):
    assert expected_shapes(two) == {"fbank": (None, 23), "hsf": (68,)}
    assert pretty((None, 23), batched=True) == "(B, any, 23)" and pretty(()) == "()" and pretty((5,)) == "(5,)"
    assert expected_shapes(lambda x: x) == {}  # a plain callable says nothing


def test_correct_batches_pass(two):
    check_batch(two, good())
    check_batch(two, [good()["fbank"], good()["hsf"]])  # a list in the model's input order
    check_batch(two, {k: v[0] for k, v in good().items()}, batched=False)


@pytest.mark.parametrize("change, pattern", [
    (lambda b: {**b, "fbank": b["fbank"][..., :22]},
     r"model input 'fbank' of my model expects features of shape \(B, any, 23\), got \(2, 7, 22\): last dimension "
     r"is 22, expected 23"),
    (lambda b: {**b, "fbank": b["fbank"][0]},
     r"model input 'fbank' .*expects features of shape \(B, any, 23\), got \(7, 23\): 2 axes, expected 3 "
     r"\(one item without the batch axis\?"),
    (lambda b: {**b, "hsf": b["hsf"][:, None]},
     r"model input 'hsf' .*expects features of shape \(B, 68\), got \(2, 1, 68\): 3 axes, expected 2"),
    (lambda b: {k: v[:0] for k, v in b.items()},
     r"model input 'fbank' .*expects features of shape \(B, any, 23\), got \(0, 7, 23\): an empty batch"),
    (lambda b: {**b, "fbank": b["fbank"][:, :0]},
     r"model input 'fbank' .*got \(2, 0, 23\): axis 1 has size 0"),
    (lambda b: {**b, "hsf": b["hsf"][:1]}, r"the inputs of my model have different batch sizes: 'fbank' 2, 'hsf' 1"),
    (lambda b: {"fbank": b["fbank"]}, r"missing model input\(s\) of my model: 'hsf' \(B, 68\)"),
    (lambda b: {**b, "mfcc": b["hsf"]}, r"unknown input\(s\) \['mfcc'\] of my model; the model's inputs are "
                                        r"'fbank' \(B, any, 23\), 'hsf' \(B, 68\)"),
    (lambda b: b["hsf"], r"one array given, but the model takes 2 inputs \['fbank', 'hsf'\]"),
])
def test_bad_batches_name_the_input_and_the_expected_shape(two, change, pattern):
    with pytest.raises(InputShapeError, match=r"^clip\.wav: " + pattern):
        check_batch(two, change(good()), where="clip.wav", owner="my model")


def test_the_error_carries_its_parts_and_is_a_value_error(two):
    with pytest.raises(ValueError) as caught:
        check_batch(two, {**good(), "hsf": np.zeros((2, 60), "float32")})
    assert (caught.value.input, caught.value.received, caught.value.expected) == ("hsf", (2, 60), (68,))


def test_one_item_without_the_batch_axis(two):
    item = {k: v[0] for k, v in good().items()}
    with pytest.raises(InputShapeError, match=r"expects features of shape \(any, 23\), got \(2, 7, 23\): 3 axes, "
                                              r"expected 2 \(a batch where one item is expected\?\)"):
        check_batch(two, {**item, "fbank": good()["fbank"]}, batched=False)


def test_length_inputs_are_tolerated_and_checked(two):
    """``<input>_length`` (B,) integers may come beside the inputs (masks from true lengths)."""
    check_batch(two, {**good(), "fbank_length": np.array([7, 5])})
    with pytest.raises(InputShapeError, match=r"'fbank_length' expects lengths of shape \(B,\), got \(2, 1\)"):
        check_batch(two, {**good(), "fbank_length": np.array([[7], [5]])})
    with pytest.raises(InputShapeError, match=r"lengths are integers .*float32"):
        check_batch(two, {**good(), "fbank_length": np.array([7, 5], "float32")})
    with pytest.raises(InputShapeError, match=r"different batch sizes"):
        check_batch(two, {**good(), "fbank_length": np.array([7, 5, 3])})
    import keras

    x = keras.Input((None, 4), name="mel")
    n = keras.Input((), name="mel_length", dtype="int32")
    model = keras.Model([x, n], keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x)))
    batch = np.zeros((3, 5, 4), "float32")
    check_batch(model, {"mel": batch, "mel_length": np.array([5, 4, 2])})
    check_batch(model, {"mel": batch})  # the lengths may be left out (the caller fills them)
    check_batch(model, batch)  # one array for the model's one non-length input


def test_a_model_that_states_no_inputs_is_checked_for_emptiness_only():
    check_batch(lambda x: x, {"anything": np.zeros((2, 3))})
    with pytest.raises(InputShapeError, match=r"input 'speech' is empty \(shape \(0, 3\)\)"):
        check_batch(lambda x: x, {"speech": np.zeros((0, 3))})


def test_shape_mappings_stand_for_a_model():
    check_batch({"waveform": (None,)}, np.zeros((2, 100), "float32"))
    with pytest.raises(InputShapeError, match=r"'waveform' expects features of shape \(B, any\), got \(100,\)"):
        check_batch({"waveform": (None,)}, np.zeros(100, "float32"))


# ----------------------------------------------------------------------------- zoo.experiment
def _dataset(fbank, hsf, labels=None, batch=2):
    import tensorflow as tf

    y = np.zeros(len(fbank), "int32") if labels is None else labels
    return tf.data.Dataset.from_tensor_slices(({"fbank": fbank, "hsf": hsf}, y)).batch(batch)


def test_experiment_predict_checks_the_dataset(two):
    from zoo import experiment

    b = good(4)
    out = experiment.predict(two, _dataset(b["fbank"], b["hsf"]))
    assert out.shape == (4, 3)
    with pytest.raises(InputShapeError, match=r"^the test part: model input 'fbank' expects features of shape "
                                              r"\(B, any, 23\), got \(None, 7, 40\): last dimension is 40"):
        experiment.predict(two, _dataset(np.zeros((4, 7, 40), "float32"), b["hsf"]), where="the test part")
    import tensorflow as tf

    unbatched = tf.data.Dataset.from_tensor_slices(({"fbank": b["fbank"], "hsf": b["hsf"]}, np.zeros(4)))
    with pytest.raises(InputShapeError, match=r"got \(7, 23\): 2 axes, expected 3 \(one item without the batch"):
        experiment.predict(two, unbatched)
    with pytest.raises(InputShapeError, match=r"^dataset: an empty dataset \(no batch\); the model expects batches "
                                              r"of 'fbank' \(B, any, 23\), 'hsf' \(B, 68\)"):
        experiment.predict(two, _dataset(b["fbank"][:0], b["hsf"][:0]))


def test_check_dataset_passes_a_missing_part(two):
    check_dataset(two, None)


# ----------------------------------------------------------------------------- zoo.predict
def test_predictor_call_checks_the_batch():
    import zoo

    predictor = zoo.predict.load("blstmatt-synthetic-smoke")
    fbank = np.zeros((2, 50, 23), "float32")
    assert predictor({"fbank": fbank}).shape == (2, len(predictor.names))
    cases = [(fbank[..., :20], r"got \(2, 50, 20\): last dimension is 20, expected 23"),
             (fbank[0], r"got \(50, 23\): 2 axes, expected 3"),
             (fbank[:0], r"got \(0, 50, 23\): an empty batch")]
    for bad, pattern in cases:
        with pytest.raises(zoo.predict.InputError, match=r"^batch: model input 'fbank' of release "
                                                         r"'blstmatt-synthetic-smoke' expects features of shape "
                                                         r"\(B, any, 23\), " + pattern):
            predictor({"fbank": bad})


# ----------------------------------------------------------------------------- zoo.explain
def test_attention_weights_check_the_utterance():
    from zoo import blstmatt
    from zoo.explain import attention_weights

    model = blstmatt.build(lstm_units=3, attention_units=2)
    x = np.random.default_rng(0).normal(size=(7, 23)).astype("float32")
    assert attention_weights(model, blstmatt.SPEC, {"fbank": x})["attention"].shape == (7,)
    for bad, pattern in [(x[:, :20], r"got \(7, 20\): last dimension is 20, expected 23"),
                         (x[None], r"got \(1, 7, 23\): 3 axes, expected 2 \(a batch where one item"),
                         (x[:0], r"got \(0, 23\): axis 0 has size 0")]:
        with pytest.raises(InputShapeError, match=r"^attention_weights: model input 'fbank' of blstmatt's attention "
                                                  r"probe expects features of shape \(any, 23\), " + pattern):
            attention_weights(model, blstmatt.SPEC, {"fbank": bad})
    with pytest.raises(InputShapeError, match=r"missing model input\(s\) .*'fbank' \(any, 23\)"):
        attention_weights(model, blstmatt.SPEC, {"mel": x})


def test_shapley_checks_the_example(two):
    from zoo.explain import divide_and_conquer_shapley

    item = {k: v[0] for k, v in good().items()}
    result = divide_and_conquer_shapley(two, item, target=0, depth=1)
    assert result.maps["fbank"].shape == (7, 23)
    for bad, pattern in [({**item, "hsf": item["hsf"][:60]}, r"'hsf' expects features of shape \(68,\), got \(60,\)"),
                         ({**item, "fbank": good()["fbank"]}, r"'fbank' .* got \(2, 7, 23\): 3 axes, expected 2"),
                         ({**item, "fbank": item["fbank"][:0]}, r"'fbank' .* got \(0, 23\): axis 0 has size 0")]:
        with pytest.raises(InputShapeError, match="^divide_and_conquer_shapley: model input " + pattern):
            divide_and_conquer_shapley(two, bad, target=0, depth=1)


def test_layer_outputs_check_each_batch(two):
    from zoo.explain import layer_outputs

    b = good(4)
    outputs, labels = layer_outputs(two, [two.layers[-1].name], (b, np.arange(4)))
    assert outputs[two.layers[-1].name].shape == (4, 3) and labels.tolist() == [0, 1, 2, 3]
    with pytest.raises(InputShapeError, match=r"^layer_outputs: batch 1: model input 'hsf' expects features of "
                                              r"shape \(B, 68\), got \(2, 67\): last dimension is 67"):
        layer_outputs(two, [two.layers[-1].name], [(good(), np.zeros(2)), ({**good(), "hsf": np.zeros((2, 67))},
                                                                             np.zeros(2))])
    with pytest.raises(InputShapeError, match=r"got \(0, 7, 23\): an empty batch"):
        layer_outputs(two, [two.layers[-1].name], ({k: v[:0] for k, v in b.items()}, np.arange(0)))


# ----------------------------------------------------------------------------- zoo.export
def test_an_exported_artefact_checks_its_input(tmp_path):
    import keras

    from zoo import export

    keras.utils.set_random_seed(0)
    x = keras.Input((5,), name="x")
    model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(x), name="tiny_dense")
    run = export.load_artefact(export.export(model, "saved_model", tmp_path / "tiny"))
    batch = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(run(batch), model.predict_on_batch(batch), atol=1e-6)
    where = str(tmp_path / "tiny")
    for bad, pattern in [(batch[:, :4], r"got \(3, 4\): last dimension is 4, expected 5"),
                         (batch[0], r"got \(5,\): 1 axes, expected 2 \(one item without the batch axis"),
                         (batch[:0], r"got \(0, 5\): an empty batch")]:
        with pytest.raises(InputShapeError, match=f"^{where}: model input 'x' of the saved_model artefact expects "
                                                  r"features of shape \(B, 5\), " + pattern):
            run(bad)


def test_a_waveform_artefact_checks_waveforms_and_lengths():
    from zoo import export

    run = export.Artefact.__new__(export.Artefact)  # the check comes before the runtime is touched
    run.path, run.format, run.batch = "csa.onnx", "onnx", None
    run.sidecar = {"input": {"kind": "waveform", "lengths": True}}
    with pytest.raises(InputShapeError, match=r"^csa.onnx: model input 'waveform' .* shape \(B, any\), got "
                                              r"\(16000,\): 1 axes, expected 2"):
        run(np.zeros(16000, "float32"))
    with pytest.raises(InputShapeError, match=r"'waveform' .* got \(0, 16000\): an empty batch"):
        run(np.zeros((0, 16000), "float32"))
    with pytest.raises(InputShapeError, match=r"different batch sizes: 'waveform' 2, 'lengths' 3"):
        run(np.zeros((2, 16000), "float32"), lengths=np.array([16000, 8000, 100]))


# ----------------------------------------------------------------------------- zoo.finetune
def test_finetune_checks_the_features_against_the_release_before_training(tmp_path, monkeypatch):
    """Features that do not fit the released body (here 40 mel bands for a 23-band model, from an
    extractor the manifest entry does not match) are refused naming the manifest, not mid-fit."""
    from tests.test_finetune import write_manifest
    from zoo import features, finetune, train, weights

    csv = write_manifest(tmp_path / "data", speakers=3, per_speaker=2, bad_rows=False)
    monkeypatch.setattr(weights, "extractors", lambda entry, *a, **k: {"fbank": features.get("fbank", n_mels=40)})
    monkeypatch.setattr(weights, "check_features", lambda *a, **k: None)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(InputShapeError, match=rf"^{re.escape(str(csv))} \(train part, features of release "
                                              r"'blstmatt-synthetic-smoke'\): model input 'fbank' expects features "
                                              r"of shape \(B, any, 23\), got \(None, None, 40\): last dimension is "
                                              r"40, expected 23"):
        finetune.finetune("blstmatt-synthetic-smoke", csv, tmp_path / "out.weights.h5", epochs=1, verbose=0,
                          cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out.weights.h5").exists()
