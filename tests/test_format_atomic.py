"""Atomic commit: the new bytes or the old file, never a mix; permissions kept, no temporary left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nrcodec.format.atomic import commit_bytes


def test_writes_a_new_file_with_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.bin"
    umask = os.umask(0o027)
    try:
        commit_bytes(target, b"hello")
    finally:
        os.umask(umask)
    assert target.read_bytes() == b"hello"
    assert target.stat().st_mode & 0o7777 == 0o640
    assert os.listdir(tmp_path) == ["new.bin"]


def test_replaces_content_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "old.bin"
    target.write_bytes(b"old content, longer than the new")
    target.chmod(0o604)
    commit_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o7777 == 0o604
    assert os.listdir(tmp_path) == ["old.bin"]


def test_a_relative_path_commits_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commit_bytes("here.bin", b"x")
    assert (tmp_path / "here.bin").read_bytes() == b"x"


def test_a_failed_commit_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "kept.bin"
    target.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        commit_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["kept.bin"]


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such file or directory"):
        commit_bytes(tmp_path / "absent" / "file.bin", b"x")
