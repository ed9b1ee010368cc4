"""Follow the framing of a y4m stream as PyAV reads it, so a cut or damaged file is an error.

FFmpeg's y4m demuxer drops a last frame that the file ends inside, without a word; a user would
get a session one frame short. ``Y4mGuard`` sits between the file (or stdin) and PyAV, checks
that every frame is ``FRAME[ params]\\n`` followed by exactly the header's frame size, and says
which frame is cut or damaged. Colour spaces it does not know are left to FFmpeg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"YUV4MPEG2 "
MAX_LINE = 4096
"""A header or FRAME line longer than this is not y4m."""
_COLOUR = re.compile(r"(mono|411|420|422|444)(?:(jpeg|mpeg2|paldv|alpha)|p?(\d+))?")
_SUBSAMPLING = {"mono": None, "411": (4, 1), "420": (2, 2), "422": (2, 1), "444": (1, 1)}


@dataclass(frozen=True)
class Defect:
    """Where a y4m stream goes wrong: frame ``frame`` (from 0), and in words how."""

    frame: int
    text: str


def frame_size(header: bytes) -> int | None:
    """Bytes of one frame's pixels for a y4m header line, or None when the line does not say."""
    fields = {token[:1]: token[1:] for token in header.decode("ascii", "replace").split()[1:]}
    width, height = fields.get("W", ""), fields.get("H", "")
    match = _COLOUR.fullmatch(fields.get("C", "420jpeg"))
    if not (width.isdigit() and height.isdigit() and match) or int(width) < 1 or int(height) < 1:
        return None
    w, h = int(width), int(height)
    sample = 2 if match[3] and int(match[3]) > 8 else 1
    planes = w * h * (2 if match[2] == "alpha" else 1)
    sub = _SUBSAMPLING[match[1]]
    if sub is not None:
        planes += 2 * (-(-w // sub[0])) * (-(-h // sub[1]))
    return planes * sample


class Y4mGuard:
    """A read-only, unseekable file for PyAV that checks the y4m framing of what goes through."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.frames = 0
        """Whole frames seen so far."""
        self.defect: Defect | None = None
        self._size: int | None = None
        """Bytes of one frame, once the header is read."""
        self._line = bytearray()
        self._left = 0
        self._active = True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self._active:
            if data:
                self._feed(data)
            else:
                self._end()
        return data

    def finish(self) -> Defect | None:
        """Read what PyAV left unread, then say what is wrong with the stream, if anything."""
        while self._active and self.read(1 << 20):
            pass
        return self.defect

    def _feed(self, data: bytes) -> None:
        pos = 0
        while pos < len(data) and self._active:
            if self._left:
                step = min(self._left, len(data) - pos)
                self._left -= step
                pos += step
                if not self._left:
                    self.frames += 1
            else:
                pos = self._take_line(data, pos)

    def _take_line(self, data: bytes, pos: int) -> int:
        """Take bytes of the header or of a FRAME line; act on the line once it is whole."""
        newline = data.find(b"\n", pos, pos + MAX_LINE + 1)
        stop = len(data) if newline < 0 else newline + 1
        self._line += data[pos:stop]
        if self._size is not None and not self._line.startswith(b"FRAME"[: len(self._line)]):
            self._fail(f"frame {self.frames} (counting from 0) does not start with a FRAME marker")
        elif len(self._line) > MAX_LINE and self._size is not None:
            self._fail(f"the FRAME line of frame {self.frames} (counting from 0) does not end")
        elif len(self._line) > MAX_LINE:
            self._active = False
        elif newline >= 0:
            self._line_done()
        return stop

    def _line_done(self) -> None:
        if self._size is None:
            self._size = frame_size(bytes(self._line)) if self._line.startswith(MAGIC) else None
            self._active = self._size is not None
        else:
            self._left = self._size
        self._line.clear()

    def _fail(self, text: str) -> None:
        self.defect = Defect(self.frames, text)
        self._active = False

    def _end(self) -> None:
        if self._left and self._size is not None:
            got = self._size - self._left
            self._fail(f"frame {self.frames} (counting from 0) is cut short: it has {got} of its {self._size} bytes")
        elif self._line and self._size is not None:
            self._fail(f"the file ends inside the FRAME line of frame {self.frames} (counting from 0)")
        self._active = False
