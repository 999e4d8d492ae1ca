"""Frozen encoders run once per utterance (zoo.frozen, zoo.features.frozen, the experiment).

The precomputed path (frozen part once, in inference mode, then the trainable part) must give
the end-to-end model's outputs, loss and training step; the cache of the frozen outputs must be
hit on a second run and keyed by the encoder's weights and the inner extractor's settings; the
experiment must leave an end-to-end ``final.weights.h5`` that loads into the normal build."""
import json
import os
import string

import keras
import numpy as np
import pytest

from zoo import frozen, gru_bert, parallelnet, text_encoders
from zoo.features import FeatureCache, frozen as frozen_features
from zoo.spec import Frozen

AUDIO = {"mel": 6, "mfcc": 5, "chroma": 3}


def gru_bert_tiny(bert=None, trainable=False, dropout=0.0):
    bert = bert or text_encoders.tiny_bert_backbone(dropout=0.0)
    args = {**gru_bert.SPEC.tiny_args(), "text_encoder": bert, "text_trainable": trainable, "dropout": dropout}
    return gru_bert.build(**args)


def gru_bert_batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    x = {s: rng.normal(size=(n, 5, d)).astype("float32") for s, d in AUDIO.items()}
    ids = rng.integers(1, 64, size=(n, 7)).astype("int32")
    ids[:, 4:] = 0
    x["text"] = ids
    x.update({f"{s}_length": np.array([5, 3, 5, 1, 4, 5][:n], "int32") for s in AUDIO})  # the masks' true lengths
    return x, rng.integers(0, 4, size=n).astype("int32")


def precomputed(split, x, raw_inputs):
    out = {k: x[k] for k in raw_inputs}
    for part in split.parts:
        out[part.name] = split.encoders[part.name].predict_on_batch(x[part.input])
    return out


def step(model, x, y, loss_fn, learning_rate=1e-2):
    """One eager Adam step on (x, y); the loss before it (training mode)."""
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(learning_rate)
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(loss_fn(y, model(x, training=True)))
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return float(loss)


def outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_gru_bert_precomputed_outputs_loss_and_training_step_equal_end_to_end():
    keras.utils.set_random_seed(1)
    model = gru_bert_tiny()
    x, y = gru_bert_batch()
    split = frozen.split(model, gru_bert.SPEC.frozen, {"text": x["text"][:2]})
    assert split is not None and [p.name for p in split.parts] == ["text_encoded"]
    head = split.trainable
    assert sorted(t.name for t in head.inputs) == ["chroma", "chroma_length", "mel", "mel_length", "mfcc",
                                                   "mfcc_length", "text_encoded"]
    assert head.count_params() == model.count_params() - split.encoders["text_encoded"].count_params()
    xh = precomputed(split, x, [k for k in x if k != "text"])
    np.testing.assert_allclose(outputs(head, xh), outputs(model, x), rtol=0, atol=1e-6)

    # Same weights, same batch: the same loss and, after one Adam step, the same weights.
    twin = gru_bert_tiny(bert=text_encoders.tiny_bert_backbone(dropout=0.0))
    twin.set_weights(model.get_weights())
    loss = keras.losses.sparse_categorical_crossentropy
    assert step(head, xh, y, loss) == pytest.approx(step(twin, x, y, loss), rel=1e-6)
    for a, b in zip(model.weights, twin.weights):  # the head trained the end-to-end model in place
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6)


def test_parallelnet_frozen_image_backbone_batchnorm_stays_in_inference_mode():
    """MobileNetV2's BatchNormalization inside the frozen N2: the precomputed image features
    equal the end-to-end model's in a training step, and its moving statistics do not move."""
    keras.utils.set_random_seed(0)
    args = dict(parallelnet.SPEC.tiny_args(), image_backbone="mobilenetv2", backbone_kwargs={"alpha": 0.35},
                trainable_backbones=False)  # the speech N2 stays the tiny CNN (a callable takes no kwargs)
    model = parallelnet.build(**args)
    rng = np.random.default_rng(0)
    x = {"speech": rng.random((4, 32, 32, 1)).astype("float32"), "image": rng.random((4, 32, 32, 3)).astype("float32")}
    y = keras.utils.to_categorical([0, 1, 2, 3], 4)
    split = frozen.split(model, parallelnet.SPEC.frozen, {"image": x["image"][:2]})
    head = split.trainable
    assert sorted(t.name for t in head.inputs) == ["image", "image_encoded", "speech"]  # N1_i still reads the image
    xh = precomputed(split, x, ("speech", "image"))
    np.testing.assert_allclose(outputs(head, xh), outputs(model, x), rtol=0, atol=1e-6)
    moving = [keras.ops.convert_to_numpy(w) for w in split.encoders["image_encoded"].non_trainable_weights]
    twin = parallelnet.build(**args)
    twin.set_weights(model.get_weights())
    loss = keras.losses.categorical_crossentropy
    assert step(head, xh, y, loss, 1e-3) == pytest.approx(step(twin, x, y, loss, 1e-3), rel=1e-6)
    for a, b in zip(model.weights, twin.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)
    after = [keras.ops.convert_to_numpy(w) for w in split.encoders["image_encoded"].non_trainable_weights]
    assert all(np.array_equal(a, b) for a, b in zip(moving, after))


