"""The base of every model riskguard reads from a user's file: configs, scenarios' envelope, snapshots' envelope.

Pydantic's lax mode converts on purpose: ``"1_200"`` becomes 1200, ``true``
becomes 1 for a number, ``"yes"``/``"on"``/``1`` become ``True`` for a flag.
In a risk config those conversions can turn a typo into a limit, or into
``execute: "yes"``.  Full strict mode would also refuse a YAML string for an
enum and a list for a tuple, so this base only makes numbers and flags strict:

* a number field (``int``/``float``, optional or not, also inside lists and
  dict values) takes an ``int`` or ``float`` only, never text or a boolean;
* a flag (``bool``) takes ``true``/``false`` only;
* ``NaN`` and infinities are refused as "must be a finite number".
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_NUMBER = (int, float)


Checker = Callable[[Any], None]


def _compile(annotation: Any) -> Checker | None:
    """The check for ``annotation`` as a function, or None when nothing in it is a number or a flag: a
    snapshot's candle rows hold hundreds of thousands of cells, so the annotation is read once per model
    field, not once per cell.  The check raises ``ValueError`` if a value is text or a boolean where the
    annotation wants a number, or not a boolean where it wants a flag; other types are left to pydantic."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _compile(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            inner = _compile(options[0])
        elif all(a in _NUMBER for a in options):
            inner = _check_number
        else:
            return None
        return None if inner is None else _optional(inner)
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item = _compile(args[0]) if len(args) == 1 else None
        if item is None:
            return None
        return _number_items if item is _check_number else _items(item)
    if origin is dict:
        key_and_value = typing.get_args(annotation)
        value_check = _compile(key_and_value[1]) if len(key_and_value) == 2 else None
        return None if value_check is None else _dict_values(value_check)
    if origin is None and annotation in _NUMBER:
        return _check_number
    if origin is None and annotation is bool:
        return _check_flag
    return None


def _check_number(value: Any) -> None:
    if isinstance(value, bool | str):
        raise ValueError(f"must be a number, not {_shown(value)}")


def _check_flag(value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_shown(value)}")


def _number_items(value: Any) -> None:
    """The fast path for a list of numbers (a candle row): one loop, no call per cell unless one is wrong."""
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, bool | str):
                _check_number(item)


def _optional(inner: Checker) -> Checker:
    def check(value: Any) -> None:
        if value is not None:
            inner(value)

    return check


def _items(inner: Checker) -> Checker:
    def check(value: Any) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                inner(item)

    return check


def _dict_values(inner: Checker) -> Checker:
    def check(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                inner(item)

    return check


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"text {value!r}" if isinstance(value, str) else repr(value)


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently drop a limit); frozen; strict numbers and flags."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers_and_flags(cls, value: Any, info: ValidationInfo) -> Any:
        check = _checked_fields(cls).get(info.field_name or "")
        if check is not None:
            check(value)
        return value


_CHECKED: dict[type, dict[str, Checker]] = {}


def _checked_fields(cls: type[BaseModel]) -> dict[str, Checker]:
    """Field name → its compiled check, for the fields that hold numbers or flags somewhere (computed once per
    model: a config with thousands of accounts validates each field thousands of times)."""
    fields = _CHECKED.get(cls)
    if fields is None:
        compiled = {name: _compile(field.annotation) for name, field in cls.model_fields.items()}
        fields = _CHECKED[cls] = {name: check for name, check in compiled.items() if check is not None}
    return fields
