"""``nrcodec check`` and ``nrcodec repair`` on a fixture archive with a damaged last session."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.video.archive import Archive

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1" / "spacenet-sinusoidal.nrc"
runner = CliRunner()


def test_check_names_the_damaged_session_and_repair_keeps_the_others(tmp_path: Path) -> None:
    data = bytearray(FIXTURE.read_bytes())
    data[-200] ^= 0x01
    damaged = tmp_path / "lib.nrc"
    damaged.write_bytes(bytes(data))

    result = runner.invoke(app, ["check", str(damaged)])
    assert result.exit_code == 1
    assert "session 3: damaged" in result.stdout and "CRC32 mismatch" in result.stdout
    report = json.loads(runner.invoke(app, ["check", str(damaged), "--json"]).stdout)
    assert [s["status"] for s in report["sessions"]] == ["ok", "ok", "damaged"] and report["intact"] == 2

    fixed = tmp_path / "fixed.nrc"
    result = runner.invoke(app, ["repair", str(damaged), str(fixed)])
    assert (
        result.exit_code == 0 and "2 session(s)" in result.stdout and "dropped sessions: 3 (damaged)" in result.stdout
    )
    assert runner.invoke(app, ["check", str(fixed)]).exit_code == 0
    assert fixed.read_bytes() == FIXTURE.read_bytes()[: Archive.open(FIXTURE).checks[2].offset]

    again = runner.invoke(app, ["repair", str(damaged), str(fixed)])
    assert again.exit_code == 2 and "--force" in again.stderr
    assert runner.invoke(app, ["repair", str(damaged), str(fixed), "--force"]).exit_code == 0
    assert runner.invoke(app, ["repair", str(damaged), str(damaged), "--force"]).exit_code == 2
    assert damaged.read_bytes() == bytes(data)


def test_info_and_decode_say_when_a_session_is_damaged(tmp_path: Path) -> None:
    """A reader names the damaged session on stderr and still serves the sessions before it."""
    damaged = tmp_path / "damaged.nrc"
    data = bytearray(FIXTURE.read_bytes())
    data[-200] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shown = runner.invoke(app, ["info", str(damaged)])
    assert shown.exit_code == 0 and "session 3 of" in shown.stderr and "repair" in shown.stderr
    first = runner.invoke(app, ["decode", str(damaged), "-s", "1", "-o", str(tmp_path / "one.y4m")])
    assert first.exit_code == 0 and "session 3 of" in first.stderr
    third = runner.invoke(app, ["decode", str(damaged), "-s", "3", "-o", str(tmp_path / "three.y4m")])
    assert third.exit_code == 1 and "nrcodec repair" in third.stderr
