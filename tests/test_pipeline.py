"""tf.data pipeline on hand-made records with small fake extractors (exact padding, masks,
shapes, bucketing, shuffling, targets, NaN checks, chunking, class weights)."""
import numpy as np
import pytest
import tensorflow as tf

from zoo import pipeline
from zoo.data.protocols import Fold
from zoo.data.records import Record
from zoo.features.base import Extractor, FeatureError

LABELS = ("angry", "happy", "sad", "neutral")


class Frames(Extractor):
    """(n, dim) float frames, all non-zero: value = 100 * record number + frame + 1."""

    name = "frames"

    def __init__(self, dim=2):
        self.dim = dim

    @property
    def shape(self):
        return (None, self.dim)

    def config(self):
        return {"dim": self.dim}

    def extract(self, record):
        if record.extra.get("broken"):
            raise FeatureError(record.audio_path, "cannot decode")
        n, k = record.extra["n"], record.extra["k"]
        x = np.repeat(100.0 * k + np.arange(1, n + 1, dtype=np.float64)[:, None], self.dim, axis=1)
        if record.extra.get("nan"):
            x[0, 0] = np.nan
        return x


class Tokens(Extractor):
    name, dtype = "tokens", "int32"

    @property
    def shape(self):
        return (None,)

    def config(self):
        return {}

    def extract(self, record):
        return np.arange(1, record.extra["tokens"] + 1)


class Fixed(Extractor):
    name = "fixed"

    @property
    def shape(self):
        return (4,)

    def config(self):
        return {}

    def extract(self, record):
        return np.full(4, record.extra["k"], dtype=np.float32)


def rec(k, n=3, label="angry", tokens=2, **extra):
    return Record(utterance_id=f"utt{k:03d}", corpus="toy", audio_path=f"/toy/utt{k:03d}.wav",
                  speaker=f"spk{k % 3}", session="S1", label=label, valence=0.1 * k, arousal=-0.1 * k,
                  extra={"n": n, "k": k, "tokens": tokens, **extra})


def batches(ds):
    return [tuple(t.numpy() if hasattr(t, "numpy") else {k: v.numpy() for k, v in t.items()} for t in b)
            for b in ds]


def test_padded_batch_values_and_masks_exact():
    records = [rec(0, n=2), rec(1, n=5), rec(2, n=3)]
    ds = pipeline.make_dataset(records, LABELS, extractors={"seq": Frames()}, batch_size=3)
    ((inputs, y),) = batches(ds)
    x = inputs["seq"]
    assert x.shape == (3, 5, 2) and x.dtype == np.float32
    expected = np.zeros((3, 5, 2), np.float32)
    for row, (k, n) in enumerate([(0, 2), (1, 5), (2, 3)]):
        expected[row, :n] = (100 * k + np.arange(1, n + 1))[:, None]
    np.testing.assert_array_equal(x, expected)
    mask = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(y, [0, 0, 0])


def test_multi_input_keys_dtypes_static_shapes():
    records = [rec(k, n=2 + k, tokens=1 + k, label=LABELS[k % 4]) for k in range(5)]
    table = pipeline.compute_features(records, {"seq": Frames(3), "text": Tokens(), "hsf": Fixed()})
    ds = pipeline.make_dataset(table, LABELS, batch_size=2)
    inputs_spec, y_spec = ds.element_spec
    assert set(inputs_spec) == {"seq", "text", "hsf"}
    assert inputs_spec["seq"].shape.as_list() == [None, None, 3] and inputs_spec["seq"].dtype == tf.float32
    assert inputs_spec["text"].shape.as_list() == [None, None] and inputs_spec["text"].dtype == tf.int32
    assert inputs_spec["hsf"].shape.as_list() == [None, 4] and inputs_spec["hsf"].dtype == tf.float32
    assert y_spec.shape.as_list() == [None] and y_spec.dtype == tf.int32
    first = batches(ds)[0][0]
    np.testing.assert_array_equal(first["text"], [[1, 0], [1, 2]])  # token padding is 0
    np.testing.assert_array_equal(first["hsf"], [[0] * 4, [1] * 4])
    # pad_to and drop_remainder make the shapes fully static
    fixed = pipeline.make_dataset(table, LABELS, batch_size=2, pad_to={"seq": 8, "text": 6}, drop_remainder=True)
    assert fixed.element_spec[0]["seq"].shape.as_list() == [2, 8, 3]
    assert fixed.element_spec[0]["text"].shape.as_list() == [2, 6]
    assert len(batches(fixed)) == 2  # 5 records, the last partial batch dropped
    with pytest.raises(ValueError, match="utt004"):  # 6 frames > pad_to 5
        pipeline.make_dataset(table, LABELS, pad_to={"seq": 5})
    cut = pipeline.make_dataset(table, LABELS, batch_size=5, truncate={"seq": 3})
    assert batches(cut)[0][0]["seq"].shape == (5, 3, 3)


