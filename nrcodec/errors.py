"""Errors a user can cause. The CLI turns each into one line on stderr: exit code 2 for a
``UsageError``, 1 for the others."""


class NrcodecError(Exception):
    """Base of every error caused by input or data rather than by a bug."""


class InputError(NrcodecError):
    """A file or argument the user gave cannot be used (unreadable video, bad range, ...)."""


class UsageError(InputError):
    """An option or argument is invalid by itself (unknown key, wrong type, out of range); found
    before any file is read or written."""


class BelowFloorError(InputError):
    """A session did not reach the quality floor of its time budget; nothing was written."""


class ArchiveFullError(InputError):
    """A masked supernet has no free weights left for another session."""


class FormatError(NrcodecError):
    """A file of ours is malformed: truncated, corrupted, of another kind or version."""


class TruncatedError(FormatError):
    """The bytes end before a length they announce."""


class ChecksumError(FormatError):
    """A chunk's CRC32 does not match its bytes."""


class FrozenWeightError(NrcodecError):
    """A writer was asked to change a weight that an earlier session froze."""
