"""The MLTable steps that pick columns or rows: ``drop_columns``, ``keep_columns``, ``take``,
``skip`` and ``take_random_sample``.

Column steps check that every column they name exists (the message lists the columns there are);
row steps leave the columns as they are.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from cirrusml.data._mltable_base import Frame, TableStep
from cirrusml.data._mltable_checks import Checker

__all__ = ["DropColumns", "KeepColumns", "Skip", "Take", "TakeRandomSample"]


class _ColumnsStep(TableStep):
    """A step naming columns: ``[a, b]``, ``a`` or ``{columns: [a, b]}``."""

    def __init__(self, columns: list[str]) -> None:
        self.columns_named = columns

    @classmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        if isinstance(raw, dict) and set(raw) == {"columns"}:
            raw = raw["columns"]
        return cls(check.column_list(cls.name, raw))


class DropColumns(_ColumnsStep):
    """``drop_columns``: the table without the named columns."""

    name = "drop_columns"

    def apply(self, frame: Frame, check: Checker) -> Frame:
        check.require(self.name, self.columns_named, list(frame.df.columns))
        frame.df = frame.df.drop(columns=self.columns_named)
        return frame

    def columns(self, names: list[str], check: Checker) -> list[str]:
        check.require(self.name, self.columns_named, names)
        dropped = set(self.columns_named)
        return [n for n in names if n not in dropped]


class KeepColumns(_ColumnsStep):
    """``keep_columns``: only the named columns, in the table's order."""

    name = "keep_columns"

    def apply(self, frame: Frame, check: Checker) -> Frame:
        columns = list(frame.df.columns)
        check.require(self.name, self.columns_named, columns)
        wanted = set(self.columns_named)
        frame.df = frame.df[[c for c in columns if str(c) in wanted]].copy()
        return frame

    def columns(self, names: list[str], check: Checker) -> list[str]:
        check.require(self.name, self.columns_named, names)
        kept = set(self.columns_named)
        return [n for n in names if n in kept]


class _RowsStep(TableStep):
    """A step that picks rows and keeps every column."""

    def columns(self, names: list[str], check: Checker) -> list[str]:
        return names


class _CountStep(_RowsStep):
    """A row step given a number of rows: ``n`` or ``{count: n}``."""

    def __init__(self, count: int) -> None:
        self.count = count

    @classmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        return cls(check.count(cls.name, raw))


class Take(_CountStep):
    """``take: n``: the first ``n`` rows."""

    name = "take"

    def apply(self, frame: Frame, check: Checker) -> Frame:
        return frame.rows(slice(0, self.count))


class Skip(_CountStep):
    """``skip: n``: every row after the first ``n``."""

    name = "skip"

    def apply(self, frame: Frame, check: Checker) -> Frame:
        return frame.rows(slice(self.count, None))


class TakeRandomSample(_RowsStep):
    """``take_random_sample: {probability: p, seed: s}``: each row kept with chance ``p``."""

    name = "take_random_sample"

    def __init__(self, probability: float, seed: int | None) -> None:
        self.probability = probability
        self.seed = seed

    @classmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        step = cls.name
        opts = check.options(step, raw, ("probability", "seed"))
        if "probability" not in opts:
            raise check.fail(f"{step} needs a probability between 0 and 1, e.g. probability: 0.1.")
        probability = opts["probability"]
        if (
            isinstance(probability, bool)
            or not isinstance(probability, (int, float))
            or not 0 <= probability <= 1
        ):
            raise check.fail(f"{step} probability must be between 0 and 1, got {probability!r}.")
        seed = opts.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise check.fail(f"{step} seed must be a whole number (0 or more), got {seed!r}.")
        return cls(float(probability), seed)

    def apply(self, frame: Frame, check: Checker) -> Frame:
        rng = np.random.default_rng(self.seed)
        return frame.rows(rng.random(len(frame.df)) < self.probability)
