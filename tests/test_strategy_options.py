"""Strategies are plugins with typed options, and one resolver maps every strategy name to its library
kind: bad options and unknown names are a usage error before any file exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.errors import UsageError
from nrcodec.video import kinds
from nrcodec.video.grow.library import GrowLibrary
from nrcodec.video.settings import NewArchive
from nrcodec.video.supernet.library import SupernetLibrary
from nrcodec.video.supernet.strategies import STRATEGIES, make_strategy

runner = CliRunner()


def test_every_registered_strategy_is_made_with_its_default_options() -> None:
    assert kinds.strategy_names()[0] == "grow"
    masked = {"pnr", "wsn", "spacenet", "static", "anpyc", "ewc", "finetune", "replay"}
    assert set(STRATEGIES) == masked and set(kinds.strategy_names()) == masked | {"grow"}
    for name in STRATEGIES:
        strategy = make_strategy(name)
        assert strategy.name == name and isinstance(strategy.options, STRATEGIES[name].Options)


def test_the_resolver_maps_every_strategy_to_one_kind() -> None:
    assert kinds.resolve("grow") is GrowLibrary
    assert all(kinds.resolve(name) is SupernetLibrary for name in STRATEGIES)
    assert kinds.new_config(NewArchive()).to_json() == {"strategy": "grow", "strategy_options": {}, "seed": 0}
    with pytest.raises(UsageError, match="unknown strategy 'nope'; choose one of grow, anpyc"):
        kinds.resolve("nope")
    with pytest.raises(UsageError, match="qat_start must be in"):
        kinds.new_config(NewArchive(strategy="grow", strategy_options={"qat_start": 2.0}))


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
        ("nope", {}, "unknown supernet strategy 'nope'"),
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
