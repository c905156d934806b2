"""``plan_splits``: Azure's validation rules (reference §9) at their row-count thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cirrusml.exceptions import DataError
from cirrusml.tasks import plan_splits


def _labels(n_rows: int, shares: dict[str, float], seed: int = 1) -> pd.Series:
    """A shuffled label column with (about) the given class shares."""
    rng = np.random.default_rng(seed)
    names = list(shares)
    counts = [int(round(n_rows * shares[k])) for k in names[:-1]]
    counts.append(n_rows - sum(counts))
    values = np.repeat(names, counts)
    rng.shuffle(values)
    return pd.Series(values)


def _assert_cv_partition(plan, n_rows: int) -> None:
    """Every row is validated exactly once; each fold trains on exactly the other rows."""
    seen = np.concatenate([valid for _train, valid in plan.folds])
    assert np.array_equal(np.sort(seen), np.arange(n_rows))
    for train, valid in plan.folds:
        assert len(np.intersect1d(train, valid)) == 0
        assert len(train) + len(valid) == n_rows


def _assert_disjoint(train: np.ndarray, valid: np.ndarray, n_rows: int) -> None:
    assert len(np.intersect1d(train, valid)) == 0
    assert len(np.unique(train)) == len(train) and len(np.unique(valid)) == len(valid)
    assert np.array_equal(np.sort(np.concatenate([train, valid])), np.arange(n_rows))


# ------------------------------------------------------------------------ the automatic rule


@pytest.mark.parametrize(("n_rows", "n_folds"), [
    (10, 10), (999, 10), (1_000, 3), (1_001, 3), (19_999, 3), (20_000, 3),
])
@pytest.mark.parametrize("n_cross_validations", [None, "auto"])
def test_auto_rule_cross_validates_up_to_20000_rows(n_rows, n_folds, n_cross_validations):
    plan = plan_splits(n_rows, y=None, seed=0, n_cross_validations=n_cross_validations)
    assert plan.kind == "cv" and plan.is_cv
    assert plan.n_folds == n_folds
    _assert_cv_partition(plan, n_rows)
    assert f"{n_folds}-fold" in plan.rule
    described = plan.describe()
    assert described["kind"] == "cv" and described["n_folds"] == n_folds
    assert described["validation_rows"] == n_rows


@pytest.mark.parametrize("n_cross_validations", [None, "auto"])
def test_auto_rule_holds_out_10_percent_above_20000_rows(n_cross_validations):
    plan = plan_splits(20_001, y=None, seed=0, n_cross_validations=n_cross_validations)
    assert plan.kind == "holdout" and not plan.is_cv
    assert plan.n_folds == 1
    ((train, valid),) = plan.folds
    assert len(valid) == 2_000 and len(train) == 18_001
    _assert_disjoint(train, valid, 20_001)
    assert "10%" in plan.rule
    assert plan.describe()["validation_rows"] == 2_000


def test_auto_holdout_above_20000_rows_is_stratified_for_classification():
    y = _labels(25_000, {"no": 0.88, "yes": 0.12})
    plan = plan_splits(25_000, y=y, seed=0)
    ((train, valid),) = plan.folds
    assert plan.kind == "holdout" and plan.stratified and len(valid) == 2_500
    _assert_disjoint(train, valid, 25_000)
    expected = (y == "yes").mean() * len(valid)
    assert abs((y.iloc[valid] == "yes").sum() - expected) <= 1


# ------------------------------------------------------------------------ explicit settings


@pytest.mark.parametrize("k", [2, 5, 7])
def test_an_integer_n_cross_validations_gives_that_many_folds(k):
    # 30,000 rows would be a holdout under the automatic rule: the setting wins.
    n_rows = 30_000 if k == 2 else 50
    plan = plan_splits(n_rows, y=None, seed=3, n_cross_validations=k)
    assert plan.kind == "cv" and plan.n_folds == k
    assert f"n_cross_validations={k}" in plan.rule
    _assert_cv_partition(plan, n_rows)
    sizes = [len(v) for _t, v in plan.folds]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize(("n_rows", "fraction", "n_valid"), [
    (100, 0.2, 20), (500, 0.25, 125), (30_000, 0.05, 1_500), (10, 0.3, 3),
])
def test_validation_data_size_is_a_holdout_of_that_fraction(n_rows, fraction, n_valid):
    plan = plan_splits(n_rows, y=None, seed=0, validation_data_size=fraction)
    assert plan.kind == "holdout" and plan.n_folds == 1
    ((train, valid),) = plan.folds
    assert len(valid) == n_valid and len(train) == n_rows - n_valid
    _assert_disjoint(train, valid, n_rows)
    assert f"validation_data_size={fraction:g}" in plan.rule


def test_validation_data_size_holdout_is_stratified():
    y = _labels(1_000, {"a": 0.7, "b": 0.2, "c": 0.1})
    plan = plan_splits(1_000, y=y, seed=0, validation_data_size=0.2)
    ((train, valid),) = plan.folds
    assert plan.stratified
    for label, count in y.value_counts().items():
        assert abs((y.iloc[valid] == label).sum() - count * 0.2) <= 1


def test_validation_data_trains_on_training_rows_and_validates_on_the_appended_rows():
    plan = plan_splits(300, y=_labels(300, {"a": 0.5, "b": 0.5}), seed=0,
                       n_validation_rows=120)
    assert plan.kind == "holdout" and plan.n_folds == 1
    ((train, valid),) = plan.folds
    assert np.array_equal(train, np.arange(300))
    assert np.array_equal(valid, np.arange(300, 420))
    assert "validation_data" in plan.rule


def test_validation_data_takes_precedence_over_every_other_setting():
    masks = pd.DataFrame({"f": [1, 0] * 50})
    for kwargs in ({"n_cross_validations": 5}, {"validation_data_size": 0.3},
                   {"cv_split_masks": masks}):
        plan = plan_splits(100, y=None, seed=0, n_validation_rows=10, **kwargs)
        ((train, valid),) = plan.folds
        assert plan.kind == "holdout"
        assert np.array_equal(valid, np.arange(100, 110)), kwargs


# ------------------------------------------------------------------- cv_split_column_names


def test_cv_split_columns_are_the_folds():
    masks = pd.DataFrame({
        "fold_a": [1, 1, 1, 0, 0, 1, 1, 1, 1, 1],
        "fold_b": [0, 0, 1, 1, 1, 1, 1, 1, 1, 0],
        "fold_c": ["1", "1", "0", "1", "1", "0", "0", "1", "1", "1"],  # text 0/1 is fine
    })
    plan = plan_splits(10, y=None, seed=0, cv_split_masks=masks,
                       n_cross_validations=None)
    assert plan.kind == "cv" and plan.n_folds == 3
    (ta, va), (tb, vb), (tc, vc) = plan.folds
    assert va.tolist() == [3, 4] and ta.tolist() == [0, 1, 2, 5, 6, 7, 8, 9]
    assert vb.tolist() == [0, 1, 9] and tb.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert vc.tolist() == [2, 5, 6]
    assert "cv_split_column_names" in plan.rule


def test_cv_split_columns_take_precedence_over_n_cross_validations_and_size():
    masks = pd.DataFrame({"f": [1] * 8 + [0] * 2})
    plan = plan_splits(10, y=None, seed=0, cv_split_masks=masks, n_cross_validations=5)
    assert plan.n_folds == 1 and plan.folds[0][1].tolist() == [8, 9]


@pytest.mark.parametrize("bad", [
    [1, 0, 2, 1, 0, 1],
    [1, 0, -1, 1, 0, 1],
    [1, 0, 0.5, 1, 0, 1],
    [1, 0, None, 1, 0, 1],
    ["1", "0", "train", "1", "0", "1"],
])
def test_cv_split_column_with_values_other_than_0_and_1_is_refused(bad):
    masks = pd.DataFrame({"good": [1, 0, 1, 0, 1, 1], "bad_fold": bad})
    with pytest.raises(DataError, match=r"column 'bad_fold' must hold only 1 \(train\) and 0"):
        plan_splits(6, y=None, seed=0, cv_split_masks=masks)


@pytest.mark.parametrize("values", [[1] * 6, [0] * 6])
def test_cv_split_column_leaving_no_train_or_no_validation_rows_is_refused(values):
    masks = pd.DataFrame({"ok": [1, 0, 1, 0, 1, 1], "lopsided": values})
    with pytest.raises(DataError, match="column 'lopsided' leaves no training or no validation"):
        plan_splits(6, y=None, seed=0, cv_split_masks=masks)


# ---------------------------------------------------------------------------- stratification


@pytest.mark.parametrize(("n_rows", "n_folds"), [(600, 10), (3_000, 3)])
def test_cv_folds_are_stratified_within_one_row_of_each_class_share(n_rows, n_folds):
    y = _labels(n_rows, {"common": 0.75, "rare": 0.2, "tiny": 0.05})
    plan = plan_splits(n_rows, y=y, seed=11)
    assert plan.stratified and plan.n_folds == n_folds and plan.notices == []
    _assert_cv_partition(plan, n_rows)
    overall = y.value_counts(normalize=True)
    for _train, valid in plan.folds:
        fold = y.iloc[valid]
        for label, share in overall.items():
            assert abs((fold == label).sum() - share * len(valid)) <= 1, (label, len(valid))
    assert plan.describe()["stratified"] is True


def test_regression_folds_are_not_stratified():
    plan = plan_splits(200, y=None, seed=0)
    assert not plan.stratified and plan.notices == []


def test_a_class_with_fewer_rows_than_folds_falls_back_to_plain_folds_and_says_so():
    y = pd.Series(["big"] * 60 + ["small"] * 37 + ["lonely"] * 3)
    plan = plan_splits(100, y=y, seed=0, n_cross_validations=5)
    assert plan.kind == "cv" and plan.n_folds == 5
    assert not plan.stratified
    _assert_cv_partition(plan, 100)
    (notice,) = plan.notices
    assert "'lonely'" in notice and "3 row(s)" in notice and "5 folds" in notice
    assert "not stratified" in notice
    assert plan.describe()["notices"] == [notice]


def test_the_automatic_10_folds_fall_back_when_a_class_has_9_rows():
    y = pd.Series(["a"] * 91 + ["b"] * 9)
    plan = plan_splits(100, y=y, seed=0)
    assert plan.n_folds == 10 and not plan.stratified
    assert any("'b'" in n and "10 folds" in n for n in plan.notices)
    y = pd.Series(["a"] * 90 + ["b"] * 10)  # exactly as many rows as folds: stratified
    plan = plan_splits(100, y=y, seed=0)
    assert plan.stratified and plan.notices == []
    assert all((y.iloc[v] == "b").sum() == 1 for _t, v in plan.folds)


def test_holdout_with_a_one_row_class_is_not_stratified_and_says_so():
    y = pd.Series(["a"] * 59 + ["b"] * 40 + ["c"])
    plan = plan_splits(100, y=y, seed=0, validation_data_size=0.2)
    assert not plan.stratified and len(plan.notices) == 1
    assert "not stratified" in plan.notices[0]
    _assert_disjoint(*plan.folds[0], 100)


# ------------------------------------------------------------------------- determinism, size


@pytest.mark.parametrize("kwargs", [{}, {"validation_data_size": 0.2},
                                    {"n_cross_validations": 4}])
def test_the_same_seed_gives_the_same_split_and_another_seed_another(kwargs):
    y = _labels(400, {"x": 0.6, "y": 0.4})
    one = plan_splits(400, y=y, seed=5, **kwargs)
    two = plan_splits(400, y=y, seed=5, **kwargs)
    other = plan_splits(400, y=y, seed=6, **kwargs)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one.folds, two.folds))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(one.folds, two.folds))
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(one.folds, other.folds))


def test_folds_are_shuffled_not_contiguous_blocks():
    plan = plan_splits(100, y=None, seed=0, n_cross_validations=4)
    assert any(not np.array_equal(v, np.arange(v[0], v[0] + len(v))) for _t, v in plan.folds)


@pytest.mark.parametrize(("n_rows", "kwargs", "needle"), [
    (4, {"n_cross_validations": 5}, "4 training row(s) cannot make 5 cross-validation folds"),
    (9, {}, "9 training row(s) cannot make 10 cross-validation folds"),
    (9, {"n_cross_validations": "auto"}, "cannot make 10 cross-validation folds"),
    (4, {"validation_data_size": 0.1}, "too few for a validation split of 0.1"),
    (1, {"validation_data_size": 0.9}, "too few for a validation split"),
])
def test_too_few_rows_for_the_split_is_a_data_error(n_rows, kwargs, needle):
    with pytest.raises(DataError) as caught:
        plan_splits(n_rows, y=None, seed=0, **kwargs)
    assert needle in str(caught.value)


def test_a_large_holdout_with_many_classes_falls_back_instead_of_crashing():
    y = pd.Series(list("aabbccddee"))
    plan = plan_splits(10, y=y, seed=0, validation_data_size=0.6)
    ((train, valid),) = plan.folds
    assert len(valid) == 6 and not plan.stratified and plan.notices
    _assert_disjoint(train, valid, 10)


@pytest.mark.parametrize(("labels", "shown"), [([0] * 28 + [1] * 2, "class 1 "),
                                               ([True] * 28 + [False] * 2, "class False ")])
def test_the_fallback_notice_names_a_numeric_class_plainly(labels, shown):
    (notice,) = plan_splits(30, y=pd.Series(labels), seed=0).notices
    assert notice.startswith(shown) and "np." not in notice
