"""The registry of MLTable transformations, by their Azure names, and parsing a step list.

:data:`TRANSFORMATIONS` maps each supported name to its class; adding a transformation is one
class (see :mod:`cirrusml.data._mltable_base`) and one entry here. :func:`parse_steps` checks the
``transformations`` list of a table: every entry one known step, at most one read step, and that
one first. Names Azure knows but cirrusml does not run are refused with their own message.
"""

from __future__ import annotations

from typing import Any

from cirrusml.data._mltable_base import TableStep, Transformation
from cirrusml.data._mltable_checks import Checker, did_you_mean
from cirrusml.data._mltable_convert import ConvertColumnTypes
from cirrusml.data._mltable_read import READ_STEPS, ReadStep
from cirrusml.data._mltable_select import DropColumns, KeepColumns, Skip, Take, TakeRandomSample

__all__ = [
    "AZURE_ONLY_TRANSFORMATIONS",
    "READ_STEP_OPTIONS",
    "SUPPORTED_TRANSFORMATIONS",
    "TRANSFORMATIONS",
    "parse_steps",
]

_ALL: tuple[type[Transformation], ...] = (
    *READ_STEPS,
    ConvertColumnTypes,
    DropColumns,
    KeepColumns,
    Take,
    Skip,
    TakeRandomSample,
)
#: Every transformation cirrusml runs, by name, read steps first.
TRANSFORMATIONS: dict[str, type[Transformation]] = {step.name: step for step in _ALL}
SUPPORTED_TRANSFORMATIONS: tuple[str, ...] = tuple(TRANSFORMATIONS)
#: Options of each read step with their defaults, in the order ``save`` writes them.
READ_STEP_OPTIONS: dict[str, dict[str, Any]] = {step.name: step.defaults for step in READ_STEPS}
#: Transformations Azure knows that cirrusml does not run (yet).
AZURE_ONLY_TRANSFORMATIONS: tuple[str, ...] = (
    "read_delta_lake",
    "filter",
    "extract_columns_from_partition_format",
)


def parse_step(index: int, item: Any, check: Checker) -> Transformation:
    """Entry ``index`` of ``transformations``: ``name`` alone or ``{name: options}``."""
    if isinstance(item, str):
        name, raw = item, None
    elif isinstance(item, dict) and len(item) == 1:
        ((name, raw),) = item.items()
    else:
        raise check.fail(
            f"transformation #{index + 1} must be a mapping with one key, the "
            f"transformation's name (for example '- take: 10'), got {item!r}."
        )
    name = str(name)
    kind = TRANSFORMATIONS.get(name)
    if kind is not None:
        return kind.parse(raw, check)
    if name in AZURE_ONLY_TRANSFORMATIONS:
        raise check.fail(
            f"transformation '{name}' is not supported by cirrusml; remove it (supported: "
            f"{', '.join(SUPPORTED_TRANSFORMATIONS)})."
        )
    raise check.fail(
        f"unknown transformation '{name}'; {did_you_mean(name, SUPPORTED_TRANSFORMATIONS)}"
        f"supported transformations are {', '.join(SUPPORTED_TRANSFORMATIONS)}."
    )


def parse_steps(raw: Any, check: Checker) -> tuple[ReadStep | None, list[TableStep]]:
    """The read step (``None`` when the table declares none) and the steps after it."""
    if raw is None:
        return None, []
    if not isinstance(raw, list):
        raise check.fail(
            "'transformations' must be a list such as [- read_delimited: {delimiter: ','}], "
            f"got {raw!r}."
        )
    steps = [parse_step(i, item, check) for i, item in enumerate(raw)]
    reads = [i for i, s in enumerate(steps) if isinstance(s, ReadStep)]
    if len(reads) > 1:
        names = ", ".join(steps[i].name for i in reads)
        raise check.fail(f"has several read transformations ({names}); keep exactly one.")
    if reads and reads[0] != 0:
        raise check.fail(
            f"'{steps[reads[0]].name}' must be the first transformation; move it to the top."
        )
    read = steps[0] if reads else None
    later = [s for s in steps if isinstance(s, TableStep)]  # every other step is a TableStep
    return (read if isinstance(read, ReadStep) else None), later
