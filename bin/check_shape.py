"""Fail when a function or class in the repository's Python code is too long to read in one go.

Limits: a function (or method, sync or async, nested ones included) may span at most 60 lines and
a class at most 200. A definition's length is ``end_lineno - first_line + 1`` where ``first_line``
is the line of its first decorator when it has any, else its ``def``/``class`` line: decorators,
the docstring, comments and blank lines inside it all count.

    python bin/check_shape.py                # checks every folder with Python code (FOLDERS)
    python bin/check_shape.py path/ file.py  # checks these instead

Prints one ``file:line: kind name is N lines (limit L)`` per offender and exits 1 if there is any.
Standard library only (``ast``), so it runs before anything is installed.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 200
ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("nrcodec", "tests", "bin", "data", "release", "research")
"""The folders of the repository that hold Python code: the package, its tests and the scripts."""


def span(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, int]:
    """(first line, length) of a definition, decorators included."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, (node.end_lineno or node.lineno) - first + 1


def offenders(path: Path) -> Iterator[str]:
    """One message per function or class in ``path`` that is longer than its limit."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in sorted(ast.walk(tree), key=lambda n: getattr(n, "lineno", 0)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kind, limit = "function", MAX_FUNCTION_LINES
        elif isinstance(node, ast.ClassDef):
            kind, limit = "class", MAX_CLASS_LINES
        else:
            continue
        first, length = span(node)
        if length > limit:
            yield f"{path}:{first}: {kind} {node.name} is {length} lines (limit {limit})"


def python_files(targets: list[str]) -> list[Path]:
    files: list[Path] = []
    for target in map(Path, targets):
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return files


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, so messages stay short."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    targets = argv or [_shown(ROOT / folder) for folder in FOLDERS]
    found = [message for path in python_files(targets) for message in offenders(path)]
    for message in found:
        print(message)
    if found:
        print(
            f"{len(found)} definition(s) over the limits ({MAX_FUNCTION_LINES} lines per function, "
            f"{MAX_CLASS_LINES} per class); split them into well-named helpers",
            file=sys.stderr,
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
