"""Every shell and Python example in README.md and docs/*.md runs, and prints what the page says it prints.

The convention (docs/testing.md has it for writers):

* A fenced block must name its language.  ``bash`` and ``python`` blocks run, in page order, in one scratch
  directory per page.  Each line of a ``bash`` block is one command (``\\`` continues a line; ``#`` comments
  are the shell's); it must exit 0 and print no traceback.
* An HTML comment on the line(s) right above a fence (invisible on GitHub) says more:
  ``<!-- doc-test: exit=2 -->`` the exit code of every command of the block (``exit=2,0,3``: one per command);
  ``<!-- doc-test: background -->`` the commands are servers (``riskguard sim``): started, awaited until they
  print their URL, stopped when the page is done;
  ``<!-- doc-test: file=NAME -->`` a ``yaml``/``json`` block is written to NAME before any block runs;
  ``<!-- doc-test: output -->`` a ``text``/``json`` block is what the previous runnable block printed, or
  ``<!-- doc-test: output cmd: COMMAND -->`` what COMMAND prints; ``shape`` instead of ``output`` compares a
  JSON example's field names only (its numbers are illustrations); ``excerpt`` finds each of the block's lines,
  in order, in the output (a few lines of a table);
  ``<!-- not-run: REASON -->`` the block cannot run offline; the reason is required.
* A ``text`` block right after a runnable block with only an ``Output:`` line between them is its output.
* Text output is compared exactly, line by line (trailing blanks ignored).  JSON output is compared field by
  field: every field the page shows must exist in the real document, and every number must equal the real one
  rounded to the decimals the page shows; a string ending in ``...`` matches any string that starts with what
  precedes it, and one starting with ``...`` stands for an elided value of any kind.  ``//`` comments in JSON
  examples are dropped first.  A failure prints a diff of page vs actual.
* Blocks between ``<!-- BEGIN GENERATED`` markers are generated and checked by tests/test_generated_docs.py.

What the test provides, because the pages assume a reader's machine:

* Ports: every loopback port a page names (``--port 8801``, ``127.0.0.1:8801``, ``localhost:8801``) is
  replaced by a free port, the same one everywhere on that page, so parallel runs never collide.
* Live venues: a command with ``--exchange VENUE`` and no ``--endpoint`` gets ``--endpoint`` of a
  ``riskguard sim --venue VENUE`` started for it; nothing leaves 127.0.0.1.
* Files a reader would have: ``config.example.yaml``, ``scripts/`` and ``bench/`` (the repository's),
  ``recorded.json`` (the bundled paper
  snapshot, as if recorded) and ``my.yaml`` (an account ``binance-main`` whose ``endpoint`` is an emulator,
  credentials in ``BINANCE_API_KEY``/``BINANCE_API_SECRET`` as the default emulator account expects).
* A ``yaml`` config a page writes (``file=``) that names a live venue for an account and no ``endpoint:``/
  ``snapshot:`` gets the ``endpoint`` of an emulator of that venue, and the credential variables such pages
  name (``BINANCE_KEY``/``BINANCE_SECRET``, ``RISKGUARD_ALERT_URL``) are set as the emulator expects; the
  venue cache and the audit store live in the page's scratch directory.
* ``pip install . &&`` is dropped: the tests run inside the installed package.  ``export NAME=VALUE`` lines
  set the environment of the commands after them.
* A shell block must be ``bash`` (it runs) or carry ``<!-- not-run: reason -->``: ``sh``, ``console`` and
  ``shell`` blocks are refused, so a command cannot hide from this test behind a fence name.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
"""docs/testing.md explains the convention below to whoever writes a page."""
PAPER = ROOT / "riskguard" / "data" / "paper_snapshot.json"
CONFIG_EXAMPLE = ROOT / "config.example.yaml"
RUNNABLE = {"bash", "python"}
SHELL_ALIASES = {"sh", "shell", "console", "zsh", "shell-session"}
TIMEOUT_S = 120
SIM_KEY, SIM_SECRET = "riskguard-sim-key", "riskguard-sim-secret"
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_MARK = re.compile(r"^\s*<!--\s*(doc-test|not-run):?\s*(.*?)\s*-->\s*$")
_PORT = re.compile(r"(?:--port[ =]|127\.0\.0\.1:|localhost:)(\d{4,5})\b")


# -- reading a page -------------------------------------------------------------------------------------


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    text: str
    marks: dict[str, str] = field(default_factory=dict)
    not_run: str | None = None
    output_of_previous: bool = False
    generated: bool = False

    @property
    def where(self) -> str:
        name = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page.name
        return f"{name}:{self.line}"


def _parse_mark(body: str) -> dict[str, str]:
    marks: dict[str, str] = {}
    if "cmd:" in body:
        body, cmd = body.split("cmd:", 1)
        marks["cmd"] = cmd.strip()
    for item in body.replace(";", " ").split():
        key, _, value = item.partition("=")
        marks[key] = value
    return marks


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    generated = False
    i = 0
    while i < len(lines):
        if "<!-- BEGIN GENERATED" in lines[i]:
            generated = True
        if "<!-- END GENERATED" in lines[i]:
            generated = False
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        i += 1
        body = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        block = Block(page, start + 1, fence.group(2), "\n".join(body) + "\n", generated=generated)
        above = start - 1
        while above >= 0 and (mark := _MARK.match(lines[above])):
            if mark.group(1) == "not-run":
                block.not_run = mark.group(2)
            else:
                block.marks |= _parse_mark(mark.group(2))
            above -= 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        block.output_of_previous = above >= 0 and lines[above].strip() in ("Output:", "Output")
        out.append(block)
        i += 1
    return out


def commands(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


# -- comparing ------------------------------------------------------------------------------------------


def _strip_json_comments(text: str) -> str:
    out, in_string, escaped, i = [], False, False, 0
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            escaped = c == "\\" and not escaped
            if c == '"' and not escaped:
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class _Num(str):
    """A number as the page spells it, so it can be compared at the page's precision."""


