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
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_NUMBER = (int, float)


def _check(annotation: Any, value: Any) -> None:
    """Raise ``ValueError`` if ``value`` is text or a boolean where ``annotation`` wants a number, or not a
    boolean where it wants a flag; other types are left to pydantic."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        _check(typing.get_args(annotation)[0], value)
    elif origin in (Union, types.UnionType):
        if value is None:
            return
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            _check(options[0], value)
        elif all(a in _NUMBER for a in options):
            _check(float, value)
    elif origin in (list, tuple, set, frozenset) and isinstance(value, list | tuple):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1:
            for item in value:
                _check(args[0], item)
    elif origin is dict and isinstance(value, dict):
        key_and_value = typing.get_args(annotation)
        if len(key_and_value) == 2:
            for item in value.values():
                _check(key_and_value[1], item)
    elif annotation in _NUMBER and isinstance(value, bool | str):
        raise ValueError(f"must be a number, not {_shown(value)}")
    elif annotation is bool and not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_shown(value)}")


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
        annotation = _checked_fields(cls).get(info.field_name or "")
        if annotation is not None:
            _check(annotation, value)
        return value


_CHECKED: dict[type, dict[str, Any]] = {}


def _checked_fields(cls: type[BaseModel]) -> dict[str, Any]:
    """Field name → annotation, for the fields that hold numbers or flags somewhere (computed once per model:
    a config with thousands of accounts validates each field thousands of times)."""
    fields = _CHECKED.get(cls)
    if fields is None:
        fields = _CHECKED[cls] = {
            name: field.annotation for name, field in cls.model_fields.items() if _mentions(field.annotation)
        }
    return fields


def _mentions(annotation: Any) -> bool:
    if annotation in (*_NUMBER, bool):
        return True
    return any(_mentions(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)
