"""TCNForecaster: a temporal convolutional network, one global model over every series.

A sample is one series and one **origin** (the last point known). The network reads the
look-back window ending at the origin and outputs every step of the horizon at once (direct
multi-horizon):

* the window's channels are the target relative to the origin's value, in units of the series'
  **scale** (its mean absolute value in the history fitted on), a mask (0 where the window
  reaches before the series' start), the calendar (cyclical sine/cosine pairs, holidays of
  ``country_or_region_for_holidays`` for daily data) and the numeric covariates, standardised;
* a stack of residual blocks of dilated causal 1-D convolutions (dilation 1, 2, 4, ...) encodes
  the window into its last position's channels (and their mean over the window);
* the head reads that encoding, the origin's level (its value over the scale) and, for every step
  of the horizon, the step's calendar and known numeric covariates; it outputs each step's target
  relative to its **base** (the seasonal-naive forecast or the origin's value, whichever is
  nearer the training targets by default) over the scale. The forecast is ``base + scale *
  output``.

Training samples every origin of every series (the latest kept first past ``max_samples``), holds
out each series' last windows to stop early (after ``patience`` epochs without improvement), and,
with ``refit``, trains again on every window for the best number of epochs. An epoch is at least
2,048 windows (a small panel passes over its windows several times). Adam, an L1 loss (the scale
makes it MASE-like), a fixed seed and ``n_jobs`` threads make a fit repeatable.

Steps past the horizon are forecast recursively: the first ``horizon`` forecasts extend the
series and the network forecasts again from there.

PyTorch is imported only inside the functions that fit or forecast (``import cirrusml.forecast``
never needs it). The fitted network is kept as its configuration and its weights as NumPy arrays,
so a fitted forecaster pickles and unpickles without PyTorch; the network is rebuilt on the first
forecast.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import InvalidSpecError
from cirrusml.forecast._base import Forecaster, History, Requests
from cirrusml.forecast._features import calendar, calendar_columns, holiday_features
from cirrusml.tasks import SeriesLayout

__all__ = ["TCNForecaster"]

_DAILY = ("D", "B")

#: Period of each cyclical calendar feature (``year`` is left out: the scaling handles level).
_PERIODS = {"minute": 1440.0, "hour": 24.0, "wday": 7.0, "day": 31.0, "yday": 366.0,
            "week": 53.0, "month": 12.0, "quarter": 4.0}
_FLAGS = ("am_pm", "half")
#: The fewest windows an epoch trains on.
_EPOCH_SAMPLES = 2048


def _torch() -> Any:
    """PyTorch, or a clear error saying how to install it."""
    try:
        # Imported by name: PyTorch is optional, and the type checker stays out of it.
        torch = importlib.import_module("torch")
    except ImportError as error:
        raise InvalidSpecError(
            'TCNForecaster needs PyTorch: pip install "cirrusml[dnn]" (or leave '
            "training.enable_dnn_training off).") from error
    return torch


@functools.lru_cache(maxsize=1)
def _network_class() -> type:
    """The network's module class (defined on first use, so that torch is imported lazily)."""
    torch = _torch()
    nn, functional = torch.nn, torch.nn.functional
    module: Any = nn.Module

    class Block(module):
        """Two dilated causal convolutions with a residual connection."""

        def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
            super().__init__()
            self.pad = (kernel - 1) * dilation
            self.first = nn.Conv1d(channels, channels, kernel, dilation=dilation)
            self.second = nn.Conv1d(channels, channels, kernel, dilation=dilation)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: Any) -> Any:
            h = self.dropout(torch.relu(self.first(functional.pad(x, (self.pad, 0)))))
            h = self.dropout(torch.relu(self.second(functional.pad(h, (self.pad, 0)))))
            return x + h

    class Network(module):
        """Window (batch, inputs, lookback) + future (batch, horizon, features) -> horizon."""

        def __init__(self, inputs: int, future: int, horizon: int, channels: int, layers: int,
                     kernel: int, dropout: float) -> None:
            super().__init__()
            self.entry = nn.Conv1d(inputs, channels, 1)
            self.blocks = nn.ModuleList(Block(channels, kernel, 2 ** i, dropout)
                                        for i in range(layers))
            hidden = max(32, 2 * channels)
            self.head = nn.Sequential(
                nn.Linear(2 * channels + 1 + horizon * future, hidden), nn.ReLU(),
                nn.Dropout(dropout), nn.Linear(hidden, horizon))

        def forward(self, window: Any, future: Any, level: Any) -> Any:
            h = self.entry(window)
            for block in self.blocks:
                h = block(h)
            # The last position's channels, and their mean over the window (a summary of what
            # lies past the receptive field).
            return self.head(torch.cat([h[:, :, -1], h.mean(dim=2), level, future.flatten(1)],
                                       dim=1))

    return Network


