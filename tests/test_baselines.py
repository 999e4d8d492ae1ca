"""Classic baselines: speaker-grouped grid search on training data only, posteriors, registry."""
import numpy as np
import pytest
import soundfile as sf

from tests import shared_data
from zoo import baselines, features, metrics
from zoo.baselines import BASELINES, RecordField, SvmHSF, TfidfLR
from zoo.data import protocols
from zoo.data.records import Record
from zoo.recipe import FeatureSpec

CLASSES = ("angry", "happy", "sad", "neutral")
SMALL_GRID = {"svc__C": (1.0, 10.0), "svc__gamma": (0.01, 0.1)}


def blobs(n_speakers=8, per_class=5, dim=68, spread=0.5, seed=0, classes=CLASSES):
    """Separable Gaussian blobs (one centre per class), each speaker with its own offset."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, (len(classes), dim))
    X, y, g = [], [], []
    for s in range(n_speakers):
        offset = rng.normal(0.0, 0.3, dim)
        for c, name in enumerate(classes):
            X.append(centres[c] + offset + rng.normal(0.0, spread, (per_class, dim)))
            y += [name] * per_class
            g += [f"spk{s}"] * per_class
    return np.concatenate(X), np.asarray(y), np.asarray(g)


def split_by_speaker(g, test_speakers):
    test = np.isin(g, test_speakers)
    return ~test, test


# ----------------------------------------------------------------------------- registry

def test_registry_states_inputs_and_captions_as_data():
    assert set(BASELINES) == {"svm_hsf", "svm_hsf_sn", "tfidf_lr"}
    assert BASELINES["svm_hsf"].features == BASELINES["svm_hsf_sn"].features == {"hsf": FeatureSpec("paa_hsf")}
    assert BASELINES["tfidf_lr"].features == {"text": RecordField("transcript")}
    for name, cls in BASELINES.items():
        assert cls.name == name and len(cls.description) > 20
        assert isinstance(baselines.get(name), cls)
    assert baselines.get("svm_hsf", class_weight=None).class_weight is None
    with pytest.raises(ValueError, match="unknown baseline 'svm'"):
        baselines.get("svm")


# ----------------------------------------------------------------------------- svm_hsf

def test_svm_beats_chance_on_held_out_speakers_of_a_separable_problem():
    X, y, g = blobs()
    train, test = split_by_speaker(g, ["spk6", "spk7"])
    model = SvmHSF(seed=0).fit(X[train], y[train], g[train], classes=CLASSES)
    assert metrics.mean_class_recall(y[test], model.predict(X[test])) > 0.9  # chance is 0.25
    assert set(model.best_params_) == {"svc__C", "svc__gamma", "svc__class_weight"}
    assert model.best_params_["svc__class_weight"] == "balanced"


def test_posteriors_follow_the_given_class_order_and_sum_to_one():
    X, y, g = blobs(classes=("angry", "happy", "sad"))
    train, test = split_by_speaker(g, ["spk7"])
    order = ("sad", "neutral", "angry", "happy")  # not sorted; "neutral" never seen in training
    model = SvmHSF(param_grid=SMALL_GRID).fit(X[train], y[train], g[train], classes=order)
    proba = model.predict_proba(X[test])
    assert proba.shape == (test.sum(), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (proba >= 0).all() and (proba[:, 1] == 0).all()
    assert list(model.classes_) == list(order)
    np.testing.assert_array_equal(model.predict(X[test]), np.asarray(order)[proba.argmax(axis=1)])
    # columns are the classes named: the "sad" column is highest on sad utterances
    assert (proba[y[test] == "sad"].argmax(axis=1) == 0).mean() > 0.9


def test_grid_search_splits_training_speakers_only_and_never_one_speaker_across_parts():
    X, y, g = blobs(n_speakers=10, per_class=3)
    train, test = split_by_speaker(g, ["spk0", "spk5"])
    model = SvmHSF(param_grid=SMALL_GRID, cv=4).fit(X[train], y[train], g[train])
    assert model.cv_groups_ == sorted(set(g[train]))
    assert not set(model.cv_groups_) & {"spk0", "spk5"}
    assert len(model.cv_splits_) == 4
    g_train = g[train]
    for inner_train, inner_val in model.cv_splits_:
        assert max(inner_train.max(), inner_val.max()) < train.sum()
        assert not set(g_train[inner_train]) & set(g_train[inner_val])  # grouped, not KFold
    assert len(model.cv_results_["params"]) == 4  # 2 C x 2 gamma x 1 class_weight


def test_folds_of_a_protocol_keep_test_speakers_out_of_the_search():
    X, y, g = blobs(n_speakers=6, per_class=3)
    records = [Record(utterance_id=f"u{i}", corpus="toy", speaker=s, session=s, label=lbl)
               for i, (s, lbl) in enumerate(zip(g, y))]
    for fold in protocols.speaker_kfold(records, k=3, seed=0):
        model = SvmHSF(param_grid=SMALL_GRID, cv=2).fit(
            X[fold.train], y[fold.train], [r.speaker for r in fold.train_records])
        assert set(model.cv_groups_) == fold.speakers("train")
        assert not set(model.cv_groups_) & fold.speakers("test")


def test_test_speakers_with_their_own_signal_are_not_learned():
    """Training speakers: happy at (6, 0, 0), sad at (0, 0, 0). Test speakers: happy at
    (0, 4, 0), sad at (6, 0, 4), i.e. nearer the OTHER class of the training speakers.

    A model that never saw the test speakers gets them (almost) all wrong; the same baseline
    fitted with them included separates the four clusters (so the test tells the two apart).
    """
    rng = np.random.default_rng(1)
    n, speakers = 30, [f"s{i}" for i in range(8)]
    X, y, g = [], [], []
    for k, spk in enumerate(speakers):
        labels = rng.integers(0, 2, n)
        x = rng.normal(0.0, 1.0, (n, 4))
        if k < 6:
            x[:, 0] += 6.0 * labels
        else:
            x[:, 0] += 6.0 * (1 - labels)
            x[:, 1] += 4.0 * labels
            x[:, 2] += 4.0 * (1 - labels)
        X.append(x)
        y.append(np.where(labels == 1, "happy", "sad"))
        g += [spk] * n
    X, y, g = np.concatenate(X), np.concatenate(y), np.asarray(g)
    train, test = split_by_speaker(g, ["s6", "s7"])
    model = SvmHSF(param_grid=SMALL_GRID).fit(X[train], y[train], g[train])
    assert metrics.mean_class_recall(y[train], model.predict(X[train])) > 0.95
    assert metrics.mean_class_recall(y[test], model.predict(X[test])) < 0.2  # chance 0.5; 0.09 measured
    leaky = SvmHSF(param_grid=SMALL_GRID).fit(X, y, g)
    assert metrics.mean_class_recall(y[test], leaky.predict(X[test])) > 0.8  # 0.95 measured
    # predicting is per row: the batch it comes in (e.g. only the shifted test speakers) changes nothing
    one_by_one = np.concatenate([model.predict_proba(X[test][i:i + 1]) for i in range(8)])
    np.testing.assert_allclose(one_by_one, model.predict_proba(X[test])[:8], rtol=1e-12, atol=1e-12)


def test_same_seed_same_model():
    X, y, g = blobs(spread=3.0, seed=3)  # overlapping classes: the grid search matters
    train, test = split_by_speaker(g, ["spk7"])
    options = dict(seed=5, param_grid=SMALL_GRID, class_weight=[None, "balanced"])
    a = SvmHSF(**options).fit(X[train], y[train], g[train])
    b = SvmHSF(**options).fit(X[train], y[train], g[train])
    assert len(a.cv_results_["params"]) == 8  # the class_weight candidates are searched too
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.predict_proba(X[test]), b.predict_proba(X[test]))
    assert [list(v) for _, v in a.cv_splits_] == [list(v) for _, v in b.cv_splits_]


def test_bad_training_input_is_named():
    X, y, g = blobs(n_speakers=3, per_class=2)
    model = SvmHSF(param_grid=SMALL_GRID, cv=2)
    with pytest.raises(ValueError, match="1 training group"):
        model.fit(X, y, ["one"] * len(y))
    with pytest.raises(ValueError, match=r"training labels \['neutral'\] are not in classes"):
        model.fit(X, y, g, classes=("angry", "happy", "sad"))
    with pytest.raises(ValueError, match="inputs, .* labels and"):
        model.fit(X[:-1], y, g)
    bad = X.copy()
    bad[4, 7] = np.nan
    with pytest.raises(ValueError, match="NaN/inf .*row 4"):
        model.fit(bad, y, g)
    with pytest.raises(ValueError, match="repeat a label"):
        model.fit(X, y, g, classes=CLASSES + ("sad",))
    one_speaker_sad = (g != "spk0") & (y == "sad")  # sad only from spk0: an inner split has no sad
    with pytest.raises(ValueError, match=r"leaves class\(es\) \['sad'\] out .*\['spk0'\]"):
        model.fit(X[~one_speaker_sad], y[~one_speaker_sad], g[~one_speaker_sad])
    with pytest.raises(RuntimeError, match="call fit"):
        SvmHSF().predict_proba(X)


def test_svm_inputs_are_the_paa_hsf_of_each_record(tmp_path):
    sr = 16000
    t = np.arange(int(0.3 * sr)) / sr
    records = []
    for i, f0 in enumerate((220.0, 440.0)):
        path = tmp_path / f"u{i}.wav"
        sf.write(str(path), 0.3 * np.sin(2 * np.pi * f0 * t), sr, subtype="PCM_16")
        records.append(Record(utterance_id=f"u{i}", corpus="toy", audio_path=str(path), sample_rate=sr))
    X = SvmHSF.inputs(records)
    assert X.shape == (2, 68) and X.dtype == np.float32
    np.testing.assert_allclose(X[1], features.get("paa_hsf")(records[1]), rtol=1e-6)
    assert not np.allclose(X[0], X[1])


def test_svm_hsf_sn_standardises_each_speakers_hsf_by_its_own_statistics(tmp_path):
    """Two speakers, one an octave higher: after speaker normalisation each speaker's HSF vectors
    have mean 0 per dimension, and the pitch range no longer separates them."""
    from zoo.baselines import SvmHSFSpeakerNorm

    sr = 16000
    t = np.arange(int(0.4 * sr)) / sr
    records = []
    for speaker, octave in (("s1", 1.0), ("s2", 2.0)):
        for i, f0 in enumerate((180.0, 200.0, 220.0)):
            path = tmp_path / f"{speaker}-{i}.wav"
            x = 0.2 * np.sin(2 * np.pi * octave * f0 * t) * (1 + 0.3 * np.sin(9 * t))
            sf.write(str(path), x, sr, subtype="FLOAT")
            records.append(Record(utterance_id=f"{speaker}-{i}", corpus="toy", audio_path=str(path),
                                  sample_rate=sr, speaker=speaker))
    plain, normed = SvmHSF.inputs(records), SvmHSFSpeakerNorm.inputs(records)
    for rows in (slice(0, 3), slice(3, 6)):
        np.testing.assert_allclose(normed[rows].mean(axis=0), 0, atol=1e-4)
    zcr = 0  # column of the zero-crossing rate mean (twice the crossings an octave up)
    assert plain[3:, zcr].min() > plain[:3, zcr].max()  # the raw HSF tell the speakers apart
    assert not (normed[3:, zcr].min() > normed[:3, zcr].max())
    assert SvmHSFSpeakerNorm.inputs(records[:3]) == pytest.approx(normed[:3], abs=1e-5)  # per speaker, not global
    with pytest.raises(ValueError, match="needs speakers"):
        SvmHSFSpeakerNorm.inputs([Record(utterance_id="x", corpus="toy", audio_path=records[0].audio_path,
                                         sample_rate=sr)])


# ----------------------------------------------------------------------------- tfidf_lr

WORDS = {"happy": "great wonderful love fun", "sad": "sorry miss cry alone", "angry": "hate shut stupid damn"}


def toy_texts(seed=0, n_speakers=6, per_class=6):
    rng = np.random.default_rng(seed)
    filler = "the a you i it is so oh well yeah".split()
    records = []
    for s in range(n_speakers):
        for label, cue in WORDS.items():
            for k in range(per_class):
                words = list(rng.choice(filler, 5)) + list(rng.choice(cue.split(), 2))
                rng.shuffle(words)
                records.append(Record(utterance_id=f"{s}-{label}-{k}", corpus="toy", speaker=f"spk{s}",
                                      label=label, transcript=" ".join(words)))
    return records


def test_tfidf_lr_learns_cue_words_of_held_out_speakers():
    records = toy_texts()
    train = [r for r in records if r.speaker != "spk5"]
    test = [r.replace(transcript=r.transcript + " zebra") for r in records if r.speaker == "spk5"]
    model = TfidfLR(seed=0)
    model.fit(model.inputs(train), [r.label for r in train], [r.speaker for r in train])
    proba = model.predict_proba(model.inputs(test))
    assert proba.shape == (len(test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert metrics.mean_class_recall([r.label for r in test], model.predict(model.inputs(test))) > 0.9
    assert model.cv_groups_ == [f"spk{s}" for s in range(5)]
    assert set(model.best_params_) == {"lr__C", "lr__class_weight"}
    # the vocabulary is the training text's: predicting on test text refits nothing
    vocab = model.model_.named_steps["tfidf"].vocabulary_
    assert "great" in vocab and not any("zebra" in term for term in vocab)
    again = TfidfLR(seed=0).fit(model.inputs(train), [r.label for r in train], [r.speaker for r in train])
    np.testing.assert_array_equal(again.predict_proba(model.inputs(test)), proba)


def test_tfidf_inputs_need_transcripts():
    records = toy_texts(n_speakers=1, per_class=1) + [Record(utterance_id="x9", corpus="toy", label="sad")]
    with pytest.raises(ValueError, match="'x9' .* has no transcript"):
        TfidfLR.inputs(records)
    with pytest.raises(ValueError, match="sequence of strings"):
        TfidfLR().fit("not a list", ["sad"], ["a"])


# ----------------------------------------------------------------------------- real data

@pytest.mark.slow
@shared_data.needs("emodb")
def test_svm_hsf_on_emodb_four_classes_five_speaker_pairs():
    from zoo import data

    records, _ = data.load("manifest", shared_data.corpus("emodb"), classes=CLASSES)
    X = SvmHSF.inputs(records)
    y = np.asarray([r.label for r in records])
    g = np.asarray([r.speaker for r in records])
    speakers = sorted(set(g))
    assert len(speakers) == 10
    recalls = []
    for pair in (speakers[i:i + 2] for i in range(0, 10, 2)):
        train, test = split_by_speaker(g, pair)
        model = SvmHSF(seed=0).fit(X[train], y[train], g[train], classes=CLASSES)
        recalls.append(metrics.mean_class_recall(y[test], model.predict(X[test])))
    assert np.mean(recalls) > 0.5, recalls
