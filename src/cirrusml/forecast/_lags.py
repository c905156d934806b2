"""Azure's automatic lag and rolling-window rule (``target_lags: auto``,
``target_rolling_window_size: auto``; reference §12.2), on the history a model is fitted on.

1. The largest order looked at is twice the steps up to the next calendar granularity (daily:
   14, weekly: 8, monthly: 24, quarterly: 8, hourly: 48).
2. The series is de-seasonalised (each phase's mean removed), leaving trend and residual.
3. Its partial autocorrelation (PACF, by the Durbin-Levinson recursion) is computed up to that
   order; a value is significant when ``|pacf| > 1.96 / sqrt(max order)``.
4. If every value is significant, the series is taken as strongly seasonal: no look-back feature.
5. Otherwise the lag is the last significant order before the first insignificant one, and the
   rolling window the last order whose PACF is significant.

For a panel the rule reads the mean of the series' standardised PACFs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["auto_lags", "max_order", "pacf"]

_GRANULARITY = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 4, "MS": 12, "ME": 12, "M": 12,
                "QS": 4, "QE": 4, "Q": 4}


def max_order(freq: str) -> int:
    offset = to_offset(freq)
    base = offset.name.split("-")[0] if hasattr(offset, "name") else freq
    n = int(getattr(offset, "n", 1) or 1)
    if base == "min":
        return 2 * max(1, 60 // n)
    if base == "h":
        return 2 * max(1, 24 // n)
    return 2 * _GRANULARITY.get(base, 4)


def pacf(x: np.ndarray, order: int) -> np.ndarray:
    """Partial autocorrelations 1..order of ``x`` (Durbin-Levinson on the sample ACF)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)] - np.nanmean(x)
    n = len(x)
    order = min(order, n - 2)
    if order < 1:
        return np.zeros(0)
    denom = float(np.dot(x, x)) or 1.0
    acf = np.asarray([np.dot(x[: n - k], x[k:]) / denom for k in range(order + 1)])
    out = np.zeros(order)
    phi = np.zeros(order + 1)
    for k in range(1, order + 1):
        num = acf[k] - np.dot(phi[1:k], acf[1:k][::-1])
        den = 1.0 - np.dot(phi[1:k], acf[1:k])
        value = num / den if abs(den) > 1e-12 else 0.0
        new = phi.copy()
        new[k] = value
        new[1:k] = phi[1:k] - value * phi[1:k][::-1]
        phi = new
        out[k - 1] = value
    return np.clip(out, -1.0, 1.0)


def _deseasonalise(y: np.ndarray, season: int) -> np.ndarray:
    if season <= 1 or len(y) < 2 * season:
        return y
    phase = np.arange(len(y)) % season
    means = pd.Series(y).groupby(phase).transform("mean").to_numpy()
    return y - means + np.nanmean(y)


def auto_lags(series: list[np.ndarray], freq: str, season: int) -> tuple[tuple[int, ...], int]:
    """(lags, rolling window) by the rule of the module doc; ``((), 0)`` when it finds none."""
    order = max_order(freq)
    curves = []
    for y in series:
        if len(y) >= order + 3:
            curves.append(pacf(_deseasonalise(np.asarray(y, dtype=float), season), order))
    if not curves:
        return (), 0
    size = min(len(c) for c in curves)
    curve = np.mean([c[:size] for c in curves], axis=0)
    threshold = 1.96 / np.sqrt(order)
    significant = np.abs(curve) > threshold
    if significant.all():
        return (), 0
    if not significant.any():
        return (), 0
    first_off = int(np.argmin(significant))
    lag = first_off if first_off > 0 else 0
    window = int(np.flatnonzero(significant)[-1]) + 1
    return (tuple(range(1, lag + 1)) if lag else ()), window
