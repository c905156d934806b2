"""Reading a scoring request's body: the accepted JSON shapes, turned into one table.

Accepted bodies (``rows`` is a list of ``{column: value}`` objects; ``split`` is
``{"columns": [...], "index": [...], "data": [[...], ...]}`` with ``index`` optional):

* Azure's MLflow deployment: ``{"input_data": split}``, ``{"input_data": rows}`` and
  ``{"input_data": {"data": rows}}``, with optional ``"params": {...}``;
* Azure's v2 scoring script: ``{"Inputs": {"data": rows}, "GlobalParameters": {...}}``;
* MLflow's ``{"dataframe_split": split}`` and ``{"dataframe_records": rows}``, with ``"params"``;
* a pandas ``split`` object or a ``records`` list as the whole body.

``params`` / ``GlobalParameters`` carry ``method`` (``"predict"`` unless given) and the method's
own options (``quantiles``). Each problem raises :class:`ScoringError` (400) naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cirrusml.serving._errors import ScoringError

__all__ = ["ACCEPTED_SHAPES", "ScoringRequest", "parse_body", "parse_payload"]

#: How the accepted shapes are described in the error for a body of none of them.
ACCEPTED_SHAPES = (
    '{"input_data": {"columns": [...], "index": [...], "data": [[...]]}}',
    '{"input_data": [{column: value, ...}, ...]}',
    '{"input_data": {"data": [{column: value, ...}, ...]}}',
    '{"Inputs": {"data": [{column: value, ...}, ...]}, "GlobalParameters": {"method": ...}}',
    '{"dataframe_split": {"columns": [...], "data": [[...]]}}',
    '{"dataframe_records": [{column: value, ...}, ...]}',
    '{"columns": [...], "index": [...], "data": [[...]]} (pandas split)',
    '[{column: value, ...}, ...] (pandas records)',
)

#: The keys a body may carry beside its data, per wrapper key.
_PARAMS_KEY = {"input_data": "params", "Inputs": "GlobalParameters",
               "dataframe_split": "params", "dataframe_records": "params"}


@dataclass
class ScoringRequest:
    """A parsed request: the rows to score, the method asked for and its options."""

    frame: pd.DataFrame
    method: str = "predict"
    params: dict[str, Any] = field(default_factory=dict)


def _bad(message: str, code: str = "InvalidPayload") -> ScoringError:
    return ScoringError(400, code, message)


def _unknown_shape(detail: str) -> ScoringError:
    return _bad(f"{detail} Accepted bodies: " + "; ".join(ACCEPTED_SHAPES) + ".",
                code="UnknownPayloadShape")


def parse_body(body: bytes) -> ScoringRequest:
    """Parse the raw bytes of a request (JSON, UTF-8) into a :class:`ScoringRequest`."""
    if not body.strip():
        raise _bad("the request body is empty; send a JSON object with the rows to score, "
                   'for instance {"input_data": [{column: value, ...}]}.', code="EmptyBody")
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise _bad("the request body is not UTF-8 text; send JSON encoded as UTF-8.",
                   code="InvalidJson") from None
    except json.JSONDecodeError as error:
        raise _bad(f"the request body is not valid JSON: {error.msg} at line {error.lineno}, "
                   f"column {error.colno}.", code="InvalidJson") from None
    return parse_payload(payload)


def parse_payload(payload: Any) -> ScoringRequest:
    """Turn a decoded JSON body of one of the accepted shapes into a :class:`ScoringRequest`."""
    if isinstance(payload, list):
        return ScoringRequest(_records(payload, "the body"))
    if not isinstance(payload, dict):
        raise _unknown_shape(f"the body is a JSON {_json_type(payload)}, not an object or a "
                             "list of rows.")
    wrappers = [key for key in _PARAMS_KEY if key in payload]
    if len(wrappers) > 1:
        raise _bad(f"the body has both {wrappers[0]!r} and {wrappers[1]!r}; send one of them.")
    if not wrappers:
        if "columns" in payload or "data" in payload:
            return ScoringRequest(_split(payload, "the body"))
        keys = ", ".join(repr(k) for k in list(payload)[:5]) or "none"
        raise _unknown_shape(f"the body's keys ({keys}) are none of the accepted ones.")
    (wrapper,) = wrappers
    params_key = _PARAMS_KEY[wrapper]
    extra = sorted(set(payload) - {wrapper, params_key})
    if extra:
        raise _bad(f"unknown key(s) {', '.join(repr(k) for k in extra)} beside {wrapper!r}; "
                   f"a body of this shape has only {wrapper!r} and {params_key!r}.")
    frame = _data(wrapper, payload[wrapper])
    method, params = _params(payload.get(params_key), params_key)
    return ScoringRequest(frame, method, params)


def _data(wrapper: str, value: Any) -> pd.DataFrame:
    where = wrapper
    if wrapper == "dataframe_records":
        return _records(value, where)
    if wrapper == "dataframe_split":
        return _split(value, where)
    if wrapper == "Inputs":
        if not isinstance(value, dict) or "data" not in value:
            raise _bad('"Inputs" must be an object with the rows under "data": '
                       '{"Inputs": {"data": [{column: value, ...}, ...]}}.')
        extra = sorted(set(value) - {"data"})
        if extra:
            raise _bad(f'"Inputs" has unknown input(s) {", ".join(repr(k) for k in extra)}; '
                       'the model takes one input, "data".')
        data = value["data"]
        return _split(data, "Inputs.data") if isinstance(data, dict) else _records(
            data, "Inputs.data")
    # input_data: rows, a split object, or {"data": rows}
    if isinstance(value, list):
        return _records(value, where)
    if isinstance(value, dict):
        data = value.get("data")
        if "columns" not in value and isinstance(data, list) and (
                not data or isinstance(data[0], dict)):
            extra = sorted(set(value) - {"data"})
            if extra:
                raise _bad(f"input_data has {', '.join(repr(k) for k in extra)} beside rows "
                           'given as objects under "data"; drop them, or give "columns" '
                           'with "data" as lists of values.')
            return _records(data, "input_data.data")
        return _split(value, where)
    raise _bad(f"input_data is a JSON {_json_type(value)}; give rows as a list of objects or "
               'as {"columns": [...], "data": [[...]]}.')


def _records(rows: Any, where: str) -> pd.DataFrame:
    if not isinstance(rows, list):
        raise _bad(f"{where} must be a list of rows ({{column: value}} objects), got a JSON "
                   f"{_json_type(rows)}.")
    if not rows:
        raise _empty(where)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _bad(f"{where}[{i}] is a JSON {_json_type(row)}; every row must be an object "
                       "of column names to values, or send the split form "
                       '{"columns": [...], "data": [[...]]}.')
    return pd.DataFrame.from_records(rows)


def _split(value: Any, where: str) -> pd.DataFrame:
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object {{\"columns\": [...], \"data\": [[...]]}}, got a "
                   f"JSON {_json_type(value)}.")
    extra = sorted(set(value) - {"columns", "index", "data"})
    if extra:
        raise _bad(f"{where} has unknown key(s) {', '.join(repr(k) for k in extra)}; the split "
                   'form has "columns", "data" and optionally "index".')
    columns, data, index = value.get("columns"), value.get("data"), value.get("index")
    if "data" not in value:
        raise _bad(f'{where} has no "data": give the rows as "data": [[...], ...].')
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _bad(f'{where} needs "columns", a list of column names (strings), to go with '
                   '"data"; or send the rows as objects: [{column: value, ...}].')
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise _bad(f"{where}.columns names {twice[0]!r} more than once; name each column once.")
    if not isinstance(data, list):
        raise _bad(f"{where}.data must be a list of rows (lists of values), got a JSON "
                   f"{_json_type(data)}.")
    if not data:
        raise _empty(where + ".data")
    width = len(columns)
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise _bad(f"{where}.data[{i}] is a JSON {_json_type(row)}; in the split form each "
                       f"row is a list of {width} values, in the order of \"columns\".")
        if len(row) != width:
            raise _bad(f"{where}.data[{i}] has {len(row)} value(s) but \"columns\" names "
                       f"{width}; give one value per column (null for a missing one).")
    if index is not None:
        if not isinstance(index, list) or len(index) != len(data):
            raise _bad(f"{where}.index must be a list with one label per row ({len(data)}), "
                       "or be left out.")
    return pd.DataFrame(data, columns=columns, index=index)


def _params(value: Any, key: str) -> tuple[str, dict[str, Any]]:
    if value is None:
        return "predict", {}
    if not isinstance(value, dict):
        raise _bad(f"{key} must be an object such as {{\"method\": \"predict_proba\"}}, got a "
                   f"JSON {_json_type(value)}.")
    params = dict(value)
    method = params.pop("method", "predict")
    if not isinstance(method, str):
        raise _bad(f"{key}.method must be a string such as \"predict\" or \"predict_proba\", "
                   f"got a JSON {_json_type(method)}.")
    return method, params


def _empty(where: str) -> ScoringError:
    return ScoringError(400, "EmptyData", f"{where} has no rows; send at least one row to score.")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
