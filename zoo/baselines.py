"""Classic (non-deep) baselines, run on the same folds as the deep models.

- ``svm_hsf``: the 68-d pyAudioAnalysis HSF (``paa_hsf``: mean and std of 34 short-term
  features, Atmaja & Akagi 2020 §III-B, Table I) -> ``StandardScaler`` -> RBF ``SVC``.
- ``svm_hsf_sn``: the same on speaker-normalised HSF (each speaker's vectors standardised by
  that speaker's own mean and std, :func:`zoo.features.normalize.speaker_cmvn`; labels unused),
  the baseline beside models trained with ``normalize="speaker"`` profiles.
- ``tfidf_lr``: TF-IDF of word 1-2 grams with sublinear tf (``1 + log tf``) -> multinomial
  logistic regression, on transcripts (the text branches, e.g. MELD).

Hyper-parameters (SVM ``C`` and ``gamma``, LR ``C``) are chosen by scikit-learn
``GridSearchCV`` over ``GroupKFold`` splits of the TRAINING data only, grouped by the
``groups`` given to :meth:`Baseline.fit` (the training speakers), scoring balanced accuracy
(= ``mean_class_recall``). The search runs on the scikit-learn pipeline, so the scaler /
vectoriser is refitted inside every inner split; test data never reaches :meth:`fit`, and
:meth:`predict_proba` never refits anything on the data it is given.

    from zoo import baselines
    model = baselines.get("svm_hsf", seed=0)
    X_train = model.inputs(fold.train_records, cache)      # (n, 68) or a list of strings
    model.fit(X_train, [r.label for r in fold.train_records],
              groups=[r.speaker for r in fold.train_records], classes=label_set)
    posteriors = model.predict_proba(model.inputs(fold.test_records, cache))

Each class in :data:`BASELINES` states its input as data (``features``: input name ->
:class:`zoo.recipe.FeatureSpec` for an extractor, or :class:`RecordField` for a
:class:`zoo.data.records.Record` attribute used as is) and a ``description`` for captions.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Sequence

import numpy as np

from zoo.recipe import FeatureSpec

__all__ = ["RecordField", "Baseline", "SvmHSF", "SvmHSFSpeakerNorm", "TfidfLR", "BASELINES", "get"]


@dataclasses.dataclass(frozen=True)
class RecordField:
    """An input read from a ``Record`` attribute as is (e.g. ``transcript``), no extractor."""

    field: str


class Baseline:
    """A grid-searched scikit-learn pipeline with an estimator-like API.

    Subclasses set ``name``, ``description``, ``features`` (one input), ``param_grid``
    (pipeline parameter -> candidates), ``classifier_step`` (the pipeline step that takes
    ``class_weight``) and build the pipeline in :meth:`pipeline`.

    After :meth:`fit`: ``classes_`` (column order of :meth:`predict_proba`),
    ``best_params_``, ``best_score_`` (mean inner-CV balanced accuracy),
    ``cv_results_`` (scikit-learn's), ``cv_groups_`` (the sorted distinct groups the
    search split, i.e. the training groups) and ``cv_splits_`` (the inner
    ``(train, validation)`` index arrays, into the training data).
    """

    name: str = ""
    description: str = ""
    features: Dict[str, Any] = {}
    param_grid: Dict[str, Sequence] = {}
    classifier_step: str = ""
    #: Standardise each speaker's inputs by that speaker's statistics (feature inputs only).
    speaker_normalize: bool = False

    def __init__(self, cv: int = 5, class_weight: Any = "balanced", param_grid: Optional[dict] = None,
                 seed: Optional[int] = 0, n_jobs: Optional[int] = None):
        """``cv``: inner folds (at most the number of training groups). ``class_weight``:
        ``None``, ``"balanced"`` or a list of those to search over. ``param_grid`` replaces
        the default grid (keys are pipeline parameters, e.g. ``"svc__C"``)."""
        if int(cv) < 2:
            raise ValueError(f"cv={cv}: the grid search needs at least 2 inner folds")
        self.cv, self.seed, self.n_jobs = int(cv), seed, n_jobs
        self.class_weight = class_weight
        grid = param_grid if param_grid is not None else type(self).param_grid
        self.grid = {k: list(v) for k, v in grid.items()}
        if not self.grid or any(not v for v in self.grid.values()):
            raise ValueError(f"{self.name}: empty parameter grid {self.grid}")

    # -- to implement -----------------------------------------------------------------
    def pipeline(self):
        """The scikit-learn pipeline whose parameters are searched."""
        raise NotImplementedError

    def _check_inputs(self, X):
        raise NotImplementedError

    # -- inputs -------------------------------------------------------------------------
    @classmethod
    def inputs(cls, records, cache=None, overrides=None):
        """The input of each record: stacked extractor outputs, or the record field's values.

        ``cache``: a :class:`zoo.features.FeatureCache` (extractor inputs only); ``overrides``:
        ``{input: extractor options}`` on top of the feature's (e.g. ``{"hsf": {"trim_db": 30.0}}``),
        as the models' feature overrides.
        """
        ((name, spec),) = cls.features.items()
        records = list(records)
        if isinstance(spec, RecordField):
            values = []
            for r in records:
                value = getattr(r, spec.field)
                if value is None:
                    raise ValueError(f"{cls.name}: record {r.utterance_id!r} ({r.corpus}) has no {spec.field}")
                values.append(value)
            return values
        from zoo import features

        extractor = features.get(spec, **(overrides or {}).get(name, {}))
        rows = [cache.get_or_compute(extractor, r) if cache is not None else extractor(r) for r in records]
        if cls.speaker_normalize and rows:
            from zoo.features.normalize import speaker_cmvn

            missing = [r.utterance_id for r in records if not r.speaker]
            if missing:
                raise ValueError(f"{cls.name}: speaker normalisation needs speakers; {missing[0]!r} has none")
            rows = speaker_cmvn(rows, [(r.corpus, r.speaker) for r in records])
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0,) + extractor.shape, np.float32)

    # -- fitting ------------------------------------------------------------------------
    def _full_grid(self) -> dict:
        grid = dict(self.grid)
        key = f"{self.classifier_step}__class_weight"
        if key not in grid:
            weights = self.class_weight
            grid[key] = list(weights) if isinstance(weights, (list, tuple)) else [weights]
        return grid

    def fit(self, X, y, groups, classes: Optional[Sequence] = None) -> "Baseline":
        """Grid-search on ``GroupKFold`` splits of ``(X, y)`` by ``groups``, then refit on all of it.

        ``classes``: the label set (column order of :meth:`predict_proba`; a class absent
        from ``y`` gets posterior 0); default the sorted distinct ``y``. The inner splits are
        ``GroupKFold(min(cv, n_groups), shuffle=True, random_state=seed)`` (unshuffled when
        ``seed`` is None).
        """
        from sklearn.model_selection import GridSearchCV, GroupKFold

        X = self._check_inputs(X)
        y = np.asarray(y)
        groups = np.asarray([str(g) for g in groups], dtype=object)
        if not len(X) == len(y) == len(groups):
            raise ValueError(f"{self.name}: {len(X)} inputs, {len(y)} labels and {len(groups)} groups")
        present = sorted(set(y.tolist()))
        if len(present) < 2:
            raise ValueError(f"{self.name}: training data has {len(present)} class(es) {present}; need >= 2")
        self.classes_ = np.asarray(list(classes) if classes is not None else present)
        if len(set(self.classes_.tolist())) != len(self.classes_):
            raise ValueError(f"{self.name}: classes {list(self.classes_)} repeat a label")
        unknown = sorted(set(present) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"{self.name}: training labels {unknown} are not in classes {list(self.classes_)}")
        distinct = sorted(set(groups.tolist()))
        if len(distinct) < 2:
            raise ValueError(f"{self.name}: {len(distinct)} training group(s); the grouped grid search needs >= 2")
        splitter = GroupKFold(n_splits=min(self.cv, len(distinct)), shuffle=self.seed is not None,
                              random_state=self.seed)
        self.cv_splits_ = list(splitter.split(X, y, groups))
        self.cv_groups_ = sorted({str(g) for inner_train, inner_val in self.cv_splits_
                                  for g in groups[np.concatenate([inner_train, inner_val])]})
        search = GridSearchCV(self.pipeline(), self._full_grid(), scoring="balanced_accuracy",
                              cv=self.cv_splits_, refit=False, n_jobs=self.n_jobs, error_score="raise")
        search.fit(X, y)
        self.best_params_ = dict(search.best_params_)
        self.best_score_ = float(search.best_score_)
        self.cv_results_ = search.cv_results_
        self.model_ = self.final_model(self.pipeline().set_params(**self.best_params_), y, groups)
        self.model_.fit(X, y)
        return self

    def final_model(self, pipeline, y, groups):
        """What is refitted on all training data with the best parameters (the pipeline itself)."""
        return pipeline

    # -- prediction ---------------------------------------------------------------------
    def predict_proba(self, X) -> np.ndarray:
        """Posteriors ``(n, len(classes_))`` in ``classes_`` order, rows summing to 1."""
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{self.name}: call fit() before predict_proba()")
        X = self._check_inputs(X)
        proba = self.model_.predict_proba(X)
        out = np.zeros((len(X), len(self.classes_)), dtype=np.float64)
        column = {c: i for i, c in enumerate(self.classes_.tolist())}
        for j, c in enumerate(self.model_.classes_.tolist()):
            out[:, column[c]] = proba[:, j]
        return out

    def predict(self, X) -> np.ndarray:
        """``classes_[argmax(predict_proba)]`` (so labels and posteriors always agree)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def config(self) -> dict:
        return {"name": self.name, "cv": self.cv, "class_weight": self.class_weight,
                "param_grid": self.grid, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


class SvmHSF(Baseline):
    """``paa_hsf`` (68-d) -> ``StandardScaler`` -> RBF ``SVC``, posteriors by Platt scaling.

    The posteriors are scikit-learn's ``CalibratedClassifierCV(method="sigmoid",
    ensemble=False)`` (``SVC(probability=True)`` is deprecated since scikit-learn 1.9): one
    sigmoid per class on the one-vs-rest decision values, normalised to sum to 1, fitted
    on OUT-OF-FOLD decision values of the same speaker-grouped inner splits as the search;
    the SVM used for prediction is the one refitted on all training data. ``predict`` is
    the argmax posterior, which can differ slightly from the SVM's own decision rule.
    """

    name = "svm_hsf"
    description = ("RBF SVM on the 68-d pyAudioAnalysis HSF (mean and std of 34 short-term features), "
                   "standardised; C and gamma by speaker-grouped CV on the training speakers")
    features = {"hsf": FeatureSpec("paa_hsf")}
    param_grid = {"svc__C": (0.1, 1.0, 10.0, 100.0, 1000.0), "svc__gamma": (0.0001, 0.001, 0.01, 0.1)}
    classifier_step = "svc"

    def pipeline(self):
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        return Pipeline([("scale", StandardScaler()), ("svc", SVC(kernel="rbf"))])

    def final_model(self, pipeline, y, groups):
        from sklearn.calibration import CalibratedClassifierCV

        classes = set(y.tolist())
        for train, held in self.cv_splits_:
            if set(y[train].tolist()) != classes:
                missing = sorted(classes - set(y[train].tolist()))
                raise ValueError(f"{self.name}: an inner split leaves class(es) {missing} out of its training "
                                 f"part (held-out groups {sorted(set(groups[held].tolist()))}); the "
                                 f"out-of-fold calibration needs every class in every inner training part")
        return CalibratedClassifierCV(pipeline, method="sigmoid", cv=self.cv_splits_, ensemble=False)

    def _check_inputs(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{self.name}: expected (n, features) inputs, got shape {X.shape}")
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if bad.size:
            raise ValueError(f"{self.name}: {bad.size} input row(s) hold NaN/inf (first: row {bad[0]})")
        return X


class SvmHSFSpeakerNorm(SvmHSF):
    """:class:`SvmHSF` on speaker-normalised HSF: the inputs of each speaker (the records passed
    to :meth:`inputs` together) minus that speaker's mean, over its std, then the same pipeline."""

    name = "svm_hsf_sn"
    description = ("RBF SVM on the 68-d pyAudioAnalysis HSF, speaker-normalised (each speaker's vectors "
                   "standardised by its own mean and std, labels unused) then standardised; C and gamma by "
                   "speaker-grouped CV on the training speakers")
    speaker_normalize = True


class TfidfLR(Baseline):
    """TF-IDF (word 1-2 grams, sublinear tf, scikit-learn's default tokenizer and l2 rows)
    -> multinomial ``LogisticRegression`` (L2; the newton-cg solver, several times faster than lbfgs
    on ~36k sparse n-gram columns, same optimum)."""

    name = "tfidf_lr"
    description = ("logistic regression on TF-IDF of word 1-2 grams (sublinear tf) of the transcript; "
                   "C by speaker-grouped CV on the training speakers")
    features = {"text": RecordField("transcript")}
    param_grid = {"lr__C": (0.1, 1.0, 10.0, 100.0)}
    classifier_step = "lr"

    def pipeline(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        return Pipeline([("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                         ("lr", LogisticRegression(solver="newton-cg", max_iter=1000))])

    def _check_inputs(self, X):
        if isinstance(X, str) or not all(isinstance(x, str) for x in X):
            raise ValueError(f"{self.name}: expected a sequence of strings (one transcript per sample)")
        return np.asarray(list(X), dtype=object)


BASELINES = {cls.name: cls for cls in (SvmHSF, SvmHSFSpeakerNorm, TfidfLR)}


def get(name: str, **options) -> Baseline:
    """An unfitted baseline by registry name: ``get("svm_hsf", class_weight=None)``."""
    try:
        cls = BASELINES[name]
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; known: {sorted(BASELINES)}") from None
    return cls(**options)