def test_bucketing_groups_similar_lengths():
    lengths = [2, 40, 3, 41, 4, 42, 5, 43, 6, 44]
    table = pipeline.compute_features([rec(k, n=n) for k, n in enumerate(lengths)], {"seq": Frames()})
    ds = pipeline.make_dataset(table, LABELS, batch_size=2, shuffle=True, seed=1, bucket_boundaries=[10])
    seen = []
    for inputs, _ in batches(ds):
        batch_lengths = np.any(inputs["seq"] != 0, axis=-1).sum(axis=1)
        assert (batch_lengths < 10).all() or (batch_lengths >= 10).all(), batch_lengths
        # padded to the bucket's longest utterance (6 or 44), not the batch's: one shape per bucket
        assert inputs["seq"].shape[1] == (6 if batch_lengths.max() < 10 else 44)
        seen.extend(batch_lengths.tolist())
    assert sorted(seen) == sorted(lengths)
    own = pipeline.make_dataset(table, LABELS, batch_size=2, shuffle=True, seed=1, bucket_boundaries=[10],
                                pad_to_bucket=False)
    for inputs, _ in batches(own):
        assert inputs["seq"].shape[1] == np.any(inputs["seq"] != 0, axis=-1).sum(axis=1).max()  # batch max
    auto = pipeline.make_dataset(table, LABELS, batch_size=5, bucket_boundaries="auto")
    widths = sorted(b[0]["seq"].shape[1] for b in batches(auto))
    assert widths == [6, 44]  # short and long utterances never share a batch


def order(ds):
    return [int(v) for inputs, _ in batches(ds) for v in inputs["hsf"][:, 0]]


def test_seeded_shuffle_is_deterministic():
    table = pipeline.compute_features([rec(k) for k in range(12)], {"hsf": Fixed()})
    make = lambda **kw: pipeline.make_dataset(table, LABELS, batch_size=4, shuffle=True, **kw)
    assert order(pipeline.make_dataset(table, LABELS, batch_size=4)) == list(range(12))
    a, b, c = order(make(seed=3)), order(make(seed=3)), order(make(seed=4))
    assert a == b and a != c and sorted(a) == list(range(12))
    ds = make(seed=3)
    assert order(ds) != order(ds)  # epoch=None reshuffles on every iteration
    # epoch mode: order is a function of (seed, epoch); works with a tensor epoch in flat_map
    e0, e0_again, e1 = order(make(seed=3, epoch=0)), order(make(seed=3, epoch=0)), order(make(seed=3, epoch=1))
    assert e0 == e0_again and e0 != e1
    stream = tf.data.Dataset.range(0, 2).flat_map(lambda e: make(seed=3, epoch=e, prefetch=False))
    assert order(stream) == e0 + e1


def test_label_ids_and_label_outside_set():
    records = [rec(0, label="sad"), rec(1, label="angry"), rec(2, label="neutral"), rec(3, label="happy")]
    ((_, y),) = batches(pipeline.make_dataset(records, LABELS, extractors={"hsf": Fixed()}, batch_size=4))
    np.testing.assert_array_equal(y, [2, 0, 3, 1])
    bad = records + [rec(4, label="fearful")]
    with pytest.raises(ValueError, match="utt004.*fearful"):
        pipeline.make_dataset(bad, LABELS, extractors={"hsf": Fixed()})


