"""The archive (.nrc) as a Library: open, add a session with an atomic commit, describe.

Adding a session appends one chunk to the bytes that were read and commits the whole file
atomically, so earlier sessions' bytes are never rewritten and a kill leaves the old archive
or the new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec import __version__
from nrcodec.errors import FormatError, InputError
from nrcodec.format import nrc
from nrcodec.format.atomic import commit_bytes
from nrcodec.format.record import need
from nrcodec.video.library import Library, LibraryConfig, SessionResult
from nrcodec.video.training import Progress, TrainSettings

MAX_ARCHIVE = 1 << 34


@dataclass
class Added:
    """What ``Archive.add`` reports: the session result and the bytes the archive grew by."""

    result: SessionResult
    bytes: int
    coded_bits: float


class Archive:
    def __init__(self, path: Path, library: Library, data: bytes, header_bytes: int, session_bytes: list[int]):
        self.path = path
        self.library = library
        self._data = data
        self.header_bytes = header_bytes
        self.session_bytes = session_bytes

    @property
    def config(self) -> LibraryConfig:
        return self.library.config

    @classmethod
    def create(cls, path: str | os.PathLike[str], config: LibraryConfig, device: str | torch.device = "cpu") -> Archive:
        """A new, empty archive in memory; nothing is written before the first session."""
        header = {"format": nrc.KIND, "nrcodec_version": __version__, "config": config.to_json()}
        data = nrc.header_chunk(header)
        return cls(Path(path), Library(config, device), data, len(data), [])

    @classmethod
    def open(cls, path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Archive:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"archive {path} does not exist")
        size = path.stat().st_size
        if size > MAX_ARCHIVE:
            raise FormatError(f"{path} is {size} bytes, larger than any archive nrcodec writes")
        data = path.read_bytes()
        parsed = nrc.parse(data)
        config = LibraryConfig.from_json(need(parsed.header, "config", dict, "archive header"))
        library = Library(config, device)
        frozen = library.frozen()
        sizes = {n: f.size for n, f in frozen.items()}
        for i, payload in enumerate(parsed.sessions, start=1):
            record = nrc.decode_session(payload, sizes, library.model.session_sizes, frozen, i)
            if record.meta.get("session") != i:
                raise FormatError(f"session {i} chunk is out of order (it says session {record.meta.get('session')})")
            library.apply(record)
            frozen = library.frozen()
        return cls(path, library, data, parsed.header_bytes, parsed.session_bytes)

    def add(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        progress: Progress | None = None,
        extra_meta: dict[str, Any] | None = None,
    ) -> Added:
        """Train one more session and commit it to disk atomically."""
        result = self.library.add_session(frames, name, fps, settings, progress, extra_meta=extra_meta)
        size = nrc.CodedSize()
        chunk = nrc.encode_session(result.record, result.frozen_before, size)
        data = self._data + chunk
        commit_bytes(self.path, data)
        self._data = data
        self.session_bytes.append(len(chunk))
        return Added(result, len(chunk), size.bits)

    @property
    def file_bytes(self) -> int:
        return len(self._data)

    def describe(self) -> dict[str, Any]:
        """Everything ``info`` shows, with the DESIGN.md key names."""
        config = self.config
        capacity = self.library.capacity_report()
        return {
            "path": str(self.path),
            "format_version": nrc.VERSION,
            "preset": config.preset,
            "canvas": list(config.architecture.canvas),
            "strategy": config.strategy,
            "strategy_options": config.strategy_options,
            "embedding": config.architecture.embedding,
            "forget_free": self.library.strategy.forget_free,
            "capacity": config.capacity,
            "quantization": config.quantization,
            "seed": config.seed,
            "file_bytes": self.file_bytes,
            "header_bytes": self.header_bytes,
            "capacity_used": capacity["used"],
            "capacity_left": 1 - capacity["used"],
            "weights": capacity["weights"],
            "layers": capacity["layers"],
            "sessions": self.sessions(),
            **self.library.strategy.summary(self.library.records, self.library.model),
        }

    def sessions(self) -> list[dict[str, Any]]:
        """One summary per session, with bytes and bpp from the chunk's real size."""
        out = []
        for i, (record, nbytes) in enumerate(zip(self.library.records, self.session_bytes), start=1):
            w, h = record.meta["placement"]["source"]
            frames = record.frames
            out.append(
                {
                    "session": i,
                    "name": record.name,
                    "frames": frames,
                    "width": w,
                    "height": h,
                    "fps": record.meta.get("fps"),
                    "bytes": nbytes,
                    "bpp": nbytes * 8 / (w * h * frames),
                    "psnr": record.meta.get("psnr"),
                    "ms_ssim": record.meta.get("ms_ssim"),
                    "new_weights": record.meta.get("new_weights"),
                    "reused_weights": record.meta.get("reused_weights"),
                }
            )
        return out
