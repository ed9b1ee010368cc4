"""``nrcodec check`` and ``nrcodec repair``: find damaged sessions, keep the intact ones in a new file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from nrcodec.cli.app import JsonFlag, app, emit_json, out, user_errors
from nrcodec.cli.render import human_bytes
from nrcodec.video.archive import Archive
from nrcodec.video.damage import ArchiveCheck, SessionCheck
from nrcodec.video.repair import repair as repair_archive


@app.command()
def check(
    archive: Annotated[Path, typer.Argument(help="Archive (.nrc).")],
    as_json: JsonFlag = False,
) -> None:
    """Decode every session of ARCHIVE and say which ones are damaged; exit 1 if any is."""
    with user_errors():
        report = Archive.check(archive)
        if as_json:
            emit_json(report.to_json())
        else:
            _print_check(report)
        if not report.ok:
            raise typer.Exit(1)


def _print_check(report: ArchiveCheck) -> None:
    out.print(escape(f"{report.path}: {human_bytes(report.file_bytes)}, {len(report.sessions)} session(s) in the file"))
    for session in report.sessions:
        out.print(escape(_line(session)))
    if report.ok:
        out.print("every session decodes")
    else:
        out.print(escape(f"the first {report.intact} session(s) decode; `nrcodec repair` copies them into a new file"))


def _line(session: SessionCheck) -> str:
    reason = f": {session.reason}" if session.reason else ""
    return f"  session {session.session}: {session.status} ({human_bytes(session.bytes)}){reason}"


@app.command()
def repair(
    archive: Annotated[Path, typer.Argument(help="Damaged archive (.nrc); it is not changed.")],
    output: Annotated[Path, typer.Argument(help="New archive for its header and intact sessions.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it exists.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy ARCHIVE's header and intact sessions, from the first to the first damaged one, into OUTPUT."""
    with user_errors():
        report = repair_archive(archive, output, force)
        if as_json:
            emit_json(report.to_json())
            return
        dropped = ", ".join(f"{c.session} ({c.status})" for c in report.dropped) or "none"
        out.print(
            escape(
                f"wrote {output}: {report.kept} session(s), {human_bytes(report.file_bytes)}; "
                f"dropped sessions: {dropped}"
            )
        )
