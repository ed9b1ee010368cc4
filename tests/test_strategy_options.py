"""Strategies are plugins with typed options: bad options are a usage error before any file exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.errors import UsageError
from nrcodec.video.strategies import make_strategy, strategy_names
from nrcodec.video.strategies.base import STRATEGIES

runner = CliRunner()


def test_every_registered_strategy_is_made_with_its_default_options() -> None:
    assert strategy_names()[0] == "grow"
    masked = {"pnr", "wsn", "spacenet", "static", "anpyc", "ewc", "finetune", "replay"}
    assert set(strategy_names()) == masked | {"grow"}
    for name in strategy_names():
        strategy = make_strategy(name)
        assert strategy.name == name and isinstance(strategy.options, STRATEGIES[name].Options)


def test_options_are_typed_and_an_int_is_a_fine_float() -> None:
    assert make_strategy("ewc", {"strength": 100}).options.strength == 100
    assert make_strategy("anpyc", {"prune": 0.1, "strength": 1e5}).options.prune == 0.1
    assert make_strategy("replay", {"frames": 8}).options.frames == 8
    assert make_strategy("pnr", {"reinit": False}).options.reinit is False


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("ewc", {"strength": "abc"}, "option strength must be a float, got 'abc'"),
        ("ewc", {"strength": -1.0}, "strength must be a finite number >= 0"),
        ("ewc", {"strength": float("nan")}, "strength must be a finite number >= 0"),
        ("ewc", {"stength": 1.0}, "has no option 'stength' \\(its options: strength\\)"),
        ("replay", {"frames": 2.5}, "option frames must be a int"),
        ("replay", {"frames": 0}, "frames must be in 1..65536"),
        ("pnr", {"reinit": 1}, "option reinit must be a bool"),
        ("spacenet", {"drop": 1.0}, "drop must be in \\[0, 1\\)"),
        ("static", {"drop": 0.1}, "has no option 'drop'"),
        ("anpyc", {"prune": True}, "option prune must be a float"),
        ("finetune", {"x": 1}, "its options: none"),
        ("nope", {}, "unknown strategy 'nope'"),
    ],
)
def test_bad_options_are_usage_errors(strategy: str, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_strategy(strategy, options)


@pytest.mark.parametrize(
    "option", ["strength=abc", "strength=-5", "strenght=1e3", "strength", "=3"], ids=lambda o: o or "empty"
)
def test_cli_bad_strategy_option_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, samples: Path, option: str
) -> None:
    lib = tmp_path / "lib.nrc"
    args = ["add-video", str(lib), str(samples / "bunny.mp4"), "--preset", "tiny", "--strategy", "ewc"]
    result = runner.invoke(app, [*args, "--strategy-option", option])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert not lib.exists() and list(tmp_path.iterdir()) == []
