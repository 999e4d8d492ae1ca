"""Where the development corpora are: ``<repository>/../shared/data`` (or ``$ZOO_SHARED_DATA``).

Tests that read them use :func:`needs`, which skips with the reason when the corpus is absent:
the suite passes on a machine without them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ZOO_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))

# A file whose presence shows that the corpus is there.
MARKERS = {"emodb": "manifest.csv", "ravdess": "Actor_01", "meld": "train_sent_emo.csv", "fer2013": "train"}


def corpus(name: str) -> Path:
    """The folder of a development corpus (it may not exist)."""
    return SHARED_DATA / name


def available(name: str) -> bool:
    return (corpus(name) / MARKERS.get(name, "")).exists()


def needs(name: str):
    """``@needs("ravdess")``: skip unless the development copy of the corpus is present."""
    return pytest.mark.skipif(not available(name), reason=f"development corpus {name!r} absent "
                                                          f"(looked in {corpus(name)})")
