"""Tables in docs/ that are generated from code, so the docs cannot drift from the contract.

Run ``python -m riskguard.report.generated_docs`` after changing reason codes or
the snapshot envelope; a test fails while the committed docs are stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from riskguard.connectors.snapshot_doc import json_schema
from riskguard.rules.codes import DESCRIPTION, SEVERITY, ExitCode, ReasonCode

DOCS = Path(__file__).resolve().parents[2] / "docs"


def reason_code_table() -> str:
    rows = ["| code | severity | exit code when worst | meaning |", "|---|---|---|---|"]
    for code in ReasonCode:
        sev = SEVERITY[code]
        exit_code = "0" if sev.value == 0 else str(int(ExitCode(sev.value)))
        rows.append(f"| `{code.value}` | {sev.name.lower()} | {exit_code} | {DESCRIPTION[code]} |")
    return "\n".join(rows)


def snapshot_schema() -> str:
    return "```json\n" + json.dumps(json_schema(), indent=2) + "\n```"


def metric_table() -> str:
    from riskguard.rules.metric_catalog import CATALOG

    rows = ["| metric | scope | unit | meaning | unknown when |", "|---|---|---|---|---|"]
    rows += [f"| `{m.name}` | {m.scope} | {m.unit} | {m.description} | {m.unknown_when} |" for m in CATALOG.values()]
    return "\n".join(rows)


BLOCKS = {
    ("reason-codes.md", "reason-codes"): reason_code_table,
    ("policies.md", "metrics"): metric_table,
    ("snapshot.md", "snapshot-schema"): snapshot_schema,
}


def render(text: str, name: str, content: str) -> str:
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers for {name!r} not found")
    return pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text)


def main() -> None:
    for (file, name), make in BLOCKS.items():
        path = DOCS / file
        path.write_text(render(path.read_text(), name, make()))


if __name__ == "__main__":
    main()
