"""Data guardrails on crafted data: every status of every guardrail, and the text report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cirrusml.featurize import (
    Guardrail,
    compute_guardrails,
    mark_class_balancing_done,
    profile_columns,
    render_guardrails,
)
from cirrusml.spec import TabularFeaturizationSettings
from cirrusml.tasks import plan_splits

N = 500


def by_name(guardrails: list[Guardrail]) -> dict[str, Guardrail]:
    return {g.name: g for g in guardrails}


def clean_frame(rng: np.random.Generator, n: int = N) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(size=n),
                         "group": pd.Series(rng.choice(["a", "b", "c"], n), dtype=object)})


def run(X: pd.DataFrame, y: pd.Series, task: str = "classification",
        settings: TabularFeaturizationSettings | None = None, **kwargs) -> dict[str, Guardrail]:
    plan = plan_splits(len(X), y=y if task == "classification" else None, seed=0)
    guardrails = compute_guardrails(profile_columns(X, settings), X, y, task=task,
                                    split_description=plan.describe(), **kwargs)
    return by_name(guardrails)


def test_clean_balanced_data_passes() -> None:
    rng = np.random.default_rng(0)
    X = clean_frame(rng)
    y = pd.Series(rng.choice(["yes", "no"], N))
    result = run(X, y, memory_bytes_available=8 * 2**30)
    assert list(result) == ["Validation split handling", "Missing feature values imputation",
                            "High cardinality feature detection", "Class balancing detection",
                            "Memory issues detection"]
    assert result["Validation split handling"].status == "Done"
    assert "10-fold cross-validation" in result["Validation split handling"].description
    assert result["Validation split handling"].details[0]["n_folds"] == 10
    for name in ("Missing feature values imputation", "High cardinality feature detection",
                 "Class balancing detection", "Memory issues detection"):
        assert result[name].status == "Passed", name
    counts = {d["class"]: d["count"] for d in result["Class balancing detection"].details}
    assert counts == y.value_counts().to_dict()


def test_missing_values_are_listed_with_how_they_are_filled() -> None:
    rng = np.random.default_rng(1)
    X = clean_frame(rng)
    X.loc[:9, "x"] = np.nan
    X.loc[:24, "group"] = None
    X["hole"] = np.nan
    y = pd.Series(rng.integers(0, 2, N))
    imputation = run(X, y)["Missing feature values imputation"]
    assert imputation.status == "Done"
    rows = {d["column"]: d for d in imputation.details}
    assert rows["x"]["missing_values"] == 10 and rows["x"]["filled_with"].startswith("mean")
    assert rows["group"]["missing_values"] == 25
    assert rows["group"]["filled_with"].startswith("most frequent")
    assert "WASNULL" in rows["x"]["filled_with"]
    assert rows["hole"]["filled_with"] == "column dropped (every value missing)"
    custom = TabularFeaturizationSettings(transformer_params={
        "imputer": [{"fields": ["x"], "parameters": {"strategy": "median"}}]})
    result = run(X, y, settings=custom)["Missing feature values imputation"]
    rows = {d["column"]: d for d in result.details}
    assert rows["x"]["filled_with"].startswith("median (transformer_params)")
    off = run(X[["x"]], y, settings=TabularFeaturizationSettings(mode="off"))
    assert off["Missing feature values imputation"].status == "Alerted"


def test_imbalanced_classes_alert_with_counts() -> None:
    rng = np.random.default_rng(2)
    X = clean_frame(rng, 1000)
    y = pd.Series(np.r_[np.zeros(950, int), np.ones(50, int)])
    balance = run(X, y)["Class balancing detection"]
    assert balance.status == "Alerted"
    assert {d["class"]: d["count"] for d in balance.details} == {"0": 950, "1": 50}
    assert "20%" in balance.description and "'1'" in balance.description
    # 30/70 is within the rule.
    y = pd.Series(np.r_[np.zeros(700, int), np.ones(300, int)])
    assert run(X, y)["Class balancing detection"].status == "Passed"


def test_class_balancing_done_after_weighting() -> None:
    rng = np.random.default_rng(3)
    X = clean_frame(rng, 1000)
    y = pd.Series(np.r_[np.zeros(950, int), np.ones(50, int)])
    plan = plan_splits(len(X), y=y, seed=0)
    guardrails = compute_guardrails(profile_columns(X), X, y, task="classification",
                                    split_description=plan.describe())
    same = mark_class_balancing_done(guardrails, "class_weight='balanced' won the search")
    assert same is guardrails
    balance = by_name(guardrails)["Class balancing detection"]
    assert balance.status == "Done"
    assert balance.details[-1] == {"action": "class_weight='balanced' won the search"}
    assert "class_weight='balanced'" in balance.description


def test_regression_has_no_class_guardrail() -> None:
    rng = np.random.default_rng(4)
    X = clean_frame(rng)
    result = run(X, pd.Series(rng.normal(size=N)), task="regression")
    assert "Class balancing detection" not in result
    assert result["Validation split handling"].details[0]["stratified"] is False


def test_id_and_high_cardinality_columns() -> None:
    rng = np.random.default_rng(5)
    X = clean_frame(rng)
    X["customer_id"] = np.char.add("c", rng.permutation(N).astype(str))
    X["zip"] = np.char.add("z", rng.integers(0, 200, N).astype(str))
    y = pd.Series(rng.integers(0, 2, N))
    card = run(X, y)["High cardinality feature detection"]
    assert card.status == "Done"
    rows = {d["column"]: d for d in card.details}
    assert rows["customer_id"]["action"] == "dropped (id-like)"
    assert rows["customer_id"]["distinct_values"] == N
    assert rows["zip"]["action"].startswith("target-encoded")
    hashed = TabularFeaturizationSettings(transformer_params={
        "hash_one_hot_encoder": [{"fields": ["zip"], "parameters": {"number_of_bits": 6}}]})
    result = run(X, y, settings=hashed)["High cardinality feature detection"]
    rows = {d["column"]: d for d in result.details}
    assert rows["zip"]["action"] == "hashed into 64 columns (HashOneHotEncoder)"
    blocked = TabularFeaturizationSettings(blocked_transformers=["CatTargetEncoder"])
    result = run(X, y, settings=blocked)["High cardinality feature detection"]
    rows = {d["column"]: d for d in result.details}
    assert rows["zip"]["action"] == "hashed into 1,024 columns (HashOneHotEncoder)"


def test_memory_guardrail() -> None:
    rng = np.random.default_rng(6)
    X = clean_frame(rng)
    y = pd.Series(rng.integers(0, 2, N))
    tight = run(X, y, memory_bytes_available=10_000)["Memory issues detection"]
    assert tight.status == "Alerted"
    assert tight.details[0]["estimated_featurized_bytes"] == N * (1 + 3) * 8
    assert run(X, y, memory_bytes_available=2**30)["Memory issues detection"].status == "Passed"
    unknown = run(X, y)["Memory issues detection"]
    assert unknown.status == "Passed" and "not given" in unknown.description


def test_missing_target_and_notices_and_rendering() -> None:
    rng = np.random.default_rng(7)
    X = clean_frame(rng, 30_000)
    y = pd.Series(rng.integers(0, 2, 30_000))
    result = run(X, y, dropped_target_rows=12,
                 validation_notices=["validation_data was empty", "validation_data was empty"])
    assert result["Missing target values"].status == "Done"
    assert "12 row(s)" in result["Missing target values"].description
    split = result["Validation split handling"]
    assert "holdout" in split.description
    assert split.details.count({"notice": "validation_data was empty"}) == 1
    text = render_guardrails(list(result.values()))
    for guardrail in result.values():
        assert guardrail.name in text and guardrail.description in text
    assert "Passed" in text and "[DONE]" in text
    as_dict = result["Missing target values"].to_dict()
    assert as_dict == {"name": "Missing target values", "status": "Done",
                       "description": result["Missing target values"].description,
                       "details": [{"rows_removed": 12}]}


@pytest.mark.parametrize("task", ["Classification", "classification", "CLASSIFICATION"])
def test_task_spellings(task: str) -> None:
    rng = np.random.default_rng(8)
    X = clean_frame(rng, 100)
    y = pd.Series(np.r_[np.zeros(90, int), np.ones(10, int)])
    assert run(X, y, task=task)["Class balancing detection"].status == "Alerted"
