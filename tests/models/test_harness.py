"""The shared model test harness (as keras-hub's ``TestCase``): every registered model and variant.

At the spec's tiny sizes, each name listed by ``python -m zoo models``:
- builds through ``zoo.build(name)`` and through ``<module>.build(variant=...)`` (the same graph);
- classifiers end in a ``predictions`` layer carrying the label names, posteriors that sum to 1;
- ``.keras`` and ``.weights.h5`` round trips give equal outputs (and the label names survive);
- ``include_top=False`` builds a body without the head;
- outputs do not change when variable-length inputs get extra zero padding (and, for models
  with ``<name>_length`` inputs, extra padding of any content);
- with ``<name>_length`` inputs, all-zero frames INSIDE an utterance (digital silence) are
  kept, not masked as ``Masking(0.0)`` masked them (``lengths=False``, the previous graph);
- a mixed_float16 copy with the same weights gives finite outputs close to float32, and one
  training step under mixed_float16 has a finite loss.
Parameter anchors: the spec's full-size counts are what the builder makes (slow for the big ones).
Per-model test files keep only the paper-specific tests.
"""
import importlib
import inspect

import keras
import numpy as np
import pytest

import zoo
from zoo import registry
from zoo.layers import LENGTH_SUFFIX

NAMES = registry.list_models()
T_SHORT, T_PAD = 7, 5  # frames of the test inputs, and extra zero frames for the padding check


def tiny(name, **extra):
    model, variant = registry.split_name(name)
    spec = registry.get_spec(model)
    return {**spec.tiny_args(variant), **extra}


def input_names(model):
    return [t.name.split(":")[0] for t in model.inputs]


def length_inputs(model):
    """``{sequence input: its length input}`` of the model's ``<name>_length`` inputs."""
    names = input_names(model)
    return {n: n + LENGTH_SUFFIX for n in names if n + LENGTH_SUFFIX in names}


def make_inputs(model, seed=0, length=T_SHORT):
    """Random inputs for every model input: ints in [1, 16) for token ids, N(0, 1) floats else,
    ``length`` for the true-length inputs ``<name>_length``."""
    rng = np.random.default_rng(seed)
    out = {}
    lengths = set(length_inputs(model).values())
    for tensor in model.inputs:
        name = tensor.name.split(":")[0]
        shape = [2] + [length if d is None else int(d) for d in tensor.shape[1:]]
        if name in lengths:
            out[name] = np.full(shape, length, "int32")
        elif "int" in str(tensor.dtype):
            out[name] = rng.integers(1, 16, size=shape).astype("int32")
        else:
            out[name] = rng.normal(size=shape).astype("float32")
    return out


def padded(model, inputs, noise=False):
    """The same inputs with T_PAD zero steps appended to every variable-length axis (``noise``:
    N(0, 1) steps, on the inputs whose mask comes from a ``<name>_length`` input)."""
    out, rng, masked = {}, np.random.default_rng(7), length_inputs(model)
    for tensor in model.inputs:
        name = tensor.name.split(":")[0]
        x = inputs[name]
        if len(tensor.shape) > 1 and tensor.shape[1] is None:
            pad = [(0, 0)] * x.ndim
            pad[1] = (0, T_PAD)
            x = np.pad(x, pad)
            if noise and name in masked:
                x[:, -T_PAD:] = rng.normal(size=x[:, -T_PAD:].shape)
        out[name] = x
    return out


def outputs(model, inputs):
    out = model(inputs, training=False)
    if isinstance(out, dict):
        return [np.asarray(out[k]) for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def assert_close(a, b, what, **tol):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, err_msg=what, **tol)


def _slow_unless_default(names):
    """Every model's default variant runs in the default suite; the other variants are marked slow
    (CI runs both)."""
    return [n if ":" not in n else pytest.param(n, marks=pytest.mark.slow) for n in names]


@pytest.mark.parametrize("name", NAMES)
def test_variant_builds_both_ways(name):
    """Every listed name builds through ``zoo.build(name)`` and ``<module>.build(variant=...)``."""
    model_name, variant = registry.split_name(name)
    kwargs = tiny(name)
    model = zoo.build(name, **kwargs)
    same = importlib.import_module(f"zoo.{model_name}").build(variant=variant, **kwargs)
    assert model.count_params() == same.count_params(), "zoo.build(name) and module.build(variant=) differ"
    assert [t.name for t in model.inputs] == [t.name for t in same.inputs]
    if registry.get_spec(model_name).is_classifier:
        assert model.output_names == ["predictions"], "every classifier's output layer is `predictions`"
    keras.backend.clear_session()


