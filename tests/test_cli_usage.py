"""The command line as a newcomer meets it: help that shows every default, usage errors as one line
and exit 2, runtime errors as one line naming the file and exit 1, ``--threads`` on every command
that computes, ``info`` on all three file kinds, ``--json`` as a stdout flag everywhere, outputs
checked before any work, and no progress bar when stderr is not a terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from nrcodec.cli import app, render

runner = CliRunner()
FAST_VIDEO = ["--epochs", "1", "--max-frames", "4", "--device", "cpu"]
FAST_IMAGE = ["--steps", "2", "--crop", "64", "--batch", "2", "--device", "cpu"]
COMPUTING = ("add-video", "decode", "eval", "train-image-codec", "adapt-domain", "encode-image", "decode-image")


def nrcodec(*args: object, input: bytes | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def commands(group: typer.core.TyperGroup | None = None, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """(command path, click command) of every command, bench's subcommands included."""
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def one_line_error(result, code: int) -> str:
    """The single ``error:`` line of a failed run (a usage error may print the usage line first)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Usage:")]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output and "╭" not in result.stderr
    return lines[0]


def test_every_help_shows_every_default_and_its_text_intact() -> None:
    """Rich markup once swallowed every ``[default: ...]`` and any bracket in a help text."""
    for path, command in commands():
        result = runner.invoke(app, [*path, "--help"], terminal_width=500, env={"COLUMNS": "500"})
        assert result.exit_code == 0, result.output
        text = re.sub(r"\s+", " ", result.output)
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help" or not param.help:
                continue
            assert re.sub(r"\s+", " ", param.help) in text, (path, param.name)
            if not param.required and not (getattr(param, "is_flag", False) and param.default is False):
                line = next(x for x in result.output.splitlines() if f" {param.opts[0]} " in x)
                assert "[default:" in line, (path, param.name, line)


def test_threads_on_every_computing_command() -> None:
    names = {" ".join(path): command for path, command in commands()}
    for name in (*COMPUTING, "bench speed", "bench video", "bench image", "bench strategies", "bench sessions"):
        assert "threads" in [p.name for p in names[name].params], name


def test_threads_sets_torch_and_json_is_a_flag(tmp_path: Path, samples: Path) -> None:
    before = torch.get_num_threads()
    try:
        out = tmp_path / "c.nri"
        result = nrcodec("encode-image", samples / "images" / "coffee.png", "-o", out, "--threads", "1", "--json")
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
        assert json.loads(result.stdout)["bytes"] == out.stat().st_size
    finally:
        torch.set_num_threads(before)


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, samples: Path) -> None:
    clip = samples / "closeup.mp4"
    assert "Missing argument" in one_line_error(nrcodec("add-video"), 2)
    assert "'--capacity'" in one_line_error(nrcodec("add-video", tmp_path / "a.nrc", clip, "--capacity", "x"), 2)
    assert "unknown device" in one_line_error(nrcodec("add-video", tmp_path / "a.nrc", clip, "--device", "tpu"), 2)
    assert "No such command" in one_line_error(nrcodec("decod"), 2)
    assert "--frames" in one_line_error(
        nrcodec("decode", tmp_path / "a.nrc", "-s", "1", "-o", "x.y4m", "--frames", "z"), 2
    )
    assert "--source" in one_line_error(nrcodec("eval", tmp_path / "a.nrc", "--source", "bunny.mp4"), 2)
    assert "--mode" in one_line_error(nrcodec("adapt-domain", "x.nic", "--images", tmp_path, "--mode", "nope"), 2)
    assert not (tmp_path / "a.nrc").exists()


def test_runtime_errors_name_the_file_and_exit_1(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.nic"
    damaged.write_bytes(b"NRIC\x01\x00" + b"\x00" * 40)
    assert "damaged.nic" in one_line_error(nrcodec("info", damaged), 1)
    assert "damaged.nic" in one_line_error(
        nrcodec("encode-image", "x.png", "-o", tmp_path / "x.nri", "--codec", damaged), 1
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert "notes.txt is not an nrcodec file" in one_line_error(nrcodec("info", notes), 1)
    assert "missing.nri does not exist" in one_line_error(nrcodec("info", tmp_path / "missing.nri"), 1)


def test_info_reads_all_three_kinds(tmp_path: Path, samples: Path) -> None:
    lib, codec, stream = tmp_path / "lib.nrc", tmp_path / "c.nic", tmp_path / "x.nri"
    assert nrcodec("add-video", lib, samples / "closeup.mp4", *FAST_VIDEO).exit_code == 0
    assert nrcodec("train-image-codec", codec, "--images", samples / "images", *FAST_IMAGE).exit_code == 0
    assert nrcodec("adapt-domain", codec, "--images", samples / "images", *FAST_IMAGE).exit_code == 0
    assert nrcodec("encode-image", samples / "images" / "chelsea.png", "-o", stream, "--codec", codec).exit_code == 0

    archive = json.loads(nrcodec("info", lib, "--json").stdout)
    assert archive["kind"] == "archive" and archive["file_bytes"] == lib.stat().st_size
    assert [s["session"] for s in archive["sessions"]] == [1]

    described = json.loads(nrcodec("info", codec, "--json").stdout)
    assert described["kind"] == "codec" and described["file_bytes"] == codec.stat().st_size
    assert described["architecture"]["model"] == "hyperprior"
    versions = described["versions"]
    assert [(v["version"], v["parent"], v["mode"]) for v in versions] == [(0, None, "base"), (1, 0, "cawf")]
    assert versions[0]["images"] == len(list((samples / "images").iterdir()))
    assert sum(v["bytes"] for v in versions) == codec.stat().st_size - 6
    levels = versions[0]["levels"]
    assert [level["quality"] for level in levels] == [1, 2, 3, 4, 5, 6]
    assert [level["lambda"] for level in levels] == sorted(level["lambda"] for level in levels)
    assert [level["quality"] for level in levels if level["default"]] == [4]
    assert versions[1]["levels"] == levels  # an adaptation keeps its parent's ladder

    bits = json.loads(nrcodec("info", stream, "--json").stdout)
    assert bits["kind"] == "bitstream" and (bits["width"], bits["height"]) == (112, 112)
    assert bits["quality"] == 4 and bits["format_version"] == (3 if any(bits["colour_offsets"]) else 2)
    assert bits["version"] == 1 and bits["version_fingerprint"] == versions[1]["fingerprint"]
    assert bits["codec_fingerprint"] == versions[0]["fingerprint"]
    assert bits["bpp"] == pytest.approx(stream.stat().st_size * 8 / (112 * 112))
    assert "codec version 1" in nrcodec("info", stream).stdout


def test_outputs_are_checked_before_any_work(tmp_path: Path, samples: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes((samples / "images" / "coffee.png").read_bytes())
    kept = photo.read_bytes()
    assert "also an input" in one_line_error(nrcodec("encode-image", photo, "-o", photo), 2)
    assert photo.read_bytes() == kept
    codec = tmp_path / "c.nic"
    assert nrcodec("train-image-codec", codec, "--images", samples / "images", *FAST_IMAGE).exit_code == 0
    first = codec.read_bytes()
    assert "--force" in one_line_error(
        nrcodec("train-image-codec", codec, "--images", samples / "images", *FAST_IMAGE), 2
    )
    assert codec.read_bytes() == first
    assert (
        nrcodec(
            "train-image-codec", codec, "--images", samples / "images", *FAST_IMAGE, "--seed", "1", "--force"
        ).exit_code
        == 0
    )
    assert codec.read_bytes() != first
    stream = tmp_path / "p.nri"
    assert nrcodec("encode-image", photo, "-o", stream, "--codec", codec).exit_code == 0
    assert "also an input" in one_line_error(nrcodec("decode-image", stream, "-o", stream, "--codec", codec), 2)
    missing = tmp_path / "no" / "lib.nrc"
    assert "folder" in one_line_error(nrcodec("add-video", missing, samples / "closeup.mp4", *FAST_VIDEO), 1)
    assert "folder" in one_line_error(
        nrcodec("train-image-codec", missing.with_suffix(".nic"), "--images", tmp_path), 1
    )


def test_progress_off_a_terminal_is_a_plain_line_now_and_then(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bar off a terminal, and no progress line in a run shorter than ``PLAIN_EVERY_S``; a longer
    one (the interval shrunk to 0 here) says how far it is on stderr, stdout unchanged."""
    result = nrcodec("add-video", tmp_path / "lib.nrc", samples / "closeup.mp4", *FAST_VIDEO)
    assert result.exit_code == 0, result.output
    assert "━" not in result.stderr and "session 1 'closeup'" in result.stderr and " left" not in result.stderr
    assert result.stdout.startswith("added session 1 'closeup'")
    monkeypatch.setattr(render, "PLAIN_EVERY_S", 0.0)
    again = nrcodec("add-video", tmp_path / "lib.nrc", samples / "closeup.mp4", *FAST_VIDEO)
    assert again.exit_code == 0, again.output
    lines = [line for line in again.stderr.splitlines() if line.startswith("session 2: ")]
    assert lines and all(re.search(r"^session 2: \d+/\d+, loss .* dB, .* in, about .* left$", x) for x in lines)
    assert again.stdout.startswith("added session 2 'closeup'")


