"""YAML for configs and scenarios: strict scalars, no duplicate keys, and file:line for any key path.

PyYAML reads YAML 1.1, where ``1_200`` is 1200, ``1:30`` is 90, ``010`` is 8,
``0x10`` is 16 and ``on``/``no`` are booleans, and a repeated key silently
replaces the first.  In a risk config each of these can change or switch off a
limit without a word, so this loader:

* reads plain numbers only in their unambiguous forms (``12``, ``-1.5``,
  ``2e3``, ``.inf``/``.nan``, which the schema then rejects as not finite);
* rejects the ambiguous forms (underscores, sexagesimal, leading zeros, hex,
  octal, binary, ``yes``/``no``/``on``/``off``/``y``/``n``) with file:line and
  a hint to write the number plainly or quote the text;
* reads everything else that is plain as text (dates stay strings);
* rejects a duplicated key, naming both lines, and a key that is not a scalar;
* rejects files above a size limit, nesting deeper than ``MAX_DEPTH`` and
  alias bombs;
* parses once, with libyaml when available (``CSafeLoader``), and keeps the
  node tree so that any later error (a schema violation) can name file:line.

API::

    loaded = load_yaml(path, error=ConfigError)
    loaded.data                            # plain dict/list/str/int/float/bool/None
    loaded.where(("accounts", "a", "policy"))  # "cfg.yaml:7 (accounts.a.policy)"
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskguard.errors import InputError
from riskguard.input_files import MAX_CONFIG_BYTES, MAX_DEPTH, read_text

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoImplicitLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Composes only: every plain scalar keeps the str tag, so typing is decided here, strictly."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        """Called for untagged nodes only; the str tag for every scalar (about half of the parse time saved)."""
        return _TAG[kind]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track."""


_STR = "tag:yaml.org,2002:str"
_TAG = {yaml.ScalarNode: _STR, yaml.SequenceNode: "tag:yaml.org,2002:seq", yaml.MappingNode: "tag:yaml.org,2002:map"}
_ALLOWED_TAGS = set(_TAG.values())
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_AMBIGUOUS_BOOL = re.compile(r"(?i)yes|no|on|off|y|n")
_AMBIGUOUS_NUMBER = re.compile(
    r"[-+]?("
    r"[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?"  # 1_200, 010, 1_000.5
    r"|\.[0-9_]+([eE][-+]?[0-9]+)?"
    r"|0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+"  # hex, octal, binary
    r"|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"  # sexagesimal 1:30, 1:30:00.5
    r")"
)
_MAX_NODES = 5_000_000
"""Nodes visited after alias expansion: far above any real file, far below an alias bomb's billions."""


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """A parsed YAML document: its plain data, and where each key path came from."""

    path: Path
    data: Any
    root: yaml.Node | None
    _index: dict[int, dict[Hashable, tuple[yaml.Node, yaml.Node]]] = field(default_factory=dict, repr=False)

    def line(self, loc: Sequence[Any]) -> int | None:
        """1-based line of the deepest node on ``loc`` that exists (a missing key: its parent mapping).

        The last element of ``loc`` resolves to the key's line when it names a
        mapping key (an unknown key is reported where it is written).
        """
        node = self.root
        if node is None:
            return None
        for i, part in enumerate(loc):
            if isinstance(node, yaml.MappingNode):
                found = self._entries(node).get(_hashable(part))
                if found is None:
                    break
                node = found[0] if i == len(loc) - 1 else found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                break
        return int(node.start_mark.line) + 1

    def where(self, loc: Sequence[Any] = ()) -> str:
        """``"file:line (dotted.path)"`` for error messages; just the file when the document is empty."""
        line = self.line(loc)
        dotted = ".".join(str(p) for p in loc)
        return f"{self.path}{'' if line is None else f':{line}'}" + (f" ({dotted})" if dotted else "")

    def _entries(self, node: yaml.MappingNode) -> dict[Hashable, tuple[yaml.Node, yaml.Node]]:
        """Key → (key node, value node), built once per mapping so lookups in large files stay cheap."""
        entries = self._index.get(id(node))
        if entries is None:
            entries = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    entries.setdefault(_hashable(_scalar(key, self.path)), (key, value))
            self._index[id(node)] = entries
        return entries


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, Hashable) else repr(value)


