"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 1."""


class NrcodecError(Exception):
    """Base of every error caused by input or data rather than by a bug."""


class InputError(NrcodecError):
    """A file or argument the user gave cannot be used (unreadable video, bad range, ...)."""


class FormatError(NrcodecError):
    """A file of ours is malformed: truncated, corrupted, of another kind or version."""


class TruncatedError(FormatError):
    """The bytes end before a length they announce."""


class ChecksumError(FormatError):
    """A chunk's CRC32 does not match its bytes."""


class FrozenWeightError(NrcodecError):
    """A writer was asked to change a weight that an earlier session froze."""