def test_bench_json_is_a_flag_and_finds_its_data_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = nrcodec("bench", "speed", "--presets", "tiny", "--device", "cpu", "--json", "--out", "speed.json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "speed.json").read_text())
    assert printed["presets"][0]["preset"] == "tiny" and printed["archive_vs_bound"]["chunk_bytes"] > 0
    cpu = printed["sessions"][0]
    assert (cpu["device"], cpu["precision"], cpu["size"]) == ("cpu", "fp32", [320, 180])
    assert cpu["train_fps"] > 0 and cpu["decode_fps"] > 0


def test_user_strings_are_printed_as_given(tmp_path: Path, samples: Path) -> None:
    """A file name with console markup in it once vanished ("[bold red]") or crashed the CLI ("[/]")."""
    folder = tmp_path / "a["
    folder.mkdir()
    odd = folder / "]b [bold red]x.mp4"
    odd.write_bytes((samples / "closeup.mp4").read_bytes())
    lib = folder / "[red]lib.nrc"
    result = nrcodec("add-video", lib, odd, *FAST_VIDEO)
    assert result.exit_code == 0, result.output
    assert "added session 1 ']b [bold red]x' to " + str(lib) in result.stdout
    assert "]b [bold red]x" in nrcodec("info", lib).stdout
    missing = one_line_error(nrcodec("decode", folder / "[/]gone.nrc", "-s", "1", "-o", "x.y4m"), 1)
    assert "[/]gone.nrc" in missing
