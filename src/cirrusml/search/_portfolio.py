"""The warm-start portfolio: configurations that were strong across the development datasets,
and the order a job tries them in.

``benchmarks/portfolio/build_portfolio.py`` learns the portfolio offline and ships it in
``portfolio.json``: per problem type (binary, multiclass, regression) a list of entries, each a
learner, its parameters and its normalised score on every development dataset (0 = constant
predictor, 1 = the best candidate there). The build orders the entries greedily by what each
adds to the mean best score per ``seconds ** cost_power`` it cost on those (small) datasets.

A job orders them again with the same rule, but with the seconds its cost model expects each
entry to take on *its* data (:func:`greedy_order`): on 40,000 rows a kernel method or a
deep forest costs a hundred LightGBM fits, not the three it cost on 5,000 rows, and moves back
behind the cheap configurations that promise nearly as much.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cirrusml.search._shipped import read_shipped

#: A portfolio file to use instead of the shipped one: a benchmarking aid, so that a dataset can
#: be scored with a portfolio built without it (``build_portfolio.py --leave-out``).
PORTFOLIO_ENV = "CIRRUS_PORTFOLIO"
#: The cost exponent of the gain-per-second rule when the portfolio file names none.
DEFAULT_COST_POWER = 0.5


def _read() -> dict[str, Any]:
    return read_shipped("portfolio.json", PORTFOLIO_ENV, "portfolio") or {}


def load_portfolio(problem: str) -> list[dict[str, Any]]:
    """The shipped portfolio for ``binary``, ``multiclass`` or ``regression`` (may be empty)."""
    return list(_read().get("portfolios", {}).get(problem, []))


def portfolio_cost_power(problem: str) -> float:
    """The exponent ``p`` of the portfolio's gain per ``second ** p``, as the build chose it
    for ``problem`` by its leave-one-dataset-out figures."""
    powers = _read().get("built_with", {}).get("cost_power", {})
    return float(powers.get(problem, DEFAULT_COST_POWER))


def greedy_order(scores: Sequence[Mapping[str, float]], seconds: Sequence[float],
                 cost_power: float, limit: int | None = None) -> list[int]:
    """Positions of the entries in the order that most raises, per ``seconds ** cost_power``,
    the mean over datasets of the best score found so far.

    ``scores[i]`` maps dataset to entry ``i``'s normalised score (a dataset it lacks counts as
    0); ``seconds[i]`` is what entry ``i`` costs. The order stops when no entry raises the mean
    any more, or after ``limit`` entries.
    """
    datasets = sorted(set().union(*scores)) if scores else []
    if not datasets:
        return []
    best = dict.fromkeys(datasets, 0.0)
    left = list(range(len(scores)))
    order: list[int] = []
    while left and (limit is None or len(order) < limit):
        def value(i: int) -> float:
            gain = sum(max(0.0, scores[i].get(d, 0.0) - best[d]) for d in datasets)
            return gain / len(datasets) / max(seconds[i], 1e-6) ** cost_power

        values = {i: value(i) for i in left}
        pick = max(left, key=lambda i: (values[i], -i))
        if values[pick] <= 0:
            break
        order.append(pick)
        left.remove(pick)
        for d in datasets:
            best[d] = max(best[d], scores[pick].get(d, 0.0))
    return order
