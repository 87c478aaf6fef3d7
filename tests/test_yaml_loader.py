"""The strict YAML loader: typed scalars only in unambiguous forms, duplicate keys with both lines, file:line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from riskguard.errors import ConfigError, InputError
from riskguard.yaml_loader import load_yaml, parse_yaml

P = Path("cfg.yaml")


def _value(text: str):
    return parse_yaml(f"v: {text}\n", P).data["v"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("-3", -3),
        ("0", 0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("2e3", 2000.0),
        ("1.5E-2", 0.015),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("'1_200'", "1_200"),
        ('"on"', "on"),
        ("2024-01-02", "2024-01-02"),
        ("BTC/USDT:USDT", "BTC/USDT:USDT"),
        ("abc", "abc"),
        ("|\n  0x10\n", "0x10\n"),
    ],
)
def test_scalar_when_unambiguous_then_typed(text, expected):
    value = _value(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text", [".inf", "-.Inf", ".nan"])
def test_scalar_when_special_float_then_float_left_for_the_schema_to_reject(text):
    value = _value(text)
    assert isinstance(value, float) and not math.isfinite(value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1_200", "number"),
        ("1_000.5", "number"),
        ("010", "number"),
        ("0x10", "number"),
        ("0o17", "number"),
        ("0b101", "number"),
        ("1:30", "number"),
        ("190:20:30.15", "number"),
        ("-1_0", "number"),
        ("on", "value"),
        ("Off", "value"),
        ("yes", "value"),
        ("NO", "value"),
        ("y", "value"),
    ],
)
def test_scalar_when_yaml11_ambiguous_then_error_with_line(text, kind):
    with pytest.raises(InputError) as exc:
        parse_yaml(f"a: 1\nv: {text}\n", P)
    assert exc.value.where == "cfg.yaml:2"
    assert f"ambiguous {kind} {text!r}" in exc.value.message


def test_duplicate_key_when_top_level_then_both_lines():
    text = "policy:\n  max_effective_leverage: 3\naccounts: {}\npolicy:\n  max_effective_leverage: 50\n"
    with pytest.raises(InputError) as exc:
        parse_yaml(text, P)
    assert exc.value.where == "cfg.yaml:4"
    assert exc.value.message == "duplicate key 'policy' (policy): first at line 1, again at line 4"


def test_duplicate_key_when_nested_then_dotted_path_and_both_lines():
    text = "accounts:\n  a:\n    venue: okx\n  b:\n    venue: bybit\n  a:\n    venue: bybit\n"
    with pytest.raises(InputError) as exc:
        parse_yaml(text, P)
    assert "duplicate key 'a' (accounts.a): first at line 2, again at line 6" in str(exc.value)


def test_duplicate_key_when_in_flow_mapping_inside_list_then_error():
    with pytest.raises(InputError, match=r"duplicate key 'x' \(l.0.x\): first at line 1, again at line 1"):
        parse_yaml("l: [{x: 1, x: 2}]\n", P)


def test_where_names_key_line_and_dotted_path():
    loaded = parse_yaml("accounts:\n  a:\n    venue: okx\n    policy:\n      max_effective_leverage: 3\n", P)
    assert loaded.where(("accounts", "a", "policy", "max_effective_leverage")) == (
        "cfg.yaml:5 (accounts.a.policy.max_effective_leverage)"
    )
    assert loaded.where(("accounts", "a")) == "cfg.yaml:2 (accounts.a)"
    # A key that is not there resolves to the nearest existing parent.
    assert loaded.where(("accounts", "a", "nope")) == "cfg.yaml:3 (accounts.a.nope)"
    assert loaded.where(()) == "cfg.yaml:1"


def test_where_when_list_index_then_item_line():
    loaded = parse_yaml("path:\n  - {at_s: 1}\n  - {at_s: 2}\n", P)
    assert loaded.where(("path", 1, "at_s")) == "cfg.yaml:3 (path.1.at_s)"


def test_where_when_empty_document_then_file_only():
    loaded = parse_yaml("", P)
    assert loaded.data is None and loaded.where(("x",)) == "cfg.yaml (x)"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("? [a, b]\n: 1\n", "mapping key must be a plain value"),
        ("v: !!python/object:os.system x\n", "unsupported YAML tag"),
        ("v: !!binary aGk=\n", "unsupported YAML tag"),
        ("a: [\n", "invalid YAML"),
        ("v: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64 levels"),
        ("v: " + "[" * 5000 + "]" * 5000 + "\n", "invalid YAML"),
    ],
)
def test_hostile_structure_then_input_error(text, needle):
    with pytest.raises(InputError, match=needle):
        parse_yaml(text, P)


def test_alias_bomb_then_error_not_a_hang():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InputError, match="too many nodes"):
        parse_yaml("\n".join(lines) + "\n", P)


def test_load_yaml_when_file_too_large_then_limit_named(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 300)
    with pytest.raises(ConfigError) as exc:
        load_yaml(path, max_bytes=1024, error=ConfigError)
    assert exc.value.where == str(path) and "larger than" in exc.value.message


def test_load_yaml_when_binary_then_not_utf8(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"a: \xff\xfe\x00\x01")
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 0xff at offset 3\)"):
        load_yaml(path)


def test_load_yaml_when_directory_then_cannot_read(tmp_path):
    with pytest.raises(InputError, match="cannot read config"):
        load_yaml(tmp_path)
