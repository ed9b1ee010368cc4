"""The ``nrcodec`` command line: Typer commands that parse, call the package and render."""

from nrcodec.cli import bench, bench_image, bench_sessions, bench_transfer, bench_video, image, info, repair, video  # noqa: F401  (registers the commands)
from nrcodec.cli.app import app, main

__all__ = ["app", "main"]
