"""Every loader through ``zoo.data.load(name, root, classes=..., strict=...)`` on its fixture."""
import inspect
from collections import Counter

import pytest

from zoo import data
from zoo.data.records import CorpusError

from . import fixtures
from .test_meld import row, write_meld


def make_meld(folder):
    """Three utterances and one row with an unknown emotion (a counted fault)."""
    return write_meld(folder / "meld", [row(1, "Hi.", "Ross", "anger", 0, 0), row(2, "Oh.", "Monica", "sadness", 0, 1),
                                        row(3, "Yes!", "Joey", "joy", 1, 0), row(4, "Hm.", "Joey", "smug", 1, 1)])

def make_ravdess_fer(folder):
    """4 actors x 2 takes of 6 emotions paired with faces, written as the paired SIER CSV."""
    from zoo.data import ravdess_fer

    from .test_ravdess_fer import make_corpora

    ravdess, faces = make_corpora(folder)
    return ravdess_fer.write_csv(ravdess_fer.build(ravdess, faces).records, folder / "paired" / "ravdess_fer.csv")


# corpus -> (fixture, extra options, classes, expected labels, does the fixture hold faults?)
CASES = {
    "iemocap": (fixtures.make_iemocap, {}, "4", {"angry": 2, "happy": 3, "sad": 1, "neutral": 2}, False),
    "ravdess": (fixtures.make_ravdess, {}, ["angry", "neutral"], {"angry": 1, "neutral": 1}, True),
    "emodb": (fixtures.make_emodb, {}, ["sad", "angry"], {"sad": 1, "angry": 1}, True),
    "cremad": (fixtures.make_cremad, {}, ["sad", "angry"], {"angry": 1, "sad": 1}, True),
    "msp_improv": (fixtures.make_msp_improv, {}, "4", {"angry": 1, "happy": 1, "neutral": 1}, True),
    "msp_podcast": (fixtures.make_msp_podcast, {}, ["angry", "contempt"], {"angry": 1, "contempt": 1}, True),
    "sier": (fixtures.make_sier, {}, ["angry"], {"angry": 2}, False),
    "meld": (make_meld, {}, ["sad", "angry"], {"sad": 1, "angry": 1}, True),
    "ravdess_fer": (make_ravdess_fer, {}, ["angry", "sad"], {"angry": 8, "sad": 8}, False),
    "manifest": (fixtures.make_manifest, {"vad_range": (1, 5)}, ["happy", "neutral"],
                 {"happy": 1, "neutral": 1}, False),
}


def test_every_loader_has_a_case_and_the_common_options():
    assert set(CASES) == set(data.LOADERS)
    for name, loader in data.LOADERS.items():
        params = inspect.signature(loader).parameters
        assert set(data.COMMON_OPTIONS) <= set(params), name
        assert params["classes"].default == "all" and params["strict"].default is False, name


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_with_classes_and_strict(tmp_path, name):
    make, options, classes, expected, faulty = CASES[name]
    root = make(tmp_path)
    records, report = data.load(name, root, classes=classes, strict=False, **options)
    assert Counter(r.label for r in records) == expected
    assert all(r.corpus == name or name == "manifest" for r in records)
    everything, _ = data.load(name, root, classes="all", strict=False, **options)
    # Every record of another class is counted (a bad item may be excluded before it is checked).
    assert report.skipped["excluded_class"] >= len(everything) - len(records) > 0
    assert {r.utterance_id for r in records} <= {r.utterance_id for r in everything}
    if faulty:
        with pytest.raises(CorpusError):
            data.load(name, root, classes="all", strict=True, **options)
    else:
        strict, strict_report = data.load(name, root, classes=classes, strict=True, **options)
        assert strict == records and dict(strict_report.skipped) == dict(report.skipped)
    with pytest.raises(ValueError, match="angyr"):
        data.load(name, root, classes=["angyr"], strict=False, **options)


def test_sier_takes_the_runner_options(tmp_path):
    # What `python -m benchmarks --corpus sier --root pairs.csv` calls.
    records, report = data.load("sier", fixtures.make_sier(tmp_path), classes="all")
    assert len(records) == 4 and report.total_skipped == 0