@pytest.mark.parametrize("name", _slow_unless_default(NAMES))
def test_variant_contract(name, tmp_path):
    model_name, variant = registry.split_name(name)
    spec = registry.get_spec(model_name)
    kwargs = tiny(name)
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **kwargs)
    x = make_inputs(model)
    y = outputs(model, x)
    assert all(np.isfinite(v).all() for v in y)

    if spec.is_classifier:
        assert model.output_names == ["predictions"], "every classifier's output layer is `predictions`"
        np.testing.assert_allclose(y[0].sum(-1), 1.0, rtol=1e-5)
        assert zoo.labels_of(model) == tuple(spec.labels), "default label names ride on the model"

    # .keras round trip: same outputs, same label names.
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert_close(y, outputs(loaded, x), f"{name}: .keras round trip", rtol=1e-5, atol=1e-6)
    assert zoo.labels_of(loaded) == zoo.labels_of(model)

    # .weights.h5 round trip into a fresh build.
    weights = tmp_path / "m.weights.h5"
    model.save_weights(weights)
    keras.utils.set_random_seed(1)
    fresh = zoo.build(name, **kwargs)
    fresh.load_weights(weights)
    assert_close(y, outputs(fresh, x), f"{name}: .weights.h5 round trip", rtol=1e-5, atol=1e-6)

    # include_top=False: a body without the head.
    body = zoo.build(name, include_top=False, **kwargs)
    assert body.count_params() < model.count_params()
    assert "predictions" not in [layer.name for layer in body.layers]

    # Extra zero padding of variable-length inputs changes nothing.
    if any(len(t.shape) > 1 and t.shape[1] is None for t in model.inputs):
        assert_close(y, outputs(model, padded(model, x)), f"{name}: extra padding changed the outputs",
                     rtol=1e-4, atol=1e-5)
    if length_inputs(model):
        assert_close(y, outputs(model, padded(model, x, noise=True)),
                     f"{name}: steps beyond the true length changed the outputs", rtol=1e-4, atol=1e-5)

    # mixed_float16: same weights, finite and close; one finite training step.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = zoo.build(name, **kwargs)
        mixed.set_weights(model.get_weights())
        y16 = outputs(mixed, x)
        assert all(np.isfinite(v).all() for v in y16)
        assert_close(y, y16, f"{name}: mixed_float16 vs float32", rtol=5e-2, atol=2e-2)
        if spec.is_classifier:
            mixed.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            loss = mixed.train_on_batch(x, np.zeros(2, "int32"))
        else:
            mixed.compile(optimizer="adam", loss="mse")
            loss = mixed.train_on_batch(x, [np.zeros((2, 1), "float32") for _ in mixed.outputs])
        assert np.isfinite(np.asarray(loss, dtype="float64")).all()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()


SILENT = (2, 3)  # steps of the test utterances made all-zero (digital silence inside the utterance)


def _with_silence(model, x):
    """``x`` with steps :data:`SILENT` of every length-masked input set to exactly zero."""
    out = dict(x)
    for name in length_inputs(model):
        out[name] = x[name].copy()
        out[name][:, list(SILENT)] = 0
    return out


def _silence_removed(model, x):
    """``x`` with steps :data:`SILENT` cut out of every length-masked input (lengths shortened):
    what a mask of the all-zero frames (``Masking(0.0)``) lets the model see."""
    out = dict(x)
    for name, length in length_inputs(model).items():
        out[name] = np.delete(x[name], list(SILENT), axis=1)
        out[length] = x[length] - len(SILENT)
    return out


def _length_masked(names):
    out = []
    for name in names:
        model_name, variant = registry.split_name(name)
        args = registry.get_spec(model_name).variant(variant).build_args
        if "lengths" in inspect.signature(registry.get_spec(model_name).build).parameters \
                and args.get("graph") != "reference":
            out.append(name if ":" not in name else pytest.param(name, marks=pytest.mark.slow))
    return out