def load_yaml(
    path: Path, *, max_bytes: int = MAX_CONFIG_BYTES, what: str = "config", error: type[InputError] = InputError
) -> LoadedYaml:
    """Read and parse ``path`` strictly (see the module docstring); every failure is ``error`` with file:line."""
    text = read_text(path, max_bytes, what, error)
    return parse_yaml(text, path, error=error)


def parse_yaml(text: str, path: Path, *, error: type[InputError] = InputError) -> LoadedYaml:
    """Like ``load_yaml`` for text already in memory; ``path`` is only used in messages."""
    try:
        root = yaml.compose(text, Loader=_NoImplicitLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"invalid YAML: {problem}", where) from None
    except RecursionError:
        raise error(f"invalid YAML: nested deeper than {MAX_DEPTH} levels", str(path)) from None
    data = None if root is None else _Builder(path, error).build(root)
    return LoadedYaml(path, data, root)


def _scalar(node: yaml.ScalarNode, path: Path, error: type[InputError] = InputError) -> Any:
    value: str = node.value
    if node.tag != _STR:
        raise error(f"unsupported YAML tag {node.tag!r}", f"{path}:{node.start_mark.line + 1}")
    if node.style:  # quoted or block scalar: always text (plain is None, or "" from libyaml)
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if value in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[value]
    where = f"{path}:{node.start_mark.line + 1}"
    if _AMBIGUOUS_BOOL.fullmatch(value):
        raise error(f"ambiguous value {value!r}: write true or false, or quote it if text is meant", where)
    if _AMBIGUOUS_NUMBER.fullmatch(value):
        raise error(
            f"ambiguous number {value!r}: write it as a plain decimal (e.g. 1200 or 90), or quote it if text is meant",
            where,
        )
    return value


class _Builder:
    """Node tree → plain Python data; recursive but depth-capped, so hostile nesting is an error, not a crash.

    A node reached again through an alias is built once and shared (as PyYAML
    does), while its expanded size still counts against ``_MAX_NODES``: an alias
    bomb is refused in time linear in the file, and nothing downstream ever
    walks more than ``_MAX_NODES`` values.
    """

    def __init__(self, path: Path, error: type[InputError]) -> None:
        self.path = path
        self.error = error
        self.visited = 0
        self.built: dict[int, tuple[Any, int]] = {}
        self.plain: dict[str, Any] = {}
        """Plain scalars already typed (keys repeat in every account): a third of the build time saved."""

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.style or node.tag != _STR:
            return _scalar(node, self.path, self.error)
        try:
            return self.plain[node.value]
        except KeyError:
            value = self.plain[node.value] = _scalar(node, self.path, self.error)
            return value

    def build(self, node: yaml.Node, loc: tuple[Any, ...] = (), depth: int = 0) -> Any:
        return self._node(node, loc, depth)[0]

    def _count(self, n: int) -> None:
        self.visited += n
        if self.visited > _MAX_NODES:
            raise self.error("invalid YAML: too many nodes (aliases expanding without bound?)", str(self.path))

    def _node(self, node: yaml.Node, loc: tuple[Any, ...], depth: int) -> tuple[Any, int]:
        if isinstance(node, yaml.ScalarNode):
            self._count(1)
            return self.scalar(node), 1
        seen = self.built.get(id(node))
        if seen is not None:
            self._count(seen[1])
            return seen
        if depth > MAX_DEPTH:
            raise self.error(f"invalid YAML: nested deeper than {MAX_DEPTH} levels", self._at(node))
        if node.tag not in _ALLOWED_TAGS:
            raise self.error(f"unsupported YAML tag {node.tag!r}", self._at(node))
        self._count(1)
        size = 1
        result: Any
        if isinstance(node, yaml.SequenceNode):
            result = []
            for i, item in enumerate(node.value):
                value, n = self._node(item, (*loc, i), depth + 1)
                result.append(value)
                size += n
        else:
            result = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error("a mapping key must be a plain value, not a list or mapping", self._at(key_node))
                key = self.scalar(key_node)
                line = key_node.start_mark.line + 1
                if key in result:
                    dotted = ".".join(str(p) for p in (*loc, key))
                    raise self.error(
                        f"duplicate key {key!r} ({dotted}): first at line {first_line[key]}, again at line {line}",
                        f"{self.path}:{line}",
                    )
                first_line[key] = line
                result[key], n = self._node(value_node, (*loc, key), depth + 1)
                size += n
        self.built[id(node)] = (result, size)
        return result, size

    def _at(self, node: yaml.Node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}"