def test_only_frozen_deterministic_parts_are_cut():
    assert frozen.split(gru_bert_tiny(trainable=True), gru_bert.SPEC.frozen) is None  # fine-tuned BERT
    audio_only = gru_bert.build(**{**gru_bert.SPEC.tiny_args(), "text_encoder": None})
    assert frozen.split(audio_only, gru_bert.SPEC.frozen) is None  # no text input
    # Dropout inside a frozen (built) backbone: not a function of the tokens, so not cut.
    stochastic = gru_bert_tiny(bert=text_encoders.tiny_bert_backbone(dropout=0.5))
    x, _ = gru_bert_batch()
    assert frozen.split(stochastic, gru_bert.SPEC.frozen, {"text": x["text"]}) is None
    # ParallelNet's criss-cross before N2 feeds N1_s into N2_i: N2_i is not a function of the image.
    before = parallelnet.build(**{**parallelnet.SPEC.tiny_args(), "trainable_backbones": False, "criss_cross": "before"})
    assert frozen.split(before, parallelnet.SPEC.frozen) is None
    assert frozen.split(gru_bert_tiny(), (Frozen("text", "no_such_layer"),)) is None


def test_a_frozen_preset_loads_without_dropout(tmp_path):
    folder = str(tmp_path / "bert")
    text_encoders.tiny_bert_backbone(dropout=0.3).save_to_preset(folder)
    assert text_encoders.load_bert_backbone(folder, trainable=False).get_config()["dropout"] == 0.0
    assert text_encoders.load_bert_backbone(folder, trainable=True).get_config()["dropout"] == 0.3


class Tokens:
    """A stand-in inner extractor: ids from the transcript's characters (no tokenizer files)."""

    name, dtype, pad_value, libraries = "toy_tokens", "int32", 0, ("numpy",)
    shape = (7,)

    def __init__(self, offset=0):
        self.offset = offset

    def config(self):
        return {"name": self.name, "offset": self.offset}

    def source_path(self, record):
        return None

    def source_text(self, record):
        return record.transcript

    def extract(self, record):
        ids = np.zeros(7, np.int32)
        codes = [1 + (ord(c) + self.offset) % 60 for c in record.transcript[:7]]
        ids[:len(codes)] = codes
        return ids


def _records(n=5):
    from zoo.data.records import Record

    return [Record(utterance_id=f"u{i}", corpus="toy", transcript=f"word {i} x{i * 7}") for i in range(n)]


def test_cache_is_hit_on_the_second_run_and_keyed_by_weights_and_inner(tmp_path):
    keras.utils.set_random_seed(0)
    split = frozen.split(gru_bert_tiny(), gru_bert.SPEC.frozen)
    encoder = split.encoders["text_encoded"]
    records, inner = _records(), Tokens()
    arrays = [inner.extract(r) for r in records]
    extractor = frozen_features.FrozenEncoder(inner, encoder, frozen.identity(encoder), part="t")
    cache = FeatureCache(tmp_path)
    first = frozen_features.encode(extractor, records, arrays, cache)
    assert (cache.stats.hits, cache.stats.misses) == (0, 5)
    np.testing.assert_allclose(np.stack(first), encoder.predict_on_batch(np.stack(arrays)), atol=1e-6)
    second = frozen_features.encode(extractor, records, arrays, FeatureCache(tmp_path))
    again = FeatureCache(tmp_path)
    frozen_features.encode(extractor, records, arrays, again)
    assert (again.stats.hits, again.stats.misses) == (5, 0)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    np.testing.assert_allclose(extractor.extract(records[0]), first[0], atol=1e-6)  # the per-record contract

    key = cache.key(extractor, records[0])
    # The same weights in another build: the same key (no layer names or build order in it).
    keras.utils.set_random_seed(5)
    other_build = frozen.split(gru_bert_tiny(), gru_bert.SPEC.frozen).encoders["text_encoded"]
    other_build.set_weights(encoder.get_weights())
    assert frozen.identity(other_build) == frozen.identity(encoder)
    # Other weights (another random draw: another encoder), another inner setting: other keys.
    redrawn = frozen.split(gru_bert_tiny(), gru_bert.SPEC.frozen).encoders["text_encoded"]
    assert frozen.identity(redrawn) != frozen.identity(encoder)
    keys = {cache.key(frozen_features.FrozenEncoder(inner, redrawn, frozen.identity(redrawn), part="t"), records[0]),
            cache.key(frozen_features.FrozenEncoder(Tokens(offset=1), encoder, frozen.identity(encoder), part="t"),
                      records[0])}
    assert key not in keys and len(keys) == 2


