"""Hostile input on every subcommand: exit 3, one clear message naming what and where, never a traceback.

The first tests discover the subcommands from the typer app itself, so a command added later is exercised
too: every input file option (``--config``, ``--snapshot``, ``--scenario``, or a path argument) gets a
binary file, a directory, a missing file, a file over the size limit, a non-mapping and a deeply nested
document. The rest cover the cases one by one (non-finite and YAML 1.1 numbers, duplicate keys, ports,
output folders, unexpected exceptions, a closed pipe, ``--version``).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tomllib
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import typer.models
from docs_factory import binance_cross_doc

from riskguard.cli import app
from riskguard.input_files import MAX_CONFIG_BYTES, MAX_SNAPSHOT_BYTES
from riskguard.rules.codes import ExitCode
from riskguard.sim.server import build_app
from tests.cli.live_sim import live_config

ROOT = Path(__file__).parents[2]
INPUT_NAMES = {"config", "snapshot", "scenario"}
OUTPUT_NAMES = {"output", "plot"}
SYMBOL = "BTC/USDT:USDT"


def _assert_clean_failure(r, *needles: str) -> None:
    text = r.out + r.err
    assert r.code == ExitCode.UNKNOWN, text
    assert "Traceback" not in text
    assert "error:" in r.err
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


@dataclass(frozen=True)
class Param:
    name: str
    flag: str | None
    """``--long-name`` of an option; None for an argument."""
    required: bool
    is_path: bool


def _params(callback) -> list[Param]:
    """A command's parameters read from its typer annotations (stable across typer versions, unlike click's)."""
    out = []
    for name, p in inspect.signature(callback, eval_str=True).parameters.items():
        kind, info = typing.get_args(p.annotation)[:2]
        flag = None
        if isinstance(info, typer.models.OptionInfo):
            decls = [d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str) and d.startswith("--")]
            flag = decls[0] if decls else f"--{name.replace('_', '-')}"
        is_path = Path in (kind, *typing.get_args(kind))
        out.append(Param(name, flag, p.default is inspect.Parameter.empty, is_path))
    return out


def _commands(t: typer.Typer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[Param]]]:
    for info in t.registered_commands:
        assert info.callback is not None
        yield (*prefix, info.name or info.callback.__name__.replace("_", "-")), _params(info.callback)
    for group in t.registered_groups:
        assert group.typer_instance is not None and group.name
        yield from _commands(group.typer_instance, (*prefix, group.name))


COMMANDS = dict(_commands(app))
INPUT_CASES = [
    (name, param.name)
    for name, params in COMMANDS.items()
    for param in params
    if param.name in INPUT_NAMES or (param.flag is None and param.is_path)
]


def test_discovery_finds_every_known_command_and_its_input_files():
    names = {" ".join(n) for n in COMMANDS}
    assert {"check", "snapshot", "sim", "bands", "stress"} <= names
    assert {("check", "config"), ("check", "snapshot"), ("sim", "scenario"), ("bands", "snapshot")} <= {
        (" ".join(n), p) for n, p in INPUT_CASES
    }


def _args(name: tuple[str, ...], target: str, value: Path, tmp_path: Path) -> list[str]:
    """The command line for ``name`` with ``value`` in the input ``target`` and harmless values elsewhere."""
    args = list(name)
    for param in COMMANDS[name]:
        if param.name == target:
            args += [str(value)] if param.flag is None else [param.flag, str(value)]
        elif param.required and param.flag is None:
            args.append(SYMBOL)
        elif param.required and param.flag:
            filler = {"venue": "binanceusdm", "account": "a"}.get(param.name, str(tmp_path / "out.json"))
            args += [param.flag, filler]
    return args


def _hostile(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"hostile-{kind}.json"
    if kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    elif kind == "directory":
        path.mkdir()
    elif kind == "huge":
        with path.open("wb") as f:  # sparse: instant to create, larger than any limit
            f.truncate(max(MAX_SNAPSHOT_BYTES, MAX_CONFIG_BYTES) + 1)
    elif kind == "not-a-mapping":
        path.write_text("[1, 2, 3]")
    elif kind == "nested":
        path.write_text("[" * 100_000 + "]" * 100_000)
    return path  # "missing": never created


@pytest.fixture(autouse=True)
def _no_emulator_starts(monkeypatch):
    """If hostile input ever got as far as starting the emulator, fail instead of serving forever."""

    async def refuse(*_args, **_kwargs):
        raise RuntimeError("the emulator was started")

    monkeypatch.setattr("riskguard.sim.server.serve", refuse)


@pytest.mark.parametrize("kind", ["binary", "directory", "missing", "huge", "not-a-mapping", "nested"])
@pytest.mark.parametrize(("name", "target"), INPUT_CASES, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
def test_every_command_when_input_file_is_hostile_then_exit_3_naming_the_file(run, tmp_path, name, target, kind):
    path = _hostile(kind, tmp_path)
    r = run(*_args(name, target, path, tmp_path))
    _assert_clean_failure(r, str(path))
    assert "the emulator was started" not in r.err and "unexpected" not in r.err


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("binary", "is not UTF-8 text (byte 0x89 at offset 0)"),
        ("directory", "cannot read"),
        ("huge", "larger than the"),
        ("nested", "nested too deeply"),
        ("not-a-mapping", ""),
    ],
)
def test_check_when_snapshot_is_hostile_then_says_what(run, tmp_path, kind, needle):
    path = _hostile(kind, tmp_path)
    _assert_clean_failure(run("check", "--snapshot", str(path)), str(path), needle)


def test_snapshot_size_limit_is_64_mb_and_config_16_mb(run, tmp_path):
    snap, cfg = tmp_path / "s.json", tmp_path / "c.yaml"
    with snap.open("wb") as f:
        f.truncate(64 * 1024 * 1024 + 1)
    with cfg.open("wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)
    _assert_clean_failure(run("check", "--snapshot", str(snap)), "snapshot is larger than the 64 MB limit")
    _assert_clean_failure(run("check", "--config", str(cfg)), "config is larger than the 16 MB limit")


@pytest.mark.parametrize("content", ["", "   \n", "# only a comment\n"])
def test_check_when_config_is_empty_then_says_so(run, write, content):
    path = write("c.yaml", content)
    _assert_clean_failure(run("check", "--config", str(path)), str(path), "must be a mapping")


def test_check_when_snapshot_is_empty_then_invalid_json_at_1_1(run, write):
    path = write("s.json", "")
    _assert_clean_failure(run("check", "--snapshot", str(path)), f"{path}:1:1", "invalid JSON")


ACCOUNT = "accounts:\n  a:\n    snapshot: bundled:paper\n    snapshot_account: binance-cross\n"


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        (ACCOUNT + "    timeout_s: .inf\n", ":5 (accounts.a.timeout_s)", "must be a finite number"),
        ("policy:\n  max_effective_leverage: .nan\n" + ACCOUNT, ":2 (policy.max_effective_leverage)",
         "must be a finite number"),
        (ACCOUNT + "    policy: {min_liquidation_buffer_pct: -.inf}\n",
         ":5 (accounts.a.policy.min_liquidation_buffer_pct)", "must be a finite number"),
        ("policy:\n  max_effective_leverage: on\n" + ACCOUNT, ":2", "ambiguous value 'on'"),
        ("policy:\n  max_effective_leverage: 1_200\n" + ACCOUNT, ":2", "ambiguous number '1_200'"),
        ("policy:\n  max_data_age_s: 1:30\n" + ACCOUNT, ":2", "ambiguous number '1:30'"),
        ("policy:\n  max_data_age_s: 0x10\n" + ACCOUNT, ":2", "ambiguous number '0x10'"),
        ("policy:\n  max_effective_leverage: '20x'\n" + ACCOUNT, ":2 (policy.max_effective_leverage)",
         "must be a number, not text '20x'"),
        ("policy:\n  max_effective_leverage: '1_200'\n" + ACCOUNT, ":2 (policy.max_effective_leverage)",
         "must be a number, not text '1_200'"),
        ("policy:\n  max_data_age_s: true\n" + ACCOUNT, ":2 (policy.max_data_age_s)", "must be a number, not true"),
        (ACCOUNT + "    policy: {max_effective_leverage: '3'}\n", ":5 (accounts.a.policy.max_effective_leverage)",
         "must be a number, not text '3'"),
        (ACCOUNT + "    execute: 'yes'\n", ":5 (accounts.a.execute)", "must be true or false, not text 'yes'"),
        (ACCOUNT + "    sandbox: 1\n", ":5 (accounts.a.sandbox)", "must be true or false, not 1"),
        ("policy:\n  max_effective_leverage: 50\n" + ACCOUNT + "policy:\n  max_effective_leverage: 3\n", ":7",
         "duplicate key 'policy' (policy): first at line 1, again at line 7"),
        (ACCOUNT + "  a:\n    venue: okx\n", ":5", "duplicate key 'a' (accounts.a): first at line 2, again at line 5"),
        ("accounts: [1, 2]\n", ":1 (accounts)", "valid dictionary"),
        ("policy: 5\n" + ACCOUNT, ":1 (policy)", ""),
        (ACCOUNT + "    symbols: {a: 1}\n", ":5 (accounts.a.symbols)", "valid list"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", ":1", "nested deeper than 64 levels"),
        ("a: &x [1]\nb: !!python/name:os.system x\n", ":2", "unsupported YAML tag"),
    ],
)
def test_check_when_config_value_is_hostile_then_file_line_and_path(run, write, text, where, needle):
    path = write("c.yaml", text)
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}{where}", needle)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000])
def test_check_when_snapshot_number_is_not_finite_then_error(run, write, bad):
    path = write("s.json", '{"format": "riskguard.snapshot", "version": 1, "taken_at": ' + bad + "}")
    _assert_clean_failure(run("check", "--snapshot", str(path)), str(path), "invalid JSON")


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        (("taken_at",), True, "taken_at: must be a number, not true"),
        (("taken_at",), "1796104679831", "taken_at: must be a number, not text '1796104679831'"),
        (("accounts", 0, "settings", "hedge_mode"), "false", "hedge_mode: must be true or false, not text 'false'"),
        (("venues", "binanceusdm", "ohlcv"), {"BTC/USDT:USDT": {"timeframe": "1h", "rows": [[1, "6e4", 1, 1, 1, 0]]}},
         "ohlcv.BTC/USDT:USDT.rows: must be a number, not text '6e4'"),
    ],
)
def test_check_when_snapshot_envelope_number_or_flag_is_text_then_error(run, write, field, value, needle):
    doc = binance_cross_doc()
    node = doc
    for key in field[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[field[-1]] = value
    _assert_clean_failure(run("check", "--snapshot", str(write("s.json", doc))), needle)


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_sim_when_port_out_of_range_then_says_range(run, port):
    _assert_clean_failure(run("sim", "--venue", "binanceusdm", "--port", port), "between 0 and 65535", port)


def test_sim_when_venue_unknown_then_lists_known(run):
    _assert_clean_failure(run("sim", "--venue", "nosuch"), "'nosuch'", "binanceusdm")


@pytest.mark.parametrize(
    ("name", "text", "where", "needle"),
    [
        ("s.yaml", "marks: {BTCUSDT: 60000}\npath:\n  - {at_s: 1, markz: {}}\n", ":3 (path.0.markz)",
         "unknown key 'markz'"),
        ("s.yaml", "marks: {BTCUSDT: fast}\n", ":1 (marks.BTCUSDT)", "valid number"),
        ("s.yaml", "marks: {BTCUSDT: 60000}\nmarks: {BTCUSDT: 1}\n", ":2", "duplicate key 'marks'"),
        ("s.yaml", "marks: [\n", ":2", "invalid YAML"),
        ("s.yaml", "- 1\n", "", "must be a mapping"),
        ("s.json", '{"path": [{"at_s": "soon"}]}', " (path.0.at_s)", "valid number"),
        ("s.json", '{"marks": {"BTCUSDT": NaN}}', "", "invalid JSON"),
    ],
)
def test_sim_when_scenario_is_broken_then_file_line_and_path(run, write, name, text, where, needle):
    path = write(name, text)
    r = run("sim", "--venue", "binanceusdm", "--scenario", str(path))
    _assert_clean_failure(r, f"{path}{where}", needle)
    assert "the emulator was started" not in r.err


def test_sim_when_scenario_is_refused_by_the_exchange_then_names_the_file(run, write, monkeypatch):
    """Valid YAML and schema, but the exchange refuses it (a position in a market the venue does not list)."""

    async def build_only(venue, host="127.0.0.1", port=0, scenario=None, **_kwargs):
        build_app(venue, scenario)  # where the exchange refuses a scenario, before any socket is opened
        raise RuntimeError("the emulator was started")

    monkeypatch.setattr("riskguard.sim.server.serve", build_only)
    path = write("s.yaml", "accounts:\n  - {api_key: k, secret: s, balances: {USDT: 1000},\n"
                           "     positions: [{symbol: NOPE, size: 1, entry: 100, leverage: 5}]}\n")
    r = run("sim", "--venue", "binanceusdm", "--scenario", str(path))
    _assert_clean_failure(r, f"{path}: the scenario is refused", "NOPE")
    assert "unexpected" not in r.err and "the emulator was started" not in r.err


def test_bands_when_plot_folder_missing_then_names_folder(run, tmp_path):
    target = tmp_path / "no-such-folder" / "heat.png"
    r = run("bands", SYMBOL, "--config", str(ROOT / "config.example.yaml"), "--plot", str(target))
    _assert_clean_failure(r, str(target), f"folder {target.parent} does not exist")


def test_snapshot_when_output_folder_missing_then_names_it_and_writes_nothing(run, tmp_path, start_sim, monkeypatch):
    sim = start_sim("binanceusdm")
    config, _ = live_config(tmp_path / "c.yaml", "binanceusdm", sim, monkeypatch)
    target = tmp_path / "missing" / "rec.json"
    r = run("snapshot", "--config", str(config), "--account", "rehearsal", "-o", str(target))
    _assert_clean_failure(r, str(target), "cannot write snapshot", "the folder does not exist")
    assert not target.parent.exists()


def test_unexpected_exception_then_exit_3_with_hint_and_no_traceback(run, monkeypatch):
    def boom(*_args, **_kwargs):
        raise ZeroDivisionError("float division by zero\nsecond line")

    monkeypatch.setattr("riskguard.check.check_config", boom)
    r = run("check", "--config", str(ROOT / "config.example.yaml"))
    _assert_clean_failure(r, "unexpected ZeroDivisionError: float division by zero", "RISKGUARD_DEBUG=1")
    assert "second line" not in r.err and len(r.err.strip().splitlines()) == 1


def test_unexpected_exception_when_debug_then_traceback_on_stderr_still_exit_3(run, monkeypatch):
    monkeypatch.setattr("riskguard.check.check_config", lambda *a, **k: 1 / 0)
    monkeypatch.setenv("RISKGUARD_DEBUG", "1")
    r = run("check", "--config", str(ROOT / "config.example.yaml"))
    assert r.code == ExitCode.UNKNOWN
    assert "Traceback" in r.err and "ZeroDivisionError" in r.err


def _riskguard() -> list[str]:
    return [sys.executable, "-m", "riskguard.cli"]  # the executable's entry point, console()


def test_closed_pipe_keeps_the_verdict(tmp_path):
    """``riskguard check | head -1``: the reader leaves after one line; the exit code is still the check's."""
    proc = subprocess.Popen(
        [*_riskguard(), "check", "--config", str(ROOT / "config.example.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "RISKGUARD_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `head -1`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == ExitCode.BREACH, stderr
    assert b"paper-binance" in first
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr and "Exception ignored" not in stderr


def test_closed_pipe_in_a_shell_pipeline_keeps_the_verdict(tmp_path):
    script = 'riskguard_cmd check --config "$1" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
    body = script.replace("riskguard_cmd", " ".join(f"'{a}'" for a in _riskguard()))
    out = subprocess.run(
        ["bash", "-c", body, "sh", str(ROOT / "config.example.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RISKGUARD_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert out.stdout.strip() == str(int(ExitCode.BREACH)), out.stderr
    assert "Traceback" not in out.stderr


def test_version_prints_the_package_version(run):
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    r = run("--version")
    assert r.code == 0 and r.out.strip() == f"riskguard {expected}"


def test_message_with_rich_markup_characters_is_printed_verbatim(run, write):
    path = write("c.yaml", 'accounts:\n  "[/x] [bold]a":\n    sandbox: true\n')
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}:2 (accounts.[/x] [bold]a)")
