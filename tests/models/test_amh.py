"""zoo.amh (Yoon et al. 2020, AMH-N): parameter anchors by formula, hop wiring against numpy (Eq. 2-6),
masking, per-hop attention (also after a .keras round trip), the hop-count and modality variants,
a toy task, recipes and paper numbers. The generic contract is tests/models/test_harness.py's."""
import numpy as np
import pytest
import keras

from zoo import amh, registry
from zoo.layers import ModalityHop

TINY = dict(
    vocab_size=30,
    embedding_dim=6,
    gru_units={"audio": 5, "text": 4, "video": 3},
    feature_dims={"audio": 7, "video": 9},
)
# Hop query W, b of the full model (Eq. 2; GRU sizes of the authors' code): the other two summaries
# -> the target's size: video [A;T] 400->128, audio [T;V] 328->200, text [A;V] 328->200.
HOP = {"video": 400 * 128 + 128, "audio": 328 * 200 + 200, "text": 328 * 200 + 200}


def inputs(batch=2, seed=0, lengths=(5, 4, 3), dims=(7, 9), vocab=30):
    rng = np.random.default_rng(seed)
    audio = rng.normal(size=(batch, lengths[0], dims[0])).astype("float32")
    video = rng.normal(size=(batch, lengths[2], dims[1])).astype("float32")
    text = rng.integers(1, vocab, size=(batch, lengths[1])).astype("int32")
    audio[0, -2:] = 0  # utterance 0 is shorter in every modality
    video[0, -1:] = 0
    text[0, -1:] = 0
    # The true lengths (the masks of audio and video come from them; text masks id 0).
    true = {"audio_length": [lengths[0] - 2] + [lengths[0]] * (batch - 1),
            "video_length": [lengths[2] - 1] + [lengths[2]] * (batch - 1)}
    return {"audio": audio, "text": text, "video": video, **{k: np.asarray(v, "int32") for k, v in true.items()}}


def pad(x, extra):
    return {k: (v if k.endswith("_length") else
                np.concatenate([v, np.zeros((v.shape[0], extra) + v.shape[2:], v.dtype)], axis=1)) for k, v in x.items()}


@pytest.mark.parametrize("vocab", [100, 5000])
def test_parameter_anchor_hop7_tf1_gru(vocab):
    model = amh.build(hops=7, reset_after=False, vocab_size=vocab)
    assert model.count_params() == 1_750_055 + vocab * 300


def test_parameter_counts_follow_hops_and_reset_after():
    base = 1_750_055 + 100 * 300
    # AMH-1 keeps only the first (video) hop of the seven V, A, T, V, A, T, V.
    hops7 = 3 * HOP["video"] + 2 * HOP["audio"] + 2 * HOP["text"]
    assert amh.build(hops=1, vocab_size=100).count_params() == base - hops7 + HOP["video"]
    # reset_after=True: a second bias vector per gate, 3 x units per GRU.
    assert amh.build(reset_after=True, vocab_size=100).count_params() == base + 3 * (200 + 200 + 128)


def test_default_graph_names_shapes_and_new_weights_per_hop():
    model = amh.build(vocab_size=100)
    assert [t.name for t in model.inputs] == ["audio", "text", "video", "audio_length", "video_length"]
    assert [tuple(t.shape) for t in model.inputs] == [(None, None, 120), (None, None), (None, None, 2048), (None,), (None,)]
    assert [t.name for t in amh.build(vocab_size=100, lengths=False).inputs] == ["audio", "text", "video"]
    hops = amh.hop_layers(model)
    assert [h.name for h in hops] == ["hop1_video", "hop2_audio", "hop3_text", "hop4_video", "hop5_audio", "hop6_text", "hop7_video"]
    assert len({id(h.kernel) for h in hops}) == 7  # new weights at every hop
    assert model.get_layer("fusion").output.shape[-1] == 528 and model.output.shape[-1] == 7
    assert model.get_layer("text_embedding").output_dim == 300
    for name, rate in (("audio", 0.3), ("text", 0.7), ("video", 0.3)):  # code keep 0.7 / 0.3 / 0.7
        assert model.get_layer(f"{name}_dropout").rate == rate
    assert model.get_layer("audio_gru").cell.recurrent_initializer.__class__.__name__ == "Orthogonal"
    assert model.get_layer("audio_gru").cell.reset_after is False


def test_hop_targets_order_and_modality_subsets():
    assert amh.hop_targets(4) == ["video", "audio", "text", "video"]
    assert amh.hop_targets(3, "TA", ("audio", "text")) == ["text", "audio", "text"]
    assert amh.hop_targets(3, "VAT", ("audio", "text")) == ["audio", "text", "audio"]  # V skipped
    assert amh.hop_targets(2, ["text", "video"]) == ["text", "video"]
    with pytest.raises(ValueError, match="unknown modality"):
        amh.hop_targets(1, "VX")


