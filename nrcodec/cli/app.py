"""The Typer app, global options and the one place that turns errors into exit codes."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from nrcodec import __version__, parallel
from nrcodec.errors import NrcodecError, UsageError
from nrcodec.runtime import default_threads, resolve_device, use_threads


class OneLineErrors(TyperGroup):
    """The root command: a usage error Click finds (missing argument, bad value) prints the usage
    line and one ``error:`` line and exits 2, instead of Typer's boxed panel."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelpError as exc:
            exc.show()
            code = 0
        except ClickException as exc:
            if exc.ctx is not None:
                err.print(escape(exc.ctx.get_usage()), soft_wrap=True)
            command = exc.ctx.command_path if exc.ctx is not None else "nrcodec"
            err.print(f"[bold red]error:[/] {escape(exc.format_message())} (see {escape(command)} --help)")
            code = exc.exit_code
        except typer.Abort:
            err.print("aborted")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="nrcodec",
    cls=OneLineErrors,
    help="A growing video library in one neural file, and a learned image codec that adapts without forgetting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda or mps."
DeviceOption = Annotated[str, typer.Option(help=DEVICE_HELP)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="CPU threads for torch. The default leaves one core free, because threads that wait on a busy "
        "core slow every step down; it is OMP_NUM_THREADS when that is set.",
        show_default=f"{default_threads()} here",
    ),
]
_state = {"debug": False}


def _version(value: bool) -> None:
    """nrcodec's version and those of the libraries that shape its results (torch, PyAV)."""
    if value:
        import av
        import torch

        typer.echo(f"nrcodec {__version__} (torch {torch.__version__}, PyAV {av.__version__})")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the versions of nrcodec, torch and PyAV."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    if ctx.invoked_subcommand != "add-video":
        with user_errors():
            parallel.refuse(f"nrcodec {ctx.invoked_subcommand}")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Run a command body: data errors become one stderr line and exit 1, bugs too unless --debug."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except NrcodecError as exc:
        if _state["debug"]:
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        raise typer.Exit(130) from None
    except MemoryError:
        if _state["debug"]:
            raise
        err.print("[bold red]error:[/] out of memory; try a smaller --preset or --max-frames", markup=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(
            f"[bold red]internal error:[/] {exc.__class__.__name__}: {exc} "
            "(run with --debug for the traceback and please report it)",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def note(text: str) -> None:
    """A notice (archive, clip, lock) as one stderr line."""
    err.print(f"note: {escape(text)}")


def compute_on(device: str, threads: int | None) -> torch.device:
    """Set torch's thread count (``--threads``) and resolve ``--device``: every computing command's start."""
    use_threads(threads)
    return resolve_device(device)


def emit_json(obj: dict[str, Any]) -> None:
    """Print the one JSON object of a ``--json`` run on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")
    sys.stdout.flush()


def main() -> None:
    app()