def test_non_finite_and_feature_errors_raise_or_are_counted():
    records = [rec(0), rec(1, nan=True), rec(2, broken=True), rec(3)]
    with pytest.raises(FeatureError, match="utt001.*non-finite"):
        pipeline.compute_features(records[:2], {"seq": Frames()})
    with pytest.raises(FeatureError, match="cannot decode"):
        pipeline.compute_features(records[2:], {"seq": Frames()})
    table = pipeline.compute_features(records, {"seq": Frames(), "hsf": Fixed()}, on_error="skip")
    assert [r.utterance_id for r in table.records] == ["utt000", "utt003"]
    assert table.report.total_skipped == 2
    assert table.report.skipped == {"non-finite values (seq)": 1, "feature error (seq)": 1}
    assert table.report.examples["feature error (seq)"][0].startswith("utt002")


def test_contract_violations_and_cache_duck_typing():
    class Wrong(Fixed):
        def extract(self, record):
            return np.zeros(5)

    with pytest.raises(ValueError, match="utt000.*shape"):
        pipeline.compute_features([rec(0)], {"hsf": Wrong()})

    class CountingCache:
        def __init__(self):
            self.calls = []

        def get_or_compute(self, extractor, record):
            self.calls.append((extractor.name, record.utterance_id))
            return extractor.extract(record)

    cache = CountingCache()
    pipeline.compute_features([rec(0), rec(1)], {"seq": Frames(), "hsf": Fixed()}, cache=cache)
    assert cache.calls == [("frames", "utt000"), ("fixed", "utt000"), ("frames", "utt001"), ("fixed", "utt001")]


def test_regression_targets():
    records = [rec(k) for k in range(3)]
    ds = pipeline.make_dataset(records, extractors={"hsf": Fixed()}, targets=("valence",), batch_size=3)
    assert ds.element_spec[1].dtype == tf.float32
    ((_, y),) = batches(ds)
    np.testing.assert_allclose(y, [0.0, 0.1, 0.2], atol=1e-7)
    ds = pipeline.make_dataset(records, extractors={"hsf": Fixed()}, targets=("valence", "arousal"), batch_size=3)
    ((_, y),) = batches(ds)
    assert set(y) == {"valence", "arousal"}
    np.testing.assert_allclose(y["arousal"], [0.0, -0.1, -0.2], atol=1e-7)
    with pytest.raises(ValueError, match="utt009.*dominance"):
        pipeline.make_dataset([rec(9)], extractors={"hsf": Fixed()}, targets=("dominance",))


def test_chunking_counts_and_content():
    records = [rec(0, n=5), rec(1, n=12), rec(2, n=30)]
    table = pipeline.compute_features(records, {"seq": Frames()})
    chunks = pipeline.chunk_table(table, length=10, overlap=4)  # hop 6
    # 5 frames: too short, dropped; 12: one window (0..10); 30: windows at 0, 6, 12, 18
    np.testing.assert_array_equal(chunks.utterance_index, [1, 2, 2, 2, 2])
    assert chunks.report.skipped == {"shorter than chunk length 10": 1}
    np.testing.assert_array_equal(chunks.features["seq"][2][:, 0], 200 + np.arange(7, 17))
    tail = pipeline.chunk_table(table, length=10, overlap=4, keep_tail=True, drop_short=False)
    np.testing.assert_array_equal(tail.utterance_index, [0, 1, 1, 2, 2, 2, 2, 2])
    np.testing.assert_array_equal(tail.features["seq"][0][5:], 0)  # short one zero-padded
    np.testing.assert_array_equal(tail.features["seq"][2][:, 0], 100 + np.arange(3, 13))  # end-aligned
    ds = pipeline.make_dataset(table, LABELS, batch_size=8, chunking=(10, 4))
    ((inputs, y),) = batches(ds)
    assert ds.element_spec[0]["seq"].shape.as_list() == [None, 10, 2] and inputs["seq"].shape == (5, 10, 2)


def test_average_chunk_posteriors_by_hand():
    posteriors = [[0.8, 0.2], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7], [0.2, 0.8]]
    out = pipeline.average_chunk_posteriors(posteriors, [0, 0, 2, 2, 2], n_utterances=4)
    np.testing.assert_allclose(out[0], [0.7, 0.3])
    np.testing.assert_allclose(out[2], [0.2, 0.8])
    assert np.isnan(out[1]).all() and np.isnan(out[3]).all()  # utterances without chunks
    assert pipeline.average_chunk_posteriors(np.zeros((0, 3)), []).shape == (0, 3)