@pytest.mark.parametrize("modalities", [("audio", "text"), ("text", "video"), ("audio", "video")])
def test_modality_ablations_concatenate_only_the_present_summaries(modalities):
    """Table 1 ablations: inputs in the canonical order, the output on concat of the present ones."""
    model = amh.build(modalities=modalities[::-1], hops=3, **TINY)
    assert [t.name for t in model.inputs] == list(modalities) + [f"{m}_length" for m in modalities if m != "text"]
    sizes = {"audio": 5, "text": 4, "video": 3}
    assert model.get_layer("fusion").output.shape[-1] == sum(sizes[m] for m in modalities)
    assert [h.name.split("_")[1] for h in amh.hop_layers(model)] == amh.hop_targets(3, "VAT", modalities)


def test_hop_variants_build_their_hop_count():
    """amh1..amh9 (Table 2) are AMH-N with N hops in the order V, A, T, V, ..."""
    for n in (1, 2, 3, 4, 5, 6, 8, 9):
        assert amh.SPEC.variants[f"amh{n}"].build_args == {"hops": n}
    model = amh.build(variant="amh3", **TINY)
    assert [h.name for h in amh.hop_layers(model)] == ["hop1_video", "hop2_audio", "hop3_text"]
    assert len(amh.hop_layers(amh.build(**TINY))) == 7  # the default is AMH-7


def test_include_top_false_and_hops_zero():
    model = amh.build(include_top=False, hops=0, **TINY)
    assert model.layers[-1].name == "fusion" and model.output.shape[-1] == 12
    assert not amh.hop_layers(model)