@dataclass
class Samples:
    """The windows a fit trains on and holds out: series codes and origins."""

    codes: np.ndarray
    origins: np.ndarray
    held_codes: np.ndarray
    held_origins: np.ndarray


class Alone:
    """The peers of a fit in one process (see ``TCNForecaster._train``): nothing to agree on.
    :class:`~cirrusml.forecast._tcn_cluster.GlooPeers` is the same for processes on a cluster."""

    world = 1

    def wrap(self, network: Any) -> Any:
        return network

    def most(self, value: int) -> int:
        return int(value)

    def total(self, values: list[float]) -> list[float]:
        return list(values)

    def check_time(self) -> None:
        return None


class _Threads:
    """Run PyTorch with ``n`` threads and its own random state; restore both afterwards."""

    def __init__(self, torch: Any, n: int, seed: int) -> None:
        self.torch, self.n, self.seed = torch, max(1, int(n)), int(seed)

    def __enter__(self) -> None:
        self.before = self.torch.get_num_threads()
        self.torch.set_num_threads(self.n)
        self.rng = self.torch.random.fork_rng(devices=[])
        self.rng.__enter__()
        self.torch.manual_seed(self.seed)

    def __exit__(self, *exc: Any) -> None:
        self.rng.__exit__(*exc)
        self.torch.set_num_threads(self.before)