def test_chunk_helpers_live_beside_the_chunker():
    """Model modules import them from zoo.features.spectral, which must not load the pipeline."""
    import subprocess
    import sys

    from zoo.features import spectral

    assert pipeline.average_chunk_posteriors is spectral.average_chunk_posteriors  # re-exported
    code = "import sys, zoo.features.spectral; print('zoo.pipeline' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_class_weights_and_sample_weights():
    labels = ["angry", "angry", "angry", "sad"]
    w = pipeline.class_weights(labels, ("angry", "sad"))
    assert w == pytest.approx({0: 4 / (2 * 3), 1: 4 / (2 * 1)})
    assert pipeline.class_weights([0, 0, 0, 1], ("angry", "sad")) == pytest.approx(w)
    with pytest.raises(ValueError, match="happy"):
        pipeline.class_weights(labels, ("angry", "happy", "sad"))
    records = [rec(k, label=lbl) for k, lbl in enumerate(labels)]
    ds = pipeline.make_dataset(records, ("angry", "sad"), extractors={"hsf": Fixed()}, batch_size=4,
                               sample_weights="balanced")
    ((_, y, sw),) = batches(ds)
    np.testing.assert_allclose(sw, [2 / 3, 2 / 3, 2 / 3, 2.0], rtol=1e-6)


def test_fold_datasets_and_select_counts_missing():
    records = [rec(k, label=LABELS[k % 4]) for k in range(6)]
    table = pipeline.compute_features(records[:5], {"hsf": Fixed()})  # utt005 never computed
    fold = Fold("f", np.array([0, 1, 2]), np.array([], dtype=np.int64), np.array([3, 4, 5]), tuple(records))
    out = pipeline.fold_datasets(fold, table, LABELS, batch_size=8)
    assert out["validation"] is None
    assert sorted(order(out["train"])) == [0, 1, 2]
    assert order(out["test"]) == [3, 4]
    assert out["tables"]["test"].report.skipped == {"not in feature table (skipped when computed)": 1}
    assert order(out["train_by_epoch"](0)) == order(out["train_by_epoch"](0))


def test_chunked_per_utterance_sample_weights_follow_chunks():
    table = pipeline.compute_features([rec(0, n=5), rec(1, n=12), rec(2, n=30)], {"seq": Frames()})
    ds = pipeline.make_dataset(table, LABELS, batch_size=8, chunking=(10, 4), sample_weights=[7.0, 8.0, 9.0])
    ((_, _, sw),) = batches(ds)
    np.testing.assert_array_equal(sw, [8, 9, 9, 9, 9])  # utt000 dropped as too short


def test_keras_fit_and_masking_ignore_padding():
    import keras

    records = [rec(k, n=2 + k, label=LABELS[k % 4]) for k in range(6)]
    table = pipeline.compute_features(records, {"seq": Frames(), "hsf": Fixed()})
    seq, hsf = keras.Input((None, 2), name="seq"), keras.Input((4,), name="hsf")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Masking(0.0)(seq))
    pool = keras.Model({"seq": seq, "hsf": hsf}, pooled)
    inputs, _ = next(iter(pipeline.make_dataset(table, LABELS, batch_size=6)))
    # the masked mean over real frames only: mean(100k + 1 .. 100k + n) with n = 2 + k
    expected = np.array([100 * k + (3 + k) / 2 for k in range(6)])
    np.testing.assert_allclose(pool(inputs).numpy()[:, 0], expected, rtol=1e-6)
    probs = keras.layers.Dense(4, activation="softmax")(keras.layers.Concatenate()([pooled, hsf]))
    model = keras.Model({"seq": seq, "hsf": hsf}, probs)
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(pipeline.make_dataset(table, LABELS, batch_size=3, shuffle=True, seed=0),
                        epochs=1, verbose=0, class_weight=pipeline.class_weights(table, LABELS))
    assert np.isfinite(history.history["loss"][0])


def seq_value_table(n=60, seed=0):
    """Frames of random lengths 3..80 and token ids of independent random lengths 1..30."""
    rng = np.random.default_rng(seed)
    records = [rec(k, n=int(rng.integers(3, 81)), tokens=int(rng.integers(1, 31)), label=LABELS[k % 4])
               for k in range(n)]
    return pipeline.compute_features(records, {"seq": Frames(), "text": Tokens()}, workers=1)


