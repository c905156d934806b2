"""Spelling helpers: Azure accepts enum values in any casing, CamelCase or snake_case."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_FIRST = re.compile(r"(.)([A-Z][a-z]+)")
_SECOND = re.compile(r"([a-z0-9])([A-Z])")


def camel_to_snake(name: str) -> str:
    """Return Azure's snake_case spelling of a CamelCase enum value.

    >>> camel_to_snake("XGBoostClassifier")
    'xg_boost_classifier'
    >>> camel_to_snake("AUCWeighted")
    'auc_weighted'
    """
    return _SECOND.sub(r"\1_\2", _FIRST.sub(r"\1_\2", name)).lower()


def name_key(name: str) -> str:
    """Fold a spelling to the key we compare on: lowercase, without ``_``, ``-`` or spaces."""
    return re.sub(r"[_\-\s]", "", str(name)).lower()


def nearest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The closest valid spellings to ``name``, best first (possibly none)."""
    choices = list(choices)
    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(name_key(choice), choice)
    keys = difflib.get_close_matches(name_key(name), list(by_key), n=n, cutoff=0.6)
    return [by_key[k] for k in keys]


def suggestion(name: str, choices: Iterable[str]) -> str:
    """A short sentence suggesting the nearest valid spelling, or '' when nothing is close."""
    close = nearest(name, choices, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""