def _tiny_bert_folder(path) -> str:
    """A keras-hub preset folder of a tiny random BERT with a letters-only word-piece vocabulary
    (``vocab.txt``, as the ``bert_tokens`` extractor reads a local folder)."""
    folder = str(path)
    if not os.path.exists(folder):
        text_encoders.tiny_bert_backbone(vocabulary_size=64).save_to_preset(folder)
        vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.ascii_lowercase)
                 + ["##" + c for c in string.ascii_lowercase])
        with open(os.path.join(folder, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True}, f)
    return folder


@pytest.mark.slow
def test_experiment_trains_the_trainable_part_and_leaves_an_end_to_end_model(tmp_path):
    from zoo import experiment, io as zio, pipeline, profiles

    folder = _tiny_bert_folder(tmp_path / "bert")
    build = dict(text_encoder=folder, text_trainable=False, gru_units={"mel": 4, "mfcc": 4, "chroma": 4},
                 branch_units={"mel": 4, "mfcc": 4, "chroma": 4}, text_units=4, fusion_units=4)
    profile = profiles.Profile(name="tiny", description="test", seeds=(0,), max_folds=1, utterances=40,
                               epochs={"gru_bert": 2}, build={"gru_bert": build},
                               features={"gru_bert": {"text": {"preset": folder, "max_length": 8}}})
    exp = experiment.prepare("gru_bert", "synthetic", str(tmp_path / "corpus"), profile=profile,
                             cache_dir=tmp_path / "cache")
    fold = exp.folds[0]
    run = exp.run_fold(fold, 0, tmp_path / "runs" / "a")
    assert run["precomputed"] == ["text->text_dense"] and run["epochs_run"] == 2
    assert (tmp_path / "runs" / "a" / experiment.TRAINABLE_PART_DIR / "state.json").exists()

    # The run folder's final weights are the end-to-end model's: they load strictly into the normal
    # build, which predicts from token ids what the run reported from the precomputed [CLS] vectors.
    extractors = exp.extractors(fold.train_records)
    model = exp.build(extractors, 0)
    assert model.count_params() == run["parameters"]
    zio.load_weights_strict(model, tmp_path / "runs" / "a" / "final.weights.h5")
    table = exp.features(fold.test_records, extractors)
    test = pipeline.make_dataset(table, exp.label_set, batch_size=exp.batch_size, lengths=exp.length_inputs)
    np.testing.assert_allclose(experiment.predict(model, test), run["posteriors"], atol=1e-5)

    # A second experiment (a new process would do the same): the frozen outputs come from the cache.
    again = experiment.prepare("gru_bert", "synthetic", str(tmp_path / "corpus"), profile=profile,
                               cache_dir=tmp_path / "cache")
    table = again.features(fold.records, again.extractors(fold.train_records))
    with_model = again.build(again.extractors(fold.train_records), 0)
    before = again.cache.stats.hits
    again.encode_frozen(table, again.frozen_split(with_model, table), again.extractors(fold.train_records))
    assert again.cache.stats.hits - before == len(table) and again.cache.stats.misses == 0


def test_a_one_input_trainable_part_takes_a_tensor_without_warnings():
    """gru_bert:text_only: the trainable part reads the encoded [CLS] alone, as a plain tensor
    (what the experiment feeds a one-input model), equal to the end-to-end model."""
    import warnings

    bert = text_encoders.tiny_bert_backbone(dropout=0.0)
    model = gru_bert.build(**{**gru_bert.SPEC.tiny_args(), "text_encoder": bert, "text_trainable": False,
                              "audio_streams": ()})
    ids = np.random.default_rng(0).integers(1, 60, size=(4, 7)).astype("int32")
    split = frozen.split(model, gru_bert.SPEC.frozen, {"text": ids[:2]})
    encoded = split.encoders["text_encoded"].predict_on_batch(ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras' "structure of inputs doesn't match" would raise
        got = outputs(split.trainable, encoded)
    np.testing.assert_allclose(got, outputs(model, {"text": ids}), rtol=0, atol=1e-6)
