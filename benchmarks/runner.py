"""The benchmark runner: a thin loop over :mod:`zoo.experiment` (every fold and seed of each model).

The experiment itself (corpus, label set, folds, features, training, evaluation) lives in the
library; this script only chooses models and writes tables. Runs are resumable: a finished
(model, fold, seed) is not trained again.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Optional, Sequence

from zoo import experiment, registry


def run_model(name: str, corpus: str, root: Optional[str], *, profile, out_runs: Path, cache_dir: Path,
              protocol: Optional[str] = None, seeds: Optional[Sequence[int]] = None,
              max_folds: Optional[int] = None, verbose=0, classes=None, strategy=None,
              test_corpus: Optional[str] = None, test_root: Optional[str] = None,
              sample_rate: Optional[int] = None, loader_options: Optional[dict] = None,
              extra_corpus: Optional[str] = None, extra_root: Optional[str] = None) -> dict:
    """Every fold and seed of one model, or classic baseline (``svm_hsf``, ``tfidf_lr``: on the
    folds the zoo's models get): ``{"runs": [...], "setup": {...}}``. ``strategy``: the
    ``tf.distribute.Strategy`` the models train under (baselines ignore it). ``test_corpus`` /
    ``test_root``: cross-corpus, trained on ``corpus`` and tested on ``test_corpus`` (one fold;
    the seeds repeat it), audio read at ``sample_rate`` (default 16 kHz) on both sides.
    ``loader_options``: further arguments of the training corpus' loader (``ravdess_fer``'s
    ``faces``, ``seed``). ``extra_corpus`` / ``extra_root``: multi-corpus training, every record of
    that corpus added to each fold's training part (tested on ``corpus``' speakers only)."""
    cross = dict(test_corpus=test_corpus, test_root=test_root, loader_options=loader_options,
                 extra_corpus=extra_corpus, extra_root=extra_root)
    if experiment.is_baseline(name):
        return experiment.prepare_baseline(name, corpus, root, profile=profile, protocol=protocol,
                                           max_folds=max_folds, cache_dir=cache_dir, classes=classes,
                                           **cross).run(seeds=seeds)
    exp = experiment.prepare(name, corpus, root, profile=profile, protocol=protocol, max_folds=max_folds,
                             cache_dir=cache_dir, classes=classes, strategy=strategy, sample_rate=sample_rate,
                             **cross)
    return exp.run(out_runs, seeds=seeds, verbose=verbose)


def default_models() -> list:
    return list(registry.MODEL_MODULES)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
