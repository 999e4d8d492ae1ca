"""Metrics against values computed by hand."""
import numpy as np
import pytest

from zoo import metrics

# 10 utterances, 3 classes; class 0 always right, classes 1 and 2 half right.
Y_TRUE = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2]
Y_PRED = [0, 0, 0, 0, 0, 0, 0, 1, 0, 2]


def test_accuracy_and_mean_class_recall_differ():
    assert metrics.overall_accuracy(Y_TRUE, Y_PRED) == pytest.approx(8 / 10)
    assert metrics.mean_class_recall(Y_TRUE, Y_PRED) == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)


def test_confusion_f1_kappa_by_hand():
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED), [[6, 0, 0], [1, 1, 0], [1, 0, 1]])
    # precision 6/8, 1, 1; recall 1, 1/2, 1/2 -> F1 6/7, 2/3, 2/3
    assert metrics.macro_f1(Y_TRUE, Y_PRED) == pytest.approx((6 / 7 + 2 / 3 + 2 / 3) / 3)
    # p_o = 0.8; p_e = (6*8 + 2*1 + 2*1) / 100 = 0.52
    assert metrics.cohen_kappa(Y_TRUE, Y_PRED) == pytest.approx((0.8 - 0.52) / (1 - 0.52))


def test_classification_report_names_posteriors_and_per_class():
    labels = ("angry", "happy", "sad")
    names_true = [labels[i] for i in Y_TRUE]
    posteriors = np.eye(3)[Y_PRED] * 0.7 + 0.1
    report = metrics.classification_report(names_true, posteriors, labels)
    assert report["overall_accuracy"] == pytest.approx(0.8)
    assert report["mean_class_recall"] == pytest.approx(2 / 3)
    assert report["confusion_matrix"] == [[6, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert report["per_class"]["angry"] == pytest.approx({"precision": 0.75, "recall": 1.0, "f1": 6 / 7, "support": 6})
    assert report["n"] == 10 and report["labels"] == list(labels)
    # a class absent from both vectors still gets its row and column
    wide = metrics.classification_report(Y_TRUE, Y_PRED, labels + ("neutral",))
    assert np.asarray(wide["confusion_matrix"]).shape == (4, 4)
    with pytest.raises(ValueError, match="fearful"):
        metrics.classification_report(["fearful"], ["angry"], labels)


def test_ccc_by_hand_and_batch_average_differs():
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 3.0, 5.0]
    # means 2.5 / 3; population variances 1.25 / 1.5; covariance 1.25
    assert metrics.ccc(x, y) == pytest.approx(2 * 1.25 / (1.25 + 1.5 + 0.5 ** 2))
    # batches of 2: [1,2]/[2,2] -> 0 (constant prediction); [3,4]/[3,5] -> 1 / 1.5
    assert metrics.batch_averaged_ccc(x, y, batch_size=2) == pytest.approx((0 + 1 / 1.5) / 2)
    assert metrics.batch_averaged_ccc(x, y, 2) != pytest.approx(metrics.ccc(x, y))
    assert metrics.ccc(x, x) == pytest.approx(1.0)
    assert metrics.ccc(x, [-v for v in x]) < 0
    assert np.isnan(metrics.ccc([1.0, 1.0], [1.0, 1.0]))  # 0 / 0
    with pytest.raises(ValueError, match="non-finite"):
        metrics.ccc([1.0, np.nan], [1.0, 2.0])


def test_regression_report_dict_and_array():
    t = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    p = np.array([[2.0, 0.0], [2.0, 1.0], [3.0, 0.0], [5.0, 1.0]])
    report = metrics.regression_report(t, p)
    assert set(report) == {"ccc_valence", "ccc_arousal", "ccc_mean"}
    assert report["ccc_valence"] == pytest.approx(2.5 / 3)
    assert report["ccc_arousal"] == pytest.approx(1.0)
    assert report["ccc_mean"] == pytest.approx((2.5 / 3 + 1) / 2)
    as_dict = metrics.regression_report({"dominance": t[:, 0]}, {"dominance": p[:, 0]})
    assert as_dict["ccc_dominance"] == pytest.approx(2.5 / 3)
    with pytest.raises(ValueError, match="dimensions"):
        metrics.regression_report({"valence": t[:, 0]}, {"arousal": p[:, 0]})


def test_paper_metric_names():
    assert metrics.to_our_names("blstmatt", {"UA": 0.801, "WA": 0.735}) == {
        "overall_accuracy": 0.801, "mean_class_recall": 0.735}  # Jalal et al. swap the names
    assert metrics.to_our_names("amh", {"WA": 0.617, "UA": 0.547}) == {
        "overall_accuracy": 0.617, "mean_class_recall": 0.547}
    assert metrics.PAPER_METRIC_NAMES["gru_bert"]["certain"] is True  # settled from main_IEMOCAP.py
    assert metrics.to_our_names("gru_bert", {"UA": 0.750, "WA": 0.717}) == {
        "overall_accuracy": 0.750, "mean_class_recall": 0.717}
    assert "precision" in metrics.PAPER_METRIC_NAMES["amh"]["note"].lower()
    for entry in metrics.PAPER_METRIC_NAMES.values():
        assert set(entry["names"].values()) <= {
            "overall_accuracy", "mean_class_recall", "macro_f1", "cohen_kappa",
            "ccc_valence", "ccc_arousal", "ccc_dominance"}
    with pytest.raises(KeyError):
        metrics.to_our_names("blstmatt", {"F1": 0.5})