@pytest.mark.parametrize("name", _length_masked(NAMES))
def test_digital_silence_inside_an_utterance_is_not_masked(name):
    """All-zero frames inside an utterance are frames of it: with length masks the output differs
    from that of the utterance with those frames cut out; the ``lengths=False`` graph (Masking(0.0))
    gives exactly the cut-out output, which is the bug the length masks fix."""
    kwargs = tiny(name)
    keras.utils.set_random_seed(0)
    model = zoo.build(name, **kwargs)
    frames = [t.name for t in model.inputs if "float" in str(t.dtype) and len(t.shape) == 3]
    if not frames:  # a text-only variant: token ids are masked exactly (mask_zero), no frames to mask
        assert not length_inputs(model) and all("int" in str(t.dtype) for t in model.inputs), name
        return
    assert length_inputs(model), f"{name}: no <name>_length inputs"
    for tensor in model.inputs:
        if tensor.name.split(":")[0] in length_inputs(model).values():
            assert tensor.dtype == "int32" and tuple(tensor.shape) == (None,)
    x = make_inputs(model)
    silent = outputs(model, _with_silence(model, x))
    cut = outputs(model, _silence_removed(model, x))
    assert max(np.abs(a - b).max() for a, b in zip(silent, cut)) > 1e-4, \
        f"{name}: the silent frames were masked (output == output without them)"

    old = zoo.build(name, lengths=False, **kwargs)
    assert not length_inputs(old)
    old.set_weights(model.get_weights())  # no weights in the mask layers: the same weight list
    plain = {k: v for k, v in _with_silence(model, x).items() if k not in length_inputs(model).values()}
    assert_close(outputs(old, plain if len(plain) > 1 else next(iter(plain.values()))), cut, f"{name}: Masking(0.0) should mask the silent frames",
                 rtol=1e-4, atol=1e-5)
    keras.backend.clear_session()


def test_every_listed_name_has_a_spec_entry():
    """What ``python -m zoo models`` lists is exactly the specs' variants, with parameter anchors."""
    specs = registry.specs()
    assert sorted(specs) == sorted(registry.MODEL_MODULES)
    for spec in specs.values():
        assert set(spec.parameters) == set(spec.variants), f"{spec.name}: an anchor for every variant"
    table = registry.model_table()
    for name in NAMES:
        assert f"| `{name}` |" in table


def _heavy(name):
    model, variant = registry.split_name(name)
    return model in ("parallelnet",) or (model == "gru_bert" and variant != "audio_only")


@pytest.mark.parametrize("name", [n for n in NAMES if not _heavy(n)])
def test_parameter_anchor(name):
    model, variant = registry.split_name(name)
    built = zoo.build(name)
    assert built.count_params() == registry.get_spec(model).parameters[variant]
    keras.backend.clear_session()


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if _heavy(n) and n != "gru_bert:bert_base"])
def test_parameter_anchor_full_size(name):
    model, variant = registry.split_name(name)
    built = zoo.build(name)
    assert built.count_params() == registry.get_spec(model).parameters[variant]
    keras.backend.clear_session()


def test_paper_numbers_belong_to_their_variant():
    """The report prints a paper number only beside the variant it belongs to."""
    assert registry.paper_of("parallelnet").reported["overall_accuracy"] == pytest.approx(0.8329)
    assert registry.paper_of("parallelnet:baseline1").reported["overall_accuracy"] == pytest.approx(0.6393)
    assert registry.paper_of("parallelnet:speech_only").reported["overall_accuracy"] == pytest.approx(0.6017)
    assert registry.paper_of("csa").reported["overall_accuracy"] == pytest.approx(0.763)
    assert registry.paper_of("csa:chunk40").reported["overall_accuracy"] == pytest.approx(0.751)
    assert registry.paper_of("csa:conv1d") is None
    assert registry.paper_of("gru_bert:audio_only") is None
    assert registry.paper_of("amh:amh3") is None  # Table 2 is precision, not mapped


def test_unknown_variant_and_argument_are_clear_errors():
    from zoo import blstmatt

    with pytest.raises(ValueError, match="unknown variant 'nope' of blstmatt; known: default"):
        blstmatt.build(variant="nope")
    with pytest.raises(TypeError, match=r"unknown arguments \['lstm_size'\].*lstm_units"):
        blstmatt.build(lstm_size=3)
    with pytest.raises(ValueError, match="unknown model"):
        zoo.build("nosuchmodel")