def check_exact_rows(inputs, table):
    """Every row is its record's features followed by zeros only (masks follow)."""
    by_k = {r.extra["k"]: i for i, r in enumerate(table.records)}
    for row in range(inputs["seq"].shape[0]):
        i = by_k[int(inputs["seq"][row, 0, 0]) // 100]
        for name in ("seq", "text"):
            x, n = table.features[name][i], table.features[name][i].shape[0]
            np.testing.assert_array_equal(inputs[name][row, :n], x)
            assert not inputs[name][row, n:].any()


def test_one_padded_shape_per_bucket():
    table = seq_value_table()
    plain = pipeline.make_dataset(table, LABELS, batch_size=4, shuffle=True, seed=0)
    assert len(pipeline.distinct_shapes(plain)) > 5  # batch-max padding: a new shape almost every batch
    for count in (2, 4):
        got = batches(pipeline.make_dataset(table, LABELS, batch_size=4, shuffle=True, seed=0, bucket_count=count,
                                            drop_remainder=True))
        assert 2 <= len(pipeline.distinct_shapes(got, with_batch=True)) <= count and len(got) >= 60 // 4 - count
        for inputs, _ in got:
            check_exact_rows(inputs, table)
    # one bucket: everything padded to the longest row of each input, also the last partial batch
    ((shape, n),) = pipeline.distinct_shapes(pipeline.make_dataset(table, LABELS, batch_size=7, bucket_count=1)).items()
    assert dict(shape) == {"seq": (table.lengths("seq").max(), 2), "text": (table.lengths("text").max(),)}
    assert n == 9


def test_bucket_lengths_by_hand():
    lengths = {"seq": np.array([3, 12, 5, 20, 11]), "text": np.array([9, 2, 1, 4, 7])}
    by_bucket = pipeline.bucket_lengths(lengths, "seq", [10, 15])  # buckets [..10) [10..15) [15..)
    np.testing.assert_array_equal(by_bucket["seq"], [5, 12, 20])
    np.testing.assert_array_equal(by_bucket["text"], [9, 7, 4])
    ordered = pipeline.bucket_lengths(lengths, "seq", [10, 15], keep_order=True)
    np.testing.assert_array_equal(ordered["text"], [9, 9, 9])  # a batch may mix shorter buckets' rows


def test_ordered_batch_lengths_by_hand():
    lengths = {"seq": np.array([3, 50, 4, 5, 6, 7, 60, 2, 9]), "text": np.array([1, 2, 30, 4, 5, 6, 7, 8, 9])}
    # batches of 2 in order: seq maxima 50, 5, 7, 60, 9; text maxima 2, 30, 6, 8, 9.
    # Two levels: the median and the largest batch maximum, 9 and 60.
    two = pipeline.ordered_batch_lengths(lengths, "seq", 2, batch_size=2)
    np.testing.assert_array_equal(two["seq"], [60, 9, 9, 60, 9])
    np.testing.assert_array_equal(two["text"], [8, 30, 30, 8, 30])  # longest text of the level's batches
    five = pipeline.ordered_batch_lengths(lengths, "seq", 5, batch_size=2)
    np.testing.assert_array_equal(five["seq"], [50, 5, 7, 60, 9])  # a level per batch: its own maximum
    one = pipeline.ordered_batch_lengths(lengths, "seq", 1, batch_size=4, drop_remainder=True)
    np.testing.assert_array_equal(one["seq"], [60, 60])
    np.testing.assert_array_equal(one["text"], [30, 30])


def test_tf_function_traces_once_per_bucket():
    table = seq_value_table()

    def traces(ds):
        traced = []

        @tf.function  # retraces for every new input shape (no reduce_retracing)
        def step(inputs):
            traced.append(1)
            return tf.reduce_sum(inputs["seq"]) + tf.cast(tf.reduce_sum(inputs["text"]), tf.float32)

        for inputs, _ in ds:
            step(inputs)
        assert len(traced) == len(pipeline.distinct_shapes(ds, with_batch=True))
        return len(traced)

    options = dict(batch_size=8, shuffle=True, seed=0, drop_remainder=True)
    assert traces(pipeline.make_dataset(table, LABELS, bucket_count=3, **options)) <= 3
    assert traces(pipeline.make_dataset(table, LABELS, **options)) > 3  # batch-max padding


def test_bucket_count_validation_and_text_bucketing():
    table = seq_value_table(20)
    with pytest.raises(ValueError, match="bucket_count"):
        pipeline.make_dataset(table, LABELS, bucket_boundaries=[10, 20], bucket_count=3)
    with pytest.raises(ValueError, match="bucket_count"):
        pipeline.make_dataset(table, LABELS, bucket_count=0)
    with pytest.raises(ValueError, match="pad_to"):
        pipeline.make_dataset(table, LABELS, bucket_count=2, bucket_by="seq", pad_to={"seq": 80})
    # int token ids bucket like frames: grouped by token count, zero padded to the bucket
    ds = pipeline.make_dataset(table, LABELS, batch_size=4, bucket_boundaries=[10, 20], bucket_by="text")
    widths = {}
    for inputs, _ in batches(ds):
        n_tokens = (inputs["text"] != 0).sum(axis=1)
        bucket = int(np.searchsorted([10, 20], n_tokens.max(), side="right"))
        assert (np.searchsorted([10, 20], n_tokens, side="right") == bucket).all()
        widths.setdefault(bucket, set()).add(inputs["text"].shape[1])
        check_exact_rows(inputs, table)
    assert all(len(w) == 1 for w in widths.values()) and len(widths) == 3


def test_dser_word_ids_bucket_unless_padded_to_max_length():
    from zoo.features.text import Vocabulary, WordIds

    texts = ["a b c", "a", "b c d e f g h", "c d", "e f g h i j k l m n", "a b"] * 3
    records = [Record(utterance_id=f"t{i}", corpus="toy", label=LABELS[i % 4], transcript=t)
               for i, t in enumerate(texts)]
    vocab = Vocabulary.build(texts)
    table = pipeline.compute_features(records, {"text": WordIds(vocab, max_length=554)})
    ds = pipeline.make_dataset(table, LABELS, batch_size=3, bucket_count=3, bucket_by="text")
    shapes = pipeline.distinct_shapes(ds)
    assert 1 < len(shapes) <= 3 and max(s[0][1][0] for s in shapes) == 10  # the longest transcript
    for inputs, _ in batches(ds):
        for row in inputs["text"]:
            n = int((row != 0).sum())
            assert n and not row[n:].any()  # ids first, zeros after
    padded = pipeline.compute_features(records, {"text": WordIds(vocab, max_length=554, pad_to_max_length=True)})
    with pytest.raises(ValueError, match="not a variable-length input"):
        pipeline.make_dataset(padded, LABELS, bucket_boundaries="auto", bucket_by="text")


def test_fold_prediction_keeps_order_and_training_boundaries():
    import keras

    table = seq_value_table(48, seed=1)
    records = table.records
    fold = Fold("f", np.arange(32), np.array([], dtype=np.int64), np.arange(32, 48), tuple(records))
    out = pipeline.fold_datasets(fold, table, LABELS, batch_size=4, bucket_boundaries="auto", bucket_count=3)
    train_shapes = pipeline.distinct_shapes(out["train"])
    test_shapes = pipeline.distinct_shapes(out["test"])
    assert len(train_shapes) <= 3 and len(test_shapes) <= 3
    stream = tf.data.Dataset.range(0, 2).flat_map(out["train_by_epoch"])  # as zoo.train.fit streams epochs
    assert set(pipeline.distinct_shapes(stream)) == set(train_shapes)
    # test batches in fold order, each padded to the smallest of at most 3 levels that holds it
    test_table = out["tables"]["test"]
    got = batches(out["test"])
    widths = [inputs["seq"].shape[1] for inputs, _ in got]
    assert len(set(widths)) <= len(pipeline._auto_boundaries(out["tables"]["train"].lengths("seq"), 4, n_buckets=3)) + 1
    seen = []
    for (inputs, _), width in zip(got, widths):
        check_exact_rows(inputs, table)
        longest = np.any(inputs["seq"] != 0, axis=-1).sum(axis=1).max()
        assert width == min(w for w in widths if w >= longest)
        seen.extend((inputs["seq"][:, 0, 0] // 100).astype(int).tolist())
    assert seen == [r.extra["k"] for r in test_table.records]
    # Keras predictions on these batches equal those on batch-max padding (masks follow the zeros)
    seq = keras.Input((None, 2), name="seq")
    text = keras.Input((None,), name="text", dtype="int32")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Masking(0.0)(seq))
    words = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(32, 3, mask_zero=True)(text))
    model = keras.Model({"seq": seq, "text": text}, keras.layers.Concatenate()([pooled, words]))
    bucketed = model.predict(out["test"], verbose=0)
    plain = model.predict(pipeline.make_dataset(test_table, LABELS, batch_size=4), verbose=0)
    np.testing.assert_allclose(bucketed, plain, rtol=1e-6)
    assert model.predict_function.experimental_get_tracing_count() <= 3


# ----------------------------------------------------------------------------- true lengths


class SilentFrames(Frames):
    """Frames whose middle frame is digital silence: all zero, like chroma of a zero-padded clip."""

    def extract(self, record):
        x = super().extract(record)
        x[len(x) // 2] = 0.0
        return x


def test_lengths_are_the_true_steps_whatever_the_padding():
    """``<name>_length`` = steps before padding (batch max, pad_to, buckets), after truncate; an
    all-zero frame inside the utterance counts (a zero-content mask would not count it)."""
    records = [rec(k, n=2 + 3 * k, tokens=1 + k, label=LABELS[k % 4]) for k in range(6)]
    table = pipeline.compute_features(records, {"seq": SilentFrames(), "text": Tokens(), "hsf": Fixed()})
    true = np.array([2 + 3 * k for k in range(6)])
    for options in ({}, {"pad_to": {"seq": 20}}, {"bucket_count": 3}, {"bucket_count": 3, "keep_order": True}):
        ds = pipeline.make_dataset(table, LABELS, batch_size=4, lengths=["seq"], **options)
        spec = ds.element_spec[0]
        assert set(spec) == {"seq", "text", "hsf", "seq_length"}
        assert spec["seq_length"].dtype == tf.int32 and spec["seq_length"].shape.as_list() == [None]
        for inputs, _ in batches(ds):
            rows = inputs["seq"][:, 0, 0].astype(int) // 100  # the record number k
            np.testing.assert_array_equal(inputs["seq_length"], true[rows], err_msg=str(options))
            assert (np.any(inputs["seq"] != 0, -1).sum(1) < inputs["seq_length"]).all()  # the silent frame
    cut = batches(pipeline.make_dataset(table, LABELS, batch_size=6, lengths=True, truncate={"seq": 7}))
    ((inputs, _),) = cut
    np.testing.assert_array_equal(inputs["seq_length"], np.minimum(true, 7))
    np.testing.assert_array_equal(inputs["text_length"], np.arange(1, 7))
    assert set(batches(pipeline.make_dataset(table, LABELS, batch_size=6))[0][0]) == {"seq", "text", "hsf"}
    with pytest.raises(ValueError, match=r"\[.hsf.\]: fixed-shape"):
        pipeline.make_dataset(table, LABELS, lengths=["hsf"])
    with pytest.raises(ValueError, match=r"\[.nope.\], not inputs of the table"):
        pipeline.make_dataset(table, LABELS, lengths=["nope"])


def test_lengths_of_chunks_and_of_fold_datasets():
    records = [rec(0, n=5), rec(1, n=12), rec(2, n=30)]
    table = pipeline.compute_features(records, {"seq": Frames()})
    ((inputs, _),) = batches(pipeline.make_dataset(table, LABELS, batch_size=16, lengths=True,
                                                   chunking=(10, 4, False)))
    np.testing.assert_array_equal(inputs["seq_length"], [5, 10, 10, 10, 10, 10])  # the short one padded
    fold = Fold("f", np.array([0, 1]), np.array([], dtype=np.int64), np.array([2]), tuple(records))
    parts = pipeline.fold_datasets(fold, table, LABELS, batch_size=2, lengths=["seq"], bucket_count=2)
    for part, expected in (("train", {5, 12}), ("test", {30})):
        got = {int(v) for inputs, _ in batches(parts[part]) for v in inputs["seq_length"]}
        assert got == expected, part


def test_length_inputs_of_model_input_names_and_the_suffix_of_the_models():
    from zoo.layers import LENGTH_SUFFIX

    assert pipeline.LENGTH_SUFFIX == LENGTH_SUFFIX
    assert pipeline.length_inputs(["mel", "text", "mel_length"]) == (["mel", "text"], ["mel"])
    assert pipeline.length_inputs(["fbank"]) == (["fbank"], [])
