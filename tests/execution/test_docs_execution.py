"""docs/execution.md: its config and every command run on an emulator, with the exit codes the page states."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
import threading
from pathlib import Path

import pytest

from riskguard.cli import main
from riskguard.sim import serve

PAGE = (Path(__file__).parents[2] / "docs" / "execution.md").read_text()
COMMANDS = re.findall(r"^(riskguard .+?)\s+# exit (\d)$", PAGE, re.M)
[CONFIG] = re.findall(r"```yaml\n(.*?)```", PAGE, re.S)
[LOG_JSON] = re.findall(r"```json\n(.*?)```", PAGE, re.S)


def test_documented_commands_run_in_order(tmp_path, monkeypatch, capsys) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sim = asyncio.run_coroutine_threadsafe(serve("binanceusdm"), loop).result(30)
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("RISKGUARD_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.delenv("RISKGUARD_AUDIT_DB", raising=False)
        monkeypatch.setenv("RG_SIM_KEY", "riskguard-sim-key")
        monkeypatch.setenv("RG_SIM_SECRET", "riskguard-sim-secret")
        (tmp_path / "guarded.yaml").write_text(CONFIG.replace("http://127.0.0.1:8801", sim.base_url))
        assert len(COMMANDS) == 4
        outputs = []
        for command, code in COMMANDS:
            monkeypatch.setattr(sys, "argv", shlex.split(command))
            with pytest.raises(SystemExit) as exc:
                main()
            captured = capsys.readouterr()
            assert exc.value.code == int(code), (command, captured.err)
            outputs.append(captured)
        assert "rehearsal: executed: 1/1 order(s) done, verified" in outputs[1].err
        documented = json.loads(LOG_JSON)["events"][0].keys()
        [intent] = [e for e in json.loads(outputs[3].out)["events"] if e["kind"] == "intent"]
        assert intent.keys() == documented and intent["account"] == "rehearsal"
        assert intent["message"] == json.loads(LOG_JSON)["events"][0]["message"]
        assert "filled 400 of 400 at 145.84485" in outputs[2].out and "as planned" in outputs[2].out
    finally:
        asyncio.run_coroutine_threadsafe(sim.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