def test_audio_only_variant_is_the_audio_gru_last_valid_state_through_the_output_layer():
    """amh:audio_only (ours, for speech corpora): audio alone, no hops, the GRU's last VALID
    state -> Dense softmax; padding beyond the true length changes nothing."""
    variant = registry.get_variant("amh:audio_only")
    assert "ours" in variant.description and registry.paper_of("amh:audio_only") is None
    assert list(variant.recipe.features) == ["audio"]
    model = amh.build(variant="audio_only", **TINY)
    assert [t.name.split(":")[0] for t in model.inputs] == ["audio", "audio_length"]
    assert not amh.hop_layers(model) and model.output.shape[-1] == len(amh.LABELS)
    x = {k: v for k, v in inputs().items() if k.startswith("audio")}
    seq, last = keras.Model(model.inputs, model.get_layer("audio_gru").output).predict(x, verbose=0)
    np.testing.assert_allclose(last[0], seq[0, 2], rtol=1e-6)  # utterance 0 has 3 valid frames
    kernel, bias = model.get_layer("logits").get_weights()
    logits = last @ kernel + bias
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected / expected.sum(-1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(model.predict(pad(x, 4), verbose=0), model.predict(x, verbose=0), atol=1e-6)

def test_first_hop_and_last_valid_summaries_against_numpy():
    model = amh.build(hops=1, **TINY)
    names = ["audio_gru", "text_gru", "video_gru"]
    outputs = [t for n in names for t in model.get_layer(n).output] + list(model.get_layer("hop1_video").output)
    x = inputs()
    a_seq, a_last, t_seq, t_last, v_seq, v_last, hopped, weights = keras.Model(model.inputs, outputs).predict(x, verbose=0)
    # Summaries are the last VALID GRU state: utterance 0 has 3 audio frames, 3 tokens.
    np.testing.assert_allclose(a_last[0], a_seq[0, 2], rtol=1e-6)
    np.testing.assert_allclose(t_last[0], t_seq[0, 2], rtol=1e-6)
    np.testing.assert_allclose(a_last[1], a_seq[1, -1], rtol=1e-6)
    kernel, bias = model.get_layer("hop1_video").get_weights()
    for n, valid in ((0, 2), (1, 3)):  # video frames per utterance
        q = np.concatenate([a_last[n], t_last[n]]) @ kernel + bias  # C = [h_A; h_T] (Eq. 2)
        s = v_seq[n, :valid] @ q
        a = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        np.testing.assert_allclose(weights[n], np.r_[a, np.zeros(3 - valid)], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(hopped[n], (a[:, None] * v_seq[n, :valid]).sum(0), rtol=1e-5)
    # The output layer sees [A; T; H_1^V].
    fusion = keras.Model(model.inputs, model.get_layer("fusion").output).predict(x, verbose=0)
    np.testing.assert_allclose(fusion, np.concatenate([a_last, t_last, hopped], -1), rtol=1e-6)


def test_mean_summary_is_the_mean_of_the_valid_states_and_feeds_the_first_hop():
    """summary="mean" (ours): each starting summary is the mean of the VALID GRU states (not of
    the padded ones, not the last state); the first hop's query is built from those means."""
    model = amh.build(hops=1, summary="mean", **TINY)
    names = ["audio_gru", "text_gru", "video_gru"]
    outputs = ([model.get_layer(n).output[0] for n in names] + [model.get_layer(f"{m}_mean").output for m in ("audio", "text")]
               + [model.get_layer("hop1_video").output[0], model.get_layer("fusion").output])
    x = pad(inputs(), 3)
    a_seq, t_seq, v_seq, a_mean, t_mean, hopped, fusion = keras.Model(model.inputs, outputs).predict(x, verbose=0)
    np.testing.assert_allclose(a_mean[0], a_seq[0, :3].mean(0), rtol=1e-5, atol=1e-7)  # 3 valid audio frames
    np.testing.assert_allclose(t_mean[0], t_seq[0, :3].mean(0), rtol=1e-5, atol=1e-7)  # 3 valid tokens
    np.testing.assert_allclose(a_mean[1], a_seq[1, :5].mean(0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(a_mean[0], a_seq[0, 2], atol=1e-4)
    kernel, bias = model.get_layer("hop1_video").get_weights()
    q = np.concatenate([a_mean[1], t_mean[1]]) @ kernel + bias
    s = v_seq[1, :3] @ q
    a = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    np.testing.assert_allclose(hopped[1], (a[:, None] * v_seq[1, :3]).sum(0), rtol=1e-5)
    np.testing.assert_allclose(fusion[:, :9], np.concatenate([a_mean, t_mean], -1), rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(inputs(), verbose=0), atol=1e-6)
    assert amh.build(hops=1, **TINY).count_params() == model.count_params()  # pooling adds no weights
    with pytest.raises(ValueError, match="summary must be one of"):
        amh.build(summary="max", **TINY)


def test_padding_does_not_change_predictions_or_attention():
    model = amh.build(hops=7, **TINY)
    x = inputs()
    np.testing.assert_allclose(model.predict(pad(x, 5), verbose=0), model.predict(x, verbose=0), atol=1e-6)
    weights = amh.attention_model(model).predict(pad(x, 5), verbose=0)
    assert sorted(weights) == sorted(h.name for h in amh.hop_layers(model))
    assert weights["hop2_audio"].shape == (2, 10)
    assert np.all(weights["hop2_audio"][0, 3:] == 0) and np.all(weights["hop3_text"][0, 3:] == 0)
    for w in weights.values():
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def test_keras_round_trip_keeps_every_hop_attention(tmp_path):
    model = amh.build(hops=4, **TINY)
    x = inputs()
    path = tmp_path / "amh.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    before, after = (amh.attention_model(m).predict(x, verbose=0) for m in (model, loaded))
    assert sorted(after) == ["hop1_video", "hop2_audio", "hop3_text", "hop4_video"]
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])


def test_embedding_matrix_initialises_the_text_embedding():
    matrix = np.random.default_rng(3).normal(size=(12, 5)).astype("float32")
    model = amh.build(embedding_matrix=matrix, **{**TINY, "vocab_size": 999, "embedding_dim": 7})
    layer = model.get_layer("text_embedding")
    assert (layer.input_dim, layer.output_dim) == (12, 5)
    np.testing.assert_array_equal(layer.get_weights()[0], matrix)
    frozen = amh.build(embedding_matrix=matrix, embedding_trainable=False, **TINY)
    assert not frozen.get_layer("text_embedding").trainable_weights


def test_learns_a_separable_toy_task():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    small = dict(TINY, gru_units={"audio": 8, "text": 8, "video": 8}, input_dropout={"audio": 0.0, "text": 0.1, "video": 0.0})

    def data(n):
        y = rng.integers(0, 4, n)
        x = inputs(batch=n, seed=int(rng.integers(1 << 30)), lengths=(6, 5, 4))
        x["audio"] = 0.5 * x["audio"]
        x["audio"][:, :, :4] += 1.5 * np.eye(4)[y][:, None, :]
        x["video"] = 0.5 * x["video"]
        x["video"][:, :, :4] += 1.5 * np.eye(4)[y][:, None, :]
        x["text"][:, 0] = 20 + y
        return x, y

    model = amh.build(hops=3, classes=4, **small)
    model.compile(optimizer=keras.optimizers.Adam(1e-2, clipnorm=1.0), loss="sparse_categorical_crossentropy")
    x, y = data(96)
    model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    xt, yt = data(80)
    accuracy = (np.asarray(model(xt, training=False)).argmax(-1) == yt).mean()  # eager: no retrace
    assert accuracy > 0.75  # chance is 0.25


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one modality"):
        amh.build(modalities=(), **TINY)
    with pytest.raises(ValueError, match=r"one modality \(audio\) has no other to hop from: pass hops=0"):
        amh.build(modalities=("audio",), **TINY)
    with pytest.raises(ValueError, match="unknown modality"):
        amh.build(modalities=("audio", "smell"), **TINY)
    with pytest.raises(ValueError, match="hops"):
        amh.build(hops=-1, **TINY)
    with pytest.raises(ValueError, match="2-D"):
        amh.build(embedding_matrix=np.zeros(3), **TINY)
    with pytest.raises(FileNotFoundError, match="weights file"):
        amh.build(weights=str(tmp_path / "missing.weights.h5"), **TINY)


def test_recipe_and_paper():
    recipe = amh.RECIPE
    assert recipe.label_set == ("angry", "excited", "happy", "sad", "frustrated", "surprised", "neutral")
    assert recipe.optimizer_options == {"learning_rate": 1e-3, "clipnorm": 1.0}  # per tensor, not global
    assert {k: v.extractor for k, v in recipe.features.items()} == {"audio": "mfcc_deltas", "text": "word_ids", "video": "video_resnet"}
    assert recipe.features["text"].options["max_length"] == 128 and recipe.features["video"].options["fps"] == 3
    assert recipe.protocol == "amh_10fold" and recipe.batch_size == 128
    assert [name for name, _ in recipe.callbacks] == ["EarlyStopping"]
    assert amh.PAPER.reported == {"overall_accuracy": 0.617, "mean_class_recall": 0.547}
    assert "0.624" in amh.PAPER.metric_notes and "precision" in amh.PAPER.metric_notes
    assert set(amh.SPEC.variants) >= {"default", "audio_text", "text_video", "audio_video"}
    assert amh.SPEC.variants["audio_video"].build_args == {"modalities": ("audio", "video")}
    assert sorted(registry.recipe_of("amh:audio_video").features) == ["audio", "video"]
    assert registry.recipe_of("amh:amh3") == recipe == registry.recipe_of("amh")
    assert amh.SPEC.text_args == ("vocab_size", "embedding_matrix")  # filled from the training vocabulary
    # The corrected accuracies are AMH-7 on A+T+V only; Table 1's other rows and Table 2 are precision.
    assert registry.paper_of("amh") is amh.PAPER
    assert [v for v in amh.SPEC.variants if registry.paper_of(f"amh:{v}") is not None] == ["default"]
    assert isinstance(ModalityHop(), keras.layers.Layer)


def test_code_training_details_output_init_and_early_stopping():
    """The authors' code: output kernel U(-0.25, 0.25); stop on the dev accuracy, best epoch kept."""
    import keras

    from zoo import registry

    model = amh.build(**TINY)
    kernel = np.asarray(model.get_layer("logits").kernel)
    assert kernel.min() >= -0.25 and kernel.max() <= 0.25 and kernel.std() > 0.1  # U(-.25,.25): std 0.144
    glorot = amh.build(output_initializer="glorot_uniform", **TINY).get_layer("logits")
    assert isinstance(glorot.kernel_initializer, keras.initializers.GlorotUniform)
    (name, options), = registry.recipe_of("amh").callbacks
    assert name == "EarlyStopping" and options["monitor"] == "val_accuracy" and options["mode"] == "max"
    assert options["restore_best_weights"] is True


def test_paper_profile_video_needs_imagenet_weights_and_fails_at_once_offline(monkeypatch, tmp_path):
    """Sec. 4.2: a pre-trained ResNet-101. The paper profile asks for ImageNet weights; without the
    file and without a network, preparing the experiment stops before any fold, naming the file."""
    from zoo import backbones, experiment, profiles
    from zoo.data import synthetic

    monkeypatch.setattr(backbones, "keras_cache_dirs", lambda: [str(tmp_path / "models")])
    probes = []
    monkeypatch.setattr(backbones, "_can_reach", lambda url, timeout=None: probes.append(url) or False)
    assert profiles.get("paper").features["amh"]["video"] == {"weights": "imagenet"}
    root = tmp_path / "syn"
    synthetic.synthesize(root, seed=0, utterances=40)
    fname = "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(backbones.ImageNetWeightsUnavailable, match=rf"feature 'video' \(video_resnet\).*{fname}"):
        experiment.prepare("amh", corpus="synthetic", root=str(root), profile="paper")
    assert probes and probes[-1].endswith(fname)
    names = ["audio", "text", "video", "audio_length", "video_length"]
    experiment.check_pretrained_features(amh.RECIPE, names, {})  # untrained network (smoke, real): no file
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / fname).write_bytes(b"cached")
    experiment.check_pretrained_features(amh.RECIPE, names, {"video": {"weights": "imagenet"}})  # cached: fine