def _load_page_json(text: str) -> Any:
    return json.loads(_strip_json_comments(text), parse_float=_Num, parse_int=_Num)


def json_mismatches(shown: Any, actual: Any, values: bool, path: str = "$") -> list[str]:
    """Where the page's JSON differs from the real document: missing fields, other values."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{path}: page shows an object, actual is {json.dumps(actual)[:80]}"]
        out = []
        for key, value in shown.items():
            if key not in actual:
                out.append(f"{path}.{key}: shown on the page, missing in the output (has {sorted(actual)})")
            else:
                out += json_mismatches(value, actual[key], values, f"{path}.{key}")
        return out
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{path}: page shows a list, actual is {json.dumps(actual)[:80]}"]
        if values and len(shown) > len(actual):
            return [f"{path}: page shows {len(shown)} items, output has {len(actual)}"]
        out = []
        for k, item in enumerate(shown[: len(actual)]):
            out += json_mismatches(item, actual[k], values, f"{path}[{k}]")
        return out
    if not values:
        return []
    if isinstance(shown, _Num):
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return [f"{path}: page {shown}, actual {json.dumps(actual)}"]
        mantissa = shown.lower().partition("e")[0]
        decimals = len(mantissa.partition(".")[2])
        tolerance = 0.5 * 10.0 ** -decimals * 10.0 ** int(shown.lower().partition("e")[2] or 0)
        if abs(float(actual) - float(shown)) > tolerance * (1 + 1e-9):
            return [f"{path}: page {shown}, actual {actual!r}"]
        return []
    if isinstance(shown, str) and shown.startswith("..."):
        return []  # an elision: the page leaves this value out
    if isinstance(shown, str) and shown.endswith("..."):
        ok = isinstance(actual, str) and actual.startswith(shown[:-3].rstrip())
        return [] if ok else [f"{path}: page {shown!r}, actual {json.dumps(actual)[:120]}"]
    if shown != actual:
        return [f"{path}: page {json.dumps(shown)}, actual {json.dumps(actual)[:120]}"]
    return []


def text_mismatch(shown: str, actual: str) -> str | None:
    page = [line.rstrip() for line in shown.rstrip().splitlines()]
    real = [line.rstrip() for line in actual.rstrip().splitlines()]
    if page == real:
        return None
    return "\n".join(difflib.unified_diff(page, real, "page", "actual", lineterm=""))


def excerpt_missing(shown: str, actual: str) -> str | None:
    """The first page line (blanks squeezed) not found, in order, among the output's lines; None when all are."""
    def squeeze(line: str) -> str:
        return " ".join(line.split())

    real = iter(squeeze(line) for line in actual.splitlines())
    for line in filter(None, map(squeeze, shown.splitlines())):
        if not any(line in candidate for candidate in real):
            return line
    return None


