"""Quantile forecasts: the point forecast spread by a normal error whose size grows with the
step.

The error's size at step 1 is the forecaster's own estimate when it has one (a regression
forecaster's residual spread, in its series' units) and otherwise the spread of each series'
seasonal differences (the seasonal-naive error). At step ``h`` it is multiplied by
``sqrt(ceil(h / season))``, as for a seasonal random walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from cirrusml.exceptions import DataError

__all__ = ["forecast_quantiles"]


def _sigma(model: Any, history: Any, codes: np.ndarray) -> np.ndarray:
    own = getattr(model, "residual_std_", None)
    scales = getattr(model, "scales_", None)
    if own is not None and scales is not None and len(scales) == len(history.labels):
        return float(own) * np.asarray(scales)[codes]
    m = max(1, int(model.layout.season_length))
    out = np.zeros(len(history.labels))
    for i in range(len(history.labels)):
        y = history.y[history.starts[i]:history.starts[i + 1]]
        lag = m if len(y) > m + 1 else 1
        out[i] = float(np.nanstd(y[lag:] - y[:-lag])) if len(y) > lag else 0.0
    return out[codes]


def forecast_quantiles(model: Any, X_future: pd.DataFrame, quantiles: Sequence[float],
                       y_past: Any = None) -> pd.DataFrame:
    """One column per quantile (named by it) for the rows of ``X_future`` that are forecast;
    rows with a known value in ``y_past`` keep that value in every column."""
    qs = [float(q) for q in quantiles]
    if not qs or any(not 0.0 < q < 1.0 for q in qs):
        raise DataError(f"quantiles must lie strictly between 0 and 1, got {list(quantiles)}.")
    frame = pd.DataFrame(X_future).reset_index(drop=True)
    layout = model.layout
    if y_past is not None:
        frame = frame.assign(**{layout.target: np.asarray(y_past, dtype=float)})
    history, requests, known, values = model._split(frame)
    point = values.copy()
    spread = np.zeros(len(frame))
    if len(requests.codes):
        point[~known] = np.asarray(model._forecast(history, requests), dtype=float)
        m = max(1, int(layout.season_length))
        growth = np.sqrt(np.ceil(requests.steps / m))
        spread[~known] = _sigma(model, history, requests.codes) * growth
    return pd.DataFrame({q: point + norm.ppf(q) * spread for q in qs})