class TCNForecaster(Forecaster):
    """A temporal convolutional network forecasting every step of the horizon at once.

    Parameters
    ----------
    layout
        The job's series layout.
    lookback
        Steps of the window; ``None``: two seasons or two horizons, whichever is longer (at least
        8), but no longer than the receptive field of the convolutions (and 96).
    channels, layers, kernel_size, dropout
        Width of the convolutions, number of residual blocks (dilations 1, 2, 4, ...), the
        convolutions' kernel and the dropout rate.
    learning_rate, epochs, batch_size, patience
        Adam's learning rate, the most passes over the samples, the batch size, and the epochs
        without a better validation loss before stopping.
    max_samples
        Most training windows (the latest origins are likelier to be kept).
    base
        What the network's outputs are relative to: ``"seasonal"`` (the seasonal-naive
        forecast; the origin's value without a season), ``"last"`` (the origin's value), or
        ``"auto"``: the one of the two nearer the training targets.
    refit
        After early stopping, train again on every window (the held-out ones too) for the best
        number of epochs.
    n_jobs
        Threads PyTorch uses.
    seed
        Seed of the sampling, the initial weights and the dropout.
    cluster
        A :class:`~cirrusml.execution.ClusterShare`: train data-parallel across that many of a
        Dask cluster's workers (``training_mode: distributed``), the series partitioned
        between them; ``None`` trains in this process. The fitted forecaster is the same
        ordinary model either way (its forecasts never touch the cluster).
    """

    config_: dict[str, Any]
    scales_: np.ndarray
    validation_loss_: float | None
    #: The Dask workers the network trained across (empty: in this process).
    workers_: list[str]

    def __init__(self, *, layout: SeriesLayout | None = None, lookback: int | None = None,
                 channels: int = 16, layers: int = 3, kernel_size: int = 3,
                 dropout: float = 0.1, learning_rate: float = 3e-3, epochs: int = 30,
                 batch_size: int = 128, patience: int = 5, max_samples: int = 4000,
                 base: str = "auto", refit: bool = True, n_jobs: int = 1,
                 seed: int = 0, cluster: Any = None) -> None:
        self.layout = layout
        self.lookback = lookback
        self.channels = channels
        self.layers = layers
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.max_samples = max_samples
        self.base = base
        self.refit = refit
        self.n_jobs = n_jobs
        self.seed = seed
        self.cluster = cluster

    # ---------------------------------------------------------------------- features

    def _season(self) -> int:
        return max(1, int(self._layout().season_length))

    def _lookback(self) -> int:
        if self.lookback:
            return max(2, int(self.lookback))
        layout = self._layout()
        # No longer than the convolutions' receptive field: steps past it would cost time and
        # reach the encoding only through its mean.
        field = 1 + 2 * (int(self.kernel_size) - 1) * (2 ** int(self.layers) - 1)
        return int(min(96, field, max(8, 2 * self._season(), 2 * layout.horizon)))

    def _time_features(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Calendar (sine/cosine of each cycle, flags) and holidays of ``times``."""
        layout = self._layout()
        names = [n for n in calendar_columns(layout.freq) if n in _PERIODS or n in _FLAGS]
        raw = calendar(times, names)
        columns: list[np.ndarray] = []
        for name in names:
            values = raw[f"_automl_{name}"]
            if name in _PERIODS:
                angle = 2 * np.pi * values / _PERIODS[name]
                columns += [np.sin(angle), np.cos(angle)]
            else:
                columns.append(values)
        if layout.holidays_country and layout.freq.split("-")[0] in _DAILY and len(times):
            columns += list(holiday_features(times, layout.holidays_country).values())
        if not columns:
            return np.zeros((len(times), 0))
        return np.stack(columns, axis=1)

    def _covariate_columns(self, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        """The numeric (and boolean) covariates: (known at forecast time, unknown)."""
        layout = self._layout()
        unknown = set(layout.unknown_features)
        numeric = [c for c in layout.covariates(frame.columns) if not c.startswith("__")
                   and (pd.api.types.is_numeric_dtype(frame[c])
                        or pd.api.types.is_bool_dtype(frame[c]))]
        return [c for c in numeric if c not in unknown], [c for c in numeric if c in unknown]

    def _covariates(self, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """``columns`` of ``frame`` standardised with the fitted statistics (missing: 0)."""
        if not columns:
            return np.zeros((len(frame), 0))
        values = np.stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                           for c in columns], axis=1)
        mean = np.asarray([self.covariate_stats_[c][0] for c in columns])
        std = np.asarray([self.covariate_stats_[c][1] for c in columns])
        return np.nan_to_num((values - mean) / std)

    def _history_scales(self, history: History) -> np.ndarray:
        fitted = {label: i for i, label in enumerate(self.labels_)}
        own = history.scales()
        return np.asarray([self.scales_[fitted[label]] if label in fitted else own[i]
                           for i, label in enumerate(history.labels)])

    # ----------------------------------------------------------------------- windows

    def _bases(self, y: np.ndarray, starts: np.ndarray, codes: np.ndarray,
               origins: np.ndarray) -> np.ndarray:
        """Each sample's base for steps 1..horizon, shape (samples, horizon)."""
        horizon = self._layout().horizon
        m = self._season()
        last = y[starts[codes] + origins]
        if self.base_ == "last" or m <= 1:
            return np.repeat(last[:, None], horizon, axis=1)
        steps = np.arange(1, horizon + 1)
        position = origins[:, None] + steps[None, :] - m * np.ceil(steps / m).astype(np.int64)
        ok = position >= 0
        index = starts[codes][:, None] + np.maximum(position, 0)
        return np.where(ok, y[index], last[:, None])

    def _windows(self, y: np.ndarray, past: np.ndarray, future: np.ndarray,
                 starts: np.ndarray, scales: np.ndarray, codes: np.ndarray,
                 origins: np.ndarray) -> tuple[np.ndarray, ...]:
        """(window, future features, level, base) of samples (``codes``, ``origins``).

        ``y``, ``past`` (window channels) and ``future`` (head features) hold every series one
        after the other, series ``i`` from ``starts[i]``; ``future`` needs rows up to each
        origin plus the horizon.
        """
        lookback = self._lookback()
        horizon = self._layout().horizon
        offsets = np.arange(-lookback + 1, 1)
        position = origins[:, None] + offsets[None, :]
        inside = position >= 0
        index = starts[codes][:, None] + np.maximum(position, 0)
        scale = scales[codes][:, None]
        last = y[starts[codes] + origins][:, None]
        values = np.where(inside, (y[index] - last) / scale, 0.0)
        channels = [values[:, None, :], inside[:, None, :].astype(float)]
        if past.shape[1]:
            channels.append(np.where(inside[:, None, :], past[index].transpose(0, 2, 1), 0.0))
        window = np.concatenate(channels, axis=1).astype(np.float32)
        # Steps past a series' end (training windows near it) repeat its last row.
        ends = starts[1:][codes][:, None] - 1
        ahead = np.minimum(starts[codes][:, None] + origins[:, None]
                           + np.arange(1, horizon + 1)[None, :], ends)
        coming = future[ahead].astype(np.float32)
        level = (last / scale).astype(np.float32)
        bases = self._bases(y, starts, codes, origins)
        return window, coming, level, bases

    def _samples(self, history: History, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training (codes, origins) and held-out (codes, origins): each series' last windows
        are held out, and no training target reaches into theirs."""
        horizon = self._layout().horizon
        m = self._season()
        train_c, train_o, held_c, held_o = [], [], [], []
        for code, n in enumerate(history.lengths()):
            n = int(n)
            first = int(min(max(1, m), max(1, n // 3)))
            last_full = n - 1 - horizon
            count = int(max(1, min(horizon, (last_full - first) // 10)))
            cut = last_full - count + 1
            if cut - horizon >= first + 1:
                held = np.arange(cut, last_full + 1)
                train = np.arange(first, cut - horizon + 1)
            else:
                held = np.zeros(0, dtype=np.int64)
                train = np.arange(first, max(first, last_full) + 1) if last_full >= first \
                    else np.arange(0, max(1, n - 1))
            train_c.append(np.full(len(train), code))
            train_o.append(train)
            held_c.append(np.full(len(held), code))
            held_o.append(held)
        c, o = np.concatenate(train_c), np.concatenate(train_o)
        if len(c) > self.max_samples:
            rank = o / np.maximum(1, history.lengths()[c])
            weight = 0.25 + rank
            chosen = np.sort(rng.choice(len(c), size=int(self.max_samples), replace=False,
                                        p=weight / weight.sum()))
            c, o = c[chosen], o[chosen]
        hc, ho = np.concatenate(held_c), np.concatenate(held_o)
        if len(hc) > max(1, self.max_samples // 4):
            chosen = np.sort(rng.choice(len(hc), size=max(1, self.max_samples // 4),
                                        replace=False))
            hc, ho = hc[chosen], ho[chosen]
        return c.astype(np.int64), o.astype(np.int64), hc.astype(np.int64), ho.astype(np.int64)

    def _targets(self, y: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                 scales: np.ndarray, codes: np.ndarray, origins: np.ndarray,
                 bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled targets relative to the bases, and their mask (steps past the series' end)."""
        horizon = self._layout().horizon
        position = origins[:, None] + np.arange(1, horizon + 1)[None, :]
        ok = position < lengths[codes][:, None]
        index = starts[codes][:, None] + np.minimum(position, lengths[codes][:, None] - 1)
        target = np.where(ok, (y[index] - bases) / scales[codes][:, None], 0.0)
        return target.astype(np.float32), ok.astype(np.float32)

    # -------------------------------------------------------------------------- fit

    def _choose_base(self, history: History, codes: np.ndarray, origins: np.ndarray) -> str:
        """``base``, or with ``auto`` the base nearer the training targets (mean absolute
        error in units of the scale): the network then learns the smaller correction."""
        if self.base != "auto":
            return str(self.base)
        errors = {}
        for base in ("seasonal", "last"):
            self.base_ = base
            bases = self._bases(history.y, history.starts, codes, origins)
            target, mask = self._targets(history.y, history.starts, history.lengths(),
                                         self.scales_, codes, origins, bases)
            errors[base] = float((np.abs(target) * mask).sum() / max(1.0, mask.sum()))
        return "seasonal" if errors["seasonal"] <= errors["last"] else "last"

    def _inputs(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        """The window channels and the head features of every history row."""
        frame = history.frame
        times = pd.DatetimeIndex(frame["__time"].to_numpy())
        calendar_part = self._time_features(times)
        known = self._covariates(frame, self.known_)
        unknown = self._covariates(frame, self.unknown_)
        past = np.concatenate([calendar_part, known, unknown], axis=1)
        future = np.concatenate([calendar_part, known], axis=1)
        return past, future

    def _train(self, torch: Any, peers: Any, data: dict[str, np.ndarray],
               held: dict[str, np.ndarray] | None, validate: bool, epochs: int,
               rng: np.random.Generator) -> tuple[Any, int, float | None]:
        """A network trained on ``data``; with ``validate``, stopped early on ``held``. Returns
        the network (with the best weights), the number of epochs that gave them and the best
        validation loss.

        ``peers`` are the processes training the same network on their own windows
        (:class:`Alone` for one process): the network is wrapped so that their gradients are
        averaged, each epoch takes as many steps in every process, and the validation loss is
        the one over every process' held-out windows."""
        network = _network_class()(**self.config_)
        trained = peers.wrap(network)
        optimizer = torch.optim.Adam(trained.parameters(), lr=float(self.learning_rate))
        tensors = {k: torch.from_numpy(v) for k, v in data.items()}
        checks = {k: torch.from_numpy(v) for k, v in held.items()} \
            if held and len(held["level"]) else None
        n = len(data["level"])
        # Every process takes its share of the batch: the averaged gradient is one batch's.
        batch = max(1, int(self.batch_size) // peers.world)
        best, best_epoch, best_state, waited = np.inf, epochs, None, 0
        for epoch in range(epochs):
            trained.train()
            # An epoch sees at least _EPOCH_SAMPLES windows (small panels pass over theirs
            # several times), so that a few epochs are enough steps of Adam.
            passes = max(1, -(-_EPOCH_SAMPLES // (n * peers.world)))
            order = torch.from_numpy(np.concatenate([rng.permutation(n) for _ in range(passes)]))
            steps = peers.most(-(-len(order) // batch))
            for step in range(steps):
                # A process with fewer windows than its peers goes round its own again.
                begin = (step * batch) % len(order)
                rows = order[begin:begin + batch]
                out = trained(tensors["window"][rows], tensors["future"][rows],
                              tensors["level"][rows])
                mask = tensors["mask"][rows]
                loss = (torch.abs(out - tensors["target"][rows]) * mask).sum() / \
                    mask.sum().clamp(min=1.0)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trained.parameters(), 5.0)
                optimizer.step()
            peers.check_time()
            if not validate:
                continue
            network.eval()
            errors = weight = 0.0
            if checks is not None:
                with torch.no_grad():
                    out = network(checks["window"], checks["future"], checks["level"])
                    errors = float((torch.abs(out - checks["target"]) * checks["mask"]).sum())
                    weight = float(checks["mask"].sum())
            errors, weight = peers.total([errors, weight])
            score = errors / max(1.0, weight)
            if score < best - 1e-6:
                best, best_epoch, waited = score, epoch + 1, 0
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                waited += 1
                if waited >= max(1, int(self.patience)):
                    break
        if best_state is not None:
            network.load_state_dict(best_state)
        return network, best_epoch, (float(best) if validate else None)

    def _design(self, history: History, past: np.ndarray, future: np.ndarray,
                scales: np.ndarray, codes: np.ndarray, origins: np.ndarray
                ) -> dict[str, np.ndarray]:
        window, coming, level, bases = self._windows(history.y, past, future, history.starts,
                                                     scales, codes, origins)
        target, mask = self._targets(history.y, history.starts, history.lengths(), scales,
                                     codes, origins, bases)
        return {"window": window, "future": coming, "level": level, "target": target,
                "mask": mask}

    def _prepare(self, history: History) -> tuple[Samples, np.random.Generator]:
        """Fix what the network is fitted on (the series' scales, the covariates' statistics,
        the network's shape, the base) and choose the training and held-out windows. Returns
        them and the random stream they were drawn from (training goes on drawing from it)."""
        if self.base not in ("auto", "seasonal", "last"):
            raise InvalidSpecError(f"TCNForecaster base must be 'auto', 'seasonal' or 'last', "
                                   f"got {self.base!r}.")
        layout = self._layout()
        self.labels_ = list(history.labels)
        self.validation_loss_ = None
        self.scales_ = history.scales()
        self.known_, self.unknown_ = self._covariate_columns(history.frame)
        self.covariate_stats_ = {}
        for column in (*self.known_, *self.unknown_):
            values = pd.to_numeric(history.frame[column], errors="coerce").to_numpy(dtype=float)
            std = float(np.nanstd(values)) if np.isfinite(values).any() else 1.0
            self.covariate_stats_[column] = (float(np.nanmean(values)) if np.isfinite(
                values).any() else 0.0, std if std > 1e-12 else 1.0)
        # The channels' count from one series (every series has the same).
        past, future = self._inputs(history.take(np.arange(1)))
        self.config_ = {"inputs": 2 + past.shape[1], "future": future.shape[1],
                        "horizon": int(layout.horizon), "channels": int(self.channels),
                        "layers": int(self.layers), "kernel": int(self.kernel_size),
                        "dropout": float(self.dropout)}
        rng = np.random.default_rng(self.seed)
        samples = Samples(*self._samples(history, rng))
        self.base_ = self._choose_base(history, samples.codes, samples.origins)
        return samples, rng

    def train_windows(self, torch: Any, peers: Any, history: History, scales: np.ndarray,
                      samples: Samples, validate: bool, rng: np.random.Generator
                      ) -> tuple[Any, int, float | None]:
        """Build the windows of ``samples`` from ``history`` (whose series have ``scales``)
        and train the network on them (with ``peers``, see :meth:`_train`), then, with
        ``refit``, again on every window for the best number of epochs. Returns the network,
        the best number of epochs and the validation loss."""
        past, future = self._inputs(history)
        data = self._design(history, past, future, scales, samples.codes, samples.origins)
        held = self._design(history, past, future, scales, samples.held_codes,
                            samples.held_origins) if len(samples.held_codes) else None
        with _Threads(torch, self.n_jobs, self.seed):
            network, best_epoch, loss = self._train(torch, peers, data, held, validate,
                                                    int(self.epochs), rng)
            if self.refit and validate:
                both = data if held is None else \
                    {k: np.concatenate([data[k], held[k]]) for k in data}
                torch.manual_seed(self.seed)
                network, _, _ = self._train(torch, peers, both, None, False, best_epoch, rng)
        network.eval()
        return network, best_epoch, loss

    def _fit(self, history: History) -> None:
        torch = _torch()
        samples, rng = self._prepare(history)
        validate = len(samples.held_codes) > 0
        if self.cluster is not None:
            from cirrusml.forecast._tcn_cluster import train_on_cluster

            state, self.epochs_, self.validation_loss_, self.workers_ = train_on_cluster(
                self, history, samples, validate, rng)
            self.state_ = state
            self.__dict__.pop("_network", None)
            return
        network, self.epochs_, self.validation_loss_ = self.train_windows(
            torch, Alone(), history, self.scales_, samples, validate, rng)
        self.workers_ = []
        self.state_ = {k: v.detach().cpu().numpy().copy()
                       for k, v in network.state_dict().items()}
        self._network = network

    # ----------------------------------------------------------------------- predict

    def __getstate__(self) -> dict[str, Any]:
        # The PyTorch module is rebuilt from ``state_`` on the first forecast after unpickling.
        state = dict(super().__getstate__())
        state.pop("_network", None)
        return state

    def _module(self, torch: Any) -> Any:
        network = getattr(self, "_network", None)
        if network is None:
            network = _network_class()(**self.config_)
            network.load_state_dict({k: torch.from_numpy(np.asarray(v))
                                     for k, v in self.state_.items()})
            network.eval()
            self._network = network
        return network

    def _extended(self, history: History, requests: Requests, wanted: np.ndarray,
                  total: int) -> tuple[np.ndarray, ...]:
        """The requested series (``wanted`` codes) with ``total`` steps appended past their end:
        (y with NaN ahead, window channels, head features, starts, lengths)."""
        layout = self._layout()
        ys, pasts, futures, lengths = [], [], [], []
        for code in wanted:
            frame = history.series_frame(int(code))
            grid = history.future_times(int(code), total, layout.freq)
            ahead = pd.DataFrame({"__time": grid})
            mine = requests.frame.loc[requests.codes == code]
            given = mine.assign(__time=pd.to_datetime(mine[layout.time_column]).to_numpy()) \
                .drop_duplicates("__time", keep="last").set_index("__time")
            for column in (*self.known_, *self.unknown_):
                # Known covariates come from the rows asked for; other steps (and unknown
                # covariates) repeat the series' last value.
                last = pd.to_numeric(frame[column], errors="coerce").astype(float).iloc[-1]
                values = pd.to_numeric(given[column], errors="coerce").astype(float) \
                    if column in self.known_ and column in given.columns else \
                    pd.Series(dtype=float)
                ahead[column] = ahead["__time"].map(values).fillna(last).to_numpy(dtype=float)
            both = pd.concat([frame[["__time", *self.known_, *self.unknown_]], ahead],
                             ignore_index=True)
            times = pd.DatetimeIndex(both["__time"].to_numpy())
            calendar_part = self._time_features(times)
            known = self._covariates(both, self.known_)
            unknown = self._covariates(both, self.unknown_)
            pasts.append(np.concatenate([calendar_part, known, unknown], axis=1))
            futures.append(np.concatenate([calendar_part, known], axis=1))
            ys.append(np.r_[frame["__y"].to_numpy(dtype=float), np.full(total, np.nan)])
            lengths.append(len(frame))
        starts = np.r_[0, np.cumsum([len(v) for v in ys])].astype(np.int64)
        return (np.concatenate(ys), np.concatenate(pasts), np.concatenate(futures), starts,
                np.asarray(lengths, dtype=np.int64))

    def _forecast(self, history: History, requests: Requests) -> np.ndarray:
        torch = _torch()
        horizon = self._layout().horizon
        wanted = np.unique(requests.codes)
        rounds = int(np.ceil(requests.max_steps / horizon))
        total = rounds * horizon
        y, past, future, starts, lengths = self._extended(history, requests, wanted, total)
        scales = self._history_scales(history)[wanted]
        local = np.arange(len(wanted))
        network = self._module(torch)
        with _Threads(torch, self.n_jobs, self.seed), torch.no_grad():
            for r in range(rounds):
                origins = lengths - 1 + r * horizon
                window, coming, level, bases = self._windows(y, past, future, starts, scales,
                                                             local, origins)
                out = np.concatenate([
                    network(torch.from_numpy(window[i:i + 1024]),
                            torch.from_numpy(coming[i:i + 1024]),
                            torch.from_numpy(level[i:i + 1024])).numpy()
                    for i in range(0, len(local), 1024)]).astype(float)
                values = bases + scales[:, None] * out
                index = starts[:-1][:, None] + origins[:, None] + np.arange(1, horizon + 1)
                y[index] = values
        position = {int(code): i for i, code in enumerate(wanted)}
        rows = np.asarray([position[int(c)] for c in requests.codes], dtype=np.int64)
        return y[starts[rows] + lengths[rows] - 1 + requests.steps]