# -- running --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ran:
    command: str
    code: int
    stdout: str
    stderr: str


class Session:
    """One page's scratch directory, environment, emulators and the ports they answer on."""

    def __init__(self, page: Path, cwd: Path) -> None:
        self.cwd = cwd
        self.servers: list[subprocess.Popen] = []
        self.emulators: dict[str, str] = {}
        self.env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1",
                    "BINANCE_API_KEY": SIM_KEY, "BINANCE_API_SECRET": SIM_SECRET,
                    "BINANCE_KEY": SIM_KEY, "BINANCE_SECRET": SIM_SECRET,
                    "RISKGUARD_ALERT_URL": "json://127.0.0.1:9/hook",
                    "RISKGUARD_CACHE_DIR": str(cwd / ".cache"), "RISKGUARD_AUDIT_DB": str(cwd / "audit.sqlite3"),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        text = page.read_text(encoding="utf-8")
        self.ports = {p: str(_free_port()) for p in sorted(set(_PORT.findall(text)))}
        shutil.copy(CONFIG_EXAMPLE, cwd / "config.example.yaml")
        shutil.copy(PAPER, cwd / "recorded.json")
        for folder in ("scripts", "bench"):
            (cwd / folder).symlink_to(ROOT / folder, target_is_directory=True)
        if "my.yaml" in text:
            url = self.emulator("binanceusdm")
            (cwd / "my.yaml").write_text(
                "accounts:\n  binance-main:\n    venue: binanceusdm\n    endpoint: " + url + "\n"
                '    credentials: {api_key: "${BINANCE_API_KEY}", secret: "${BINANCE_API_SECRET}"}\n',
                encoding="utf-8",
            )

    def localize(self, text: str) -> str:
        for page_port, port in self.ports.items():
            text = re.sub(rf"(?<=[:= ]){page_port}\b", port, text)
        return text

    def _start(self, command: str) -> str:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.servers.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the server's first line names its URL; readline blocks until then
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match is None:
            rest = proc.stdout.read() if proc.poll() is not None else ""
            raise AssertionError(f"{command!r} did not start: {line}{rest}")
        return match.group(0)

    def emulator(self, venue: str) -> str:
        if venue not in self.emulators:
            self.emulators[venue] = self._start(f"riskguard sim --venue {venue} --port {_free_port()}")
        return self.emulators[venue]

    def write_file(self, name: str, text: str) -> None:
        """A page's config as the reader would write it, pointed at emulators instead of the real venues."""
        if name.endswith((".yaml", ".yml")):
            for account in _live_accounts(text).values():
                text = re.sub(rf"(\n(\s+)venue: {re.escape(account['venue'])}\n)",
                              rf"\1\2endpoint: {self.emulator(account['venue'])}\n", text, count=1)
            # never a real venue: an account written in a form the rewrite does not know stops the page here
            live = list(_live_accounts(text))
            assert not live, f"{name}: accounts {live} would reach a real venue; write them in block style"
        (self.cwd / name).write_text(text, encoding="utf-8")

    def prepare(self, command: str) -> str:
        command = command.replace("pip install . && ", "")
        words = shlex.split(command, comments=True)
        if "--exchange" in words and "--endpoint" not in words:
            venue = words[words.index("--exchange") + 1]
            command = command.split(" #")[0] + f" --endpoint {self.emulator(venue)}"
        return command

    def run(self, command: str) -> Ran:
        if command.startswith("export "):
            for assignment in shlex.split(command)[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return Ran(command, 0, "", "")
        proc = subprocess.run(["bash", "-c", command], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, timeout=TIMEOUT_S)
        return Ran(command, proc.returncode, proc.stdout, proc.stderr)

    def run_python(self, source: str, line: int) -> Ran:
        script = self.cwd / f"example_{line}.py"
        script.write_text(source, encoding="utf-8")
        proc = subprocess.run([sys.executable, script.name], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, timeout=TIMEOUT_S)
        return Ran(f"python (block at line {line})", proc.returncode, proc.stdout, proc.stderr)

    def close(self) -> None:
        for proc in self.servers:
            proc.terminate()
        for proc in self.servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


def _live_accounts(text: str) -> dict[str, dict[str, Any]]:
    """The accounts of a config (not a scenario, whose accounts are a list) that would read a live venue."""
    doc = yaml.safe_load(text)
    accounts = doc.get("accounts") if isinstance(doc, dict) else None
    return {n: a for n, a in (accounts.items() if isinstance(accounts, dict) else ())
            if isinstance(a, dict) and "venue" in a and not {"endpoint", "snapshot"} & set(a)}


def _expected_codes(block: Block, count: int) -> list[int]:
    codes = [int(c) for c in block.marks.get("exit", "0").split(",")]
    if len(codes) == 1:
        return codes * count
    assert len(codes) == count, f"{block.where}: exit= lists {len(codes)} codes for {count} commands"
    return codes


def _report(ran: Ran) -> str:
    return f"$ {ran.command}\n  exit {ran.code}\n  stdout: {ran.stdout[-1500:]}\n  stderr: {ran.stderr[-1500:]}"


def run_page(page: Path, cwd: Path) -> tuple[list[str], list[str]]:
    """(failures, what ran): every block of ``page`` in order."""
    failures: list[str] = []
    ran_log: list[str] = []
    session = None
    previous: list[Ran] = []
    try:
        session = Session(page, cwd)
        for block in blocks(page):  # a page may name a file it shows further down
            if "file" in block.marks and block.not_run is None:
                session.write_file(block.marks["file"], session.localize(block.text))
        for block in blocks(page):
            if block.not_run is not None:
                if not block.not_run.strip():
                    failures.append(f"{block.where}: <!-- not-run --> needs a reason")
                continue
            if block.generated:
                continue
            if not block.lang:
                failures.append(f"{block.where}: a fenced block must name its language (bash, python, text, ...)")
                continue
            if block.lang in SHELL_ALIASES:
                failures.append(f"{block.where}: a {block.lang} block never runs here: make it bash, "
                                "or mark it <!-- not-run: reason -->")
                continue
            text = session.localize(block.text)
            if block.lang in RUNNABLE:
                previous = _run_block(session, block, text, failures)
                ran_log += [r.command for r in previous]
            elif "file" in block.marks:
                continue  # written before the first block ran
            elif {"output", "shape", "excerpt"} & set(block.marks) or block.output_of_previous:
                if "cmd" in block.marks:
                    previous = [session.run(session.prepare(session.localize(block.marks["cmd"])))]
                    ran_log.append(previous[0].command)
                _compare(block, text, previous, failures)
            elif block.lang in ("yaml", "json"):
                failures.append(f"{block.where}: a {block.lang} example needs <!-- doc-test: file=NAME -->, "
                                "output, shape, or <!-- not-run: reason -->")
    finally:
        if session is not None:
            session.close()
    return failures, ran_log


def _run_block(session: Session, block: Block, text: str, failures: list[str]) -> list[Ran]:
    if block.lang == "python":
        results = [session.run_python(text, block.line)]
    elif "background" in block.marks:
        for command in commands(text):
            session._start(session.prepare(command))
        return []
    else:
        results = [session.run(session.prepare(c)) for c in commands(text)]
    for ran, code in zip(results, _expected_codes(block, len(results)), strict=True):
        if ran.code != code or "Traceback" in ran.stderr:
            failures.append(f"{block.where}: expected exit {code}\n{_report(ran)}")
    return results


def _compare(block: Block, text: str, previous: list[Ran], failures: list[str]) -> None:
    actual = "".join(r.stdout for r in previous)
    if not previous:
        failures.append(f"{block.where}: an output block with nothing run before it")
    elif block.lang == "json":
        try:
            doc = json.loads(actual)
        except json.JSONDecodeError as exc:
            failures.append(f"{block.where}: the command did not print JSON ({exc}):\n{actual[:500]}")
            return
        wrong = json_mismatches(_load_page_json(text), doc, values="shape" not in block.marks)
        if wrong:
            failures.append(f"{block.where}: page vs actual JSON ({previous[-1].command}):\n  " + "\n  ".join(wrong))
    elif "excerpt" in block.marks:
        missing = excerpt_missing(text, actual)
        if missing is not None:
            failures.append(f"{block.where}: page line not in the output, in order ({previous[-1].command}):\n"
                            f"  {missing!r}\nactual:\n{actual}")
    elif (diff := text_mismatch(text, actual)) is not None:
        failures.append(f"{block.where}: page vs actual output ({previous[-1].command}):\n{diff}")


# -- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_when_run_then_they_do_what_the_page_says(page: Path, tmp_path: Path):
    failures, _ = run_page(page, tmp_path)
    assert not failures, "\n\n".join(failures)


def test_not_run_exceptions_when_listed_then_few_and_each_with_a_reason():
    skipped = [(b.where, b.not_run) for p in PAGES for b in blocks(p) if b.not_run is not None]
    assert all(reason for _, reason in skipped), skipped
    assert len(skipped) <= 3, skipped


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_run_page_when_output_or_exit_code_differs_then_it_fails_with_a_diff(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    page = _page(tmp_path, "<!-- doc-test: exit=2 -->\n```bash\nprintf 'a\\nb\\n'\n```\n\nOutput:\n\n"
                 "```text\na\nc\n```\n")
    failures, ran = run_page(page, work)
    assert ran == ["printf 'a\\nb\\n'"]
    assert "page.md:2: expected exit 2" in failures[0]
    assert "-c\n+b" in failures[1]


def test_run_page_when_a_shell_block_is_not_bash_then_it_is_refused_unrun(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    page = _page(tmp_path, "```sh\ntouch ran-sh\n```\n\n```console\n$ touch ran-console\n```\n\n"
                 "<!-- not-run: needs root -->\n```sh\nsudo true\n```\n")
    failures, ran = run_page(page, work)
    assert ran == [] and not (work / "ran-sh").exists()
    assert failures == ["page.md:1: a sh block never runs here: make it bash, or mark it <!-- not-run: reason -->",
                        "page.md:5: a console block never runs here: make it bash, or mark it <!-- not-run: reason -->"]


def test_run_page_when_a_config_names_a_live_venue_then_an_emulator_or_the_page_stops(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    block = "<!-- doc-test: file=c.yaml -->\n```yaml\nversion: 2\naccounts:\n  {}\n```\n"
    written = _page(tmp_path, block.format("main:\n    venue: binanceusdm"))
    assert run_page(written, work) == ([], [])
    assert "endpoint: http://127.0.0.1:" in (work / "c.yaml").read_text()
    flow = _page(tmp_path, block.format("main: {venue: binanceusdm}"))
    (work / "flow").mkdir()
    with pytest.raises(AssertionError, match=r"accounts \['main'\] would reach a real venue"):
        run_page(flow, work / "flow")


def test_json_mismatches_when_numbers_at_page_precision_then_equal_else_named():
    shown = _load_page_json('{"a": 1.25, "b": {"c": "EMPTY_BOOK: ..."}, "l": [{"x": 3}], "z": 1 // note\n}')
    actual = {"a": 1.2549, "b": {"c": "EMPTY_BOOK: no bids"}, "l": [{"x": 3, "y": 4}, {"x": 5}], "z": 1}
    assert json_mismatches(shown, actual, values=True) == []
    assert json_mismatches(shown, {**actual, "a": 1.26}, values=True) == ["$.a: page 1.25, actual 1.26"]
    assert json_mismatches(shown, {"a": 9}, values=False) == [
        "$.b: shown on the page, missing in the output (has ['a'])",
        "$.l: shown on the page, missing in the output (has ['a'])",
        "$.z: shown on the page, missing in the output (has ['a'])",
    ]
