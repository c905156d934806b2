"""Datasets the benchmarks generate, for shapes ``../shared/datasets`` lacks.

``generated_26_classes``: 20,000 rows, 26 classes, 16 integer features 0-15 (the shape of the
UCI letter set, which cannot be downloaded here), from scikit-learn's ``make_classification``.
The cost model's timings (``benchmarks/cost``) and the LightGBM-only comparison
(``benchmarks/lightgbm_only.py``) both use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def generated_26_classes(seed: int = 3) -> tuple[dict[str, Any], pd.DataFrame]:
    """``(meta, frame)`` as a ``../shared/datasets`` folder would give them."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=20_000, n_features=16, n_informative=12,
                               n_redundant=2, n_classes=26, n_clusters_per_class=1,
                               class_sep=1.5, random_state=seed)
    X = np.round((X - X.min(0)) / (X.max(0) - X.min(0)) * 15).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(16)])
    frame["letter"] = [chr(65 + int(v)) for v in y]
    return {"name": "generated_26_classes", "task": "multiclass", "target": "letter",
            "metric": "log_loss"}, frame
