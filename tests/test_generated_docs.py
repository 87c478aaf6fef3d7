"""Docs tables generated from code must match the committed docs (run the module to refresh)."""

from __future__ import annotations

import pytest

from riskguard.report.generated_docs import BLOCKS, DOCS, render


@pytest.mark.parametrize(("file", "name"), list(BLOCKS))
def test_generated_block_when_docs_committed_then_up_to_date(file, name):
    text = (DOCS / file).read_text()
    assert render(text, name, BLOCKS[(file, name)]()) == text, (
        f"docs/{file} is stale: run python -m riskguard.report.generated_docs"
    )
