"""`modella sync`'s summary: a failed or skipped item carries its reason in the table and the lines."""

from __future__ import annotations

import re
import sys

import pytest

from modella_tui.cli import sync as sync_cmd
from modella_tui.core.listfile import ListEntry
from modella_tui.core.provision import ItemResult, SyncReport

ANSI = re.compile(r"\x1b\[[0-9;]*m")
GATED = "black-forest-labs/FLUX.1-dev is gated: accept its licence on huggingface.co, then set hf.token."
REPORT = SyncReport(
    [
        ItemResult(ListEntry("civitai:1012", title="Ink Wash"), "landed", files=1, bytes=1 << 20),
        ItemResult(
            ListEntry("hf:black-forest-labs/FLUX.1-dev/ae.safetensors"), "failed", (GATED,), 3
        ),
        ItemResult(
            ListEntry("civitai:999999", note="gone?"),
            "failed",
            ("Civitai has no model 999999.", "second\treason"),
            4,
        ),
        ItemResult(ListEntry("civitai:55"), "skipped", ("model.ckpt needs --allow-pickle.",), 2),
    ]
)


def test_on_a_terminal_each_reason_sits_indented_under_its_row(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sync_cmd, "is_tty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    sync_cmd._print("Kit", REPORT)
    out = capsys.readouterr().out
    lines = [ANSI.sub("", line).rstrip() for line in out.splitlines()]
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].startswith("result") and lines[-1].startswith("“Kit”: 1 landed")
    ref_at = lines[0].index("ref")
    landed, gated, gone, pickle = (n for n in range(1, len(lines) - 1) if lines[n][:1] != " ")
    assert "civitai:1012" in lines[landed] and gated == landed + 1
    arrow = next(n for n in range(gated, gone) if "↳" in lines[n])  # after the folded ref
    assert "".join(line.strip() for line in lines[gated:arrow]).endswith("ae.safetensors")
    assert lines[arrow].startswith(" " * ref_at + "↳ black-forest-labs/FLUX.1-dev is gated")
    note = " ".join(line.strip() for line in lines[arrow:gone])
    assert note == f"↳ {GATED}"  # folded at the terminal's width, indented like its first line
    assert lines[gone + 1 : pickle] == [
        " " * ref_at + "↳ Civitai has no model 999999.",
        " " * ref_at + "↳ second reason",
    ]
    assert lines[pickle].startswith("- skipped") and "civitai:55" in lines[pickle]
    assert lines[pickle + 1] == " " * ref_at + "↳ model.ckpt needs --allow-pickle."
    assert lines[pickle + 2].startswith("“Kit”")


def test_on_a_pipe_each_row_is_tab_separated_with_the_reasons_last(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_cmd, "is_tty", lambda: False)
    sync_cmd._print("Kit", REPORT)
    captured = capsys.readouterr()
    rows = [line.split("\t") for line in captured.out.splitlines()[:-1]]
    assert [len(row) for row in rows] == [6, 6, 6, 6]
    assert rows[0] == ["✓ landed", "civitai:1012", "Ink Wash", "1", "1.0 MB", ""]
    assert rows[1][:2] == ["✗ failed", "hf:black-forest-labs/FLUX.1-dev/ae.safetensors"]
    assert rows[1][5] == GATED
    assert rows[2][5] == "Civitai has no model 999999.; second reason"
    assert rows[3][0] == "- skipped" and rows[3][5] == "model.ckpt needs --allow-pickle."
    assert "civitai:999999: Civitai has no model 999999." in captured.err  # as before, on stderr
