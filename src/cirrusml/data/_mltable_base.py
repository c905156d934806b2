"""What every MLTable transformation is: one object that parses, transforms and predicts.

Each transformation of an MLTable file (``read_delimited``, ``drop_columns``, ``take``, ...) is a
small class registered under its Azure name in :mod:`cirrusml.data._mltable_steps`. A class

* parses and validates its raw YAML options (:meth:`Transformation.parse`, raising through the
  table's :class:`~cirrusml.data._mltable_checks.Checker` so messages name the file);
* transforms the rows being read (:meth:`TableStep.apply`);
* reports the columns it yields from the column names alone, reading nothing
  (:meth:`TableStep.columns`), which is how :meth:`MLTable.column_names` answers cheaply.

Both answers live in the same class, so what a step does and what it is said to do cannot drift
apart. Read steps (:class:`~cirrusml.data._mltable_read.ReadStep`) start the chain instead: they
turn the table's files into a :class:`Frame`, or their headers into column names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from cirrusml.data._mltable_checks import Checker

__all__ = ["Frame", "TableStep", "Transformation"]


@dataclass
class Frame:
    """Rows being transformed, with the file and line each row came from (for messages)."""

    df: pd.DataFrame
    source: np.ndarray  # index into ``files`` for each row
    row: np.ndarray  # 1-based data row within its file
    files: list[str]

    def rows(self, selector: slice | np.ndarray) -> Frame:
        """The rows ``selector`` picks, still knowing where each came from."""
        return Frame(
            self.df.iloc[selector].reset_index(drop=True),
            self.source[selector],
            self.row[selector],
            self.files,
        )

    def origin(self, position: int) -> str:
        """Where row ``position`` came from, for messages: ``data row 3 of 'a.csv'``."""
        return f"data row {int(self.row[position])} of '{self.files[int(self.source[position])]}'"


class Transformation(ABC):
    """One transformation of an MLTable, with its options parsed and checked."""

    #: The transformation's key in an MLTable file, as Azure names it.
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def parse(cls, raw: Any, check: Checker) -> Self:
        """Build the step from its raw YAML value (the part after ``name:``)."""


class TableStep(Transformation):
    """A transformation after the read step: rows and column names in, rows and names out."""

    @abstractmethod
    def apply(self, frame: Frame, check: Checker) -> Frame:
        """Transform ``frame`` (in place or as a new frame) and return the result."""

    @abstractmethod
    def columns(self, names: list[str], check: Checker) -> list[str]:
        """The column names this step yields from ``names``, checking what it needs."""
