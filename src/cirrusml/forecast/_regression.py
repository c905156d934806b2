"""Regression models as direct forecasters: one global model over every series and step.

Training samples are (series, origin, step) triples from the history (:mod:`._features`): every
origin with enough look-back, every step up to the horizon, subsampled to ``max_samples`` (the
latest origins kept first) when the panel is large. The model predicts the row's target relative
to its seasonal-naive base, in units of the series' scale; the forecast is ``base + scale *
prediction``. Steps past the horizon reuse the horizon's step feature (their base and look-back
still end at the origin), so a model forecasts any distance without looking ahead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from cirrusml.forecast._base import Forecaster, History, Requests
from cirrusml.forecast._features import (
    FeatureSpec,
    calendar_columns,
    make_features,
    seasonal_profiles,
)
from cirrusml.forecast._lags import auto_lags
from cirrusml.tasks import SeriesLayout

__all__ = ["RegressionForecaster"]

_DAILY = ("D", "B")


class RegressionForecaster(Forecaster):
    """A scikit-learn regressor forecasting every step of the horizon directly.

    Parameters
    ----------
    regressor
        An unfitted regressor (cloned at fit).
    layout
        The job's series layout.
    lookback
        Look-back features (the target at the origin and before it); ``None``: one season (at
        least 4, at most 48 steps).
    max_samples
        Most (series, origin, step) samples to train on (neighbouring origins are nearly the
        same sample: a few tens of thousands carry what a panel says).
    handles_missing
        The regressor takes NaN (LightGBM, XGBoost); otherwise missing features become 0 (the
        base's value).
    seed
        Seed of the sample subsampling.
    """

    def __init__(self, *, regressor: Any = None, layout: SeriesLayout | None = None,
                 lookback: int | None = None, max_samples: int = 50_000,
                 handles_missing: bool = False, seed: int = 0) -> None:
        self.regressor = regressor
        self.layout = layout
        self.lookback = lookback
        self.max_samples = max_samples
        self.handles_missing = handles_missing
        self.seed = seed

    # -------------------------------------------------------------------------- spec

    def _spec(self, history: History) -> FeatureSpec:
        layout = self._layout()
        m = max(1, int(layout.season_length))
        lookback = int(self.lookback) if self.lookback else int(min(48, max(4, m)))
        lags = layout.target_lags
        window = layout.rolling_window
        if lags == "auto" or window == "auto":
            series = [history.y[a:b] for a, b in zip(history.starts[:-1], history.starts[1:],
                                                      strict=True)]
            auto, auto_window = auto_lags(series[:200], layout.freq, m)
            lags = auto if lags == "auto" else lags
            window = (auto_window or None) if window == "auto" else window
        lags = tuple(lags) if isinstance(lags, tuple) else ()
        window = int(window) if isinstance(window, int) and window > 1 else max(3, min(m, 48))
        frame = history.frame
        covariates = [c for c in layout.covariates(frame.columns) if not c.startswith("__")]
        unknown = [c for c in covariates if c in set(layout.unknown_features)]
        known = [c for c in covariates if c not in set(unknown)]
        if layout.feature_lags:
            unknown += [c for c in known if pd.api.types.is_numeric_dtype(frame[c])
                        and not pd.api.types.is_bool_dtype(frame[c])]
        categorical = {c: sorted(frame[c].dropna().astype(str).unique().tolist())
                       for c in covariates if not pd.api.types.is_numeric_dtype(frame[c])
                       and not pd.api.types.is_bool_dtype(frame[c])}
        holidays = layout.holidays_country if layout.freq.split("-")[0] in _DAILY else None
        return FeatureSpec(lookback=lookback, target_lags=lags, window=window, season=m,
                           calendar=calendar_columns(layout.freq), holidays=holidays,
                           known=known, unknown=list(dict.fromkeys(unknown)),
                           categorical=categorical, stl=layout.use_stl,
                           cycle=self._cycle(history))

    def _cycle(self, history: History) -> int:
        """The longer cycle the cycle features follow, when the typical series holds two."""
        layout = self._layout()
        cycle = layout.longer_cycle()
        typical = int(np.median(history.lengths())) if len(history.lengths()) else 0
        return cycle if cycle and typical >= 2 * cycle + layout.horizon else 0

    # ----------------------------------------------------------------------- samples

    def _samples(self, history: History, spec: FeatureSpec) -> tuple[np.ndarray, ...]:
        horizon = self._layout().horizon
        warm = max(spec.lookback, spec.window, spec.season, *(spec.target_lags or (1,)))
        codes, origins, steps = [], [], []
        for code, n in enumerate(history.lengths()):
            first = int(min(max(1, warm - 1), max(0, n // 3)))
            o = np.arange(first, n - 1)
            if len(o) == 0:
                continue
            h = np.arange(1, horizon + 1)
            oo = np.repeat(o, len(h))
            hh = np.tile(h, len(o))
            keep = oo + hh <= n - 1
            codes.append(np.full(int(keep.sum()), code))
            origins.append(oo[keep])
            steps.append(hh[keep])
        c, o, h = (np.concatenate(v) for v in (codes, origins, steps))
        if len(c) > self.max_samples:
            rng = np.random.default_rng(self.seed)
            # Later origins are likelier to be kept: they resemble the forecast to come.
            rank = o / np.maximum(1, history.lengths()[c])
            weight = 0.25 + rank
            chosen = rng.choice(len(c), size=int(self.max_samples), replace=False,
                                p=weight / weight.sum())
            chosen.sort()
            c, o, h = c[chosen], o[chosen], h[chosen]
        return c, o, h

    def _design(self, history: History, spec: FeatureSpec, codes: np.ndarray,
                origins: np.ndarray, steps: np.ndarray, times: pd.DatetimeIndex,
                rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(features, bases, scales) of the samples."""
        fitted = {label: i for i, label in enumerate(self.labels_)}
        ids = np.asarray([fitted.get(label, -1) for label in history.labels])
        own = history.scales()
        scales = np.where(ids >= 0, self.scales_[np.maximum(ids, 0)], own)
        at_origin = history.frame.iloc[history.starts[codes] + origins]
        features, base = make_features(spec, history.y, history.starts, scales, codes,
                                       origins, steps, times, rows, at_origin,
                                       series_ids=ids[codes])
        if not self.handles_missing:
            features = features.fillna(0.0)
        return features, base, scales[codes]

    def _training_design(self, history: History, spec: FeatureSpec, codes: np.ndarray,
                         origins: np.ndarray, steps: np.ndarray
                         ) -> tuple[pd.DataFrame, np.ndarray]:
        """The features and the (relative, scaled) target of samples of the history."""
        rows = history.frame.iloc[history.starts[codes] + origins + steps]
        times = pd.DatetimeIndex(rows["__time"].to_numpy())
        X, base, scale = self._design(history, spec, codes, origins, steps, times, rows)
        target = (history.y[history.starts[codes] + origins + steps] - base) / scale
        return X, target

    # ---------------------------------------------------------------------- fit/predict

    def _fit(self, history: History) -> None:
        spec = self._spec(history)
        self.spec_ = spec
        self.labels_ = list(history.labels)
        self.scales_ = history.scales()
        if spec.stl:
            spec.profiles = seasonal_profiles(history.y, history.starts, self.scales_,
                                              spec.season)
        codes, origins, steps = self._samples(history, spec)
        X, target = self._training_design(history, spec, codes, origins, steps)
        spec.names = list(X.columns)
        self.model_ = clone(self.regressor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            self.model_.fit(X, target)
            residuals = target - np.asarray(self.model_.predict(X), dtype=float)
        self.residual_std_ = float(np.nanstd(residuals)) if len(residuals) else 0.0

    def _forecast(self, history: History, requests: Requests) -> np.ndarray:
        spec = self.spec_
        layout = self._layout()
        codes = requests.codes
        origins = history.lengths()[codes] - 1
        # Past the horizon the step feature stays at the horizon; the base and the look-back
        # still end at the origin.
        steps = np.minimum(requests.steps, layout.horizon)
        times = pd.DatetimeIndex(pd.to_datetime(requests.frame[layout.time_column]).to_numpy())
        X, base, scale = self._design(history, spec, codes, origins, steps, times,
                                      requests.frame)
        if (requests.steps > steps).any():
            m = max(1, spec.season)
            far = requests.steps
            base_pos = origins + far - m * np.ceil(far / m).astype(np.int64) if m > 1 \
                else origins
            base = history.y[history.starts[codes] + np.maximum(base_pos, 0)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            prediction = np.asarray(self.model_.predict(X[spec.names]), dtype=float)
        return base + scale * prediction


def _raw_source(name: str, layout: SeriesLayout, spec: FeatureSpec) -> list[str]:
    """The raw columns an engineered feature comes from."""
    if name in spec.known:
        return [name]
    if name.endswith("_at_origin") and name[: -len("_at_origin")] in spec.unknown:
        return [name[: -len("_at_origin")]]
    if name == "_automl_series":
        return list(layout.id_columns) or [layout.target]
    if name == "_automl_horizon" or name.startswith(("_automl_holiday", "_automl_is_paid")) \
            or name[len("_automl_"):] in spec.calendar:
        return [layout.time_column]
    return [layout.target]  # look-back, lags, windows, the base, decomposition


def feature_importance(model: RegressionForecaster, *, max_samples: int = 2000,
                       n_repeats: int = 3, seed: int = 0, time_budget: float | None = None
                       ) -> tuple[dict[str, float], dict[str, float], int]:
    """Permutation importance of a fitted regression forecaster's engineered features, and of
    the raw columns they come from: (engineered shares, raw shares, samples used).

    The samples are the latest (series, origin, step) samples of the history the model was
    fitted on (up to ``max_samples``); the score is the mean absolute error of the scaled
    target. A raw column's share is the sum of its features' (the target's history gets the
    look-back, lag, window and decomposition features; the time column the calendar, holiday
    and step features; the id columns the series feature).
    """
    import time

    start = time.perf_counter()
    layout = model._layout()
    history, spec = model.history_, model.spec_
    codes, origins, steps = model._samples(history, spec)
    lengths = history.lengths()
    latest = np.argsort(lengths[codes] - origins, kind="stable")[:max_samples]
    codes, origins, steps = codes[latest], origins[latest], steps[latest]
    X, target = model._training_design(history, spec, codes, origins, steps)
    X = X[spec.names]
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        reference = float(np.mean(np.abs(model.model_.predict(X) - target)))
        drops = np.zeros(len(spec.names))
        for j, name in enumerate(spec.names):
            if time_budget is not None and time.perf_counter() - start > time_budget:
                break
            shuffled = X.copy()
            losses = []
            for _ in range(max(1, n_repeats)):
                shuffled[name] = rng.permutation(X[name].to_numpy())
                losses.append(float(np.mean(np.abs(model.model_.predict(shuffled) - target))))
            drops[j] = max(0.0, float(np.mean(losses)) - reference)
    total = float(drops.sum())
    shares = drops / total if total > 0 else drops
    engineered = {name: float(v) for name, v in zip(spec.names, shares, strict=True)}
    raw: dict[str, float] = {c: 0.0 for c in [*layout.id_columns, layout.time_column,
                                              *spec.known, *spec.unknown, layout.target]}
    for name, share in engineered.items():
        sources = _raw_source(name, layout, spec)
        for column in sources:
            raw[column] = raw.get(column, 0.0) + share / len(sources)
    return engineered, raw, int(len(target))
