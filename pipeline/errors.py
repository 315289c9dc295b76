"""The errors every layer shares: bad input (each says exactly what is wrong with the file, in words a
manager understands) and "not found".

The CLI prints the message and exits with `InputError.exit_code` (2), or 3 for `NotFound`; the worker
stores an `InputError` on the call and never retries it (the file will not get better).
"""


class InputError(Exception):
    exit_code = 2


class EmptyFile(InputError):
    pass


class FileTooLarge(InputError):
    pass


class NotAVideo(InputError):
    pass


class NoSuchFile(NotAVideo):
    """The path names no file (a typo on the command line): told apart so scripts can say so (`--json` kind)."""


class CorruptVideo(InputError):
    pass


class UnsupportedCodec(InputError):
    pass


class StillImage(InputError):
    pass


class TooLong(InputError):
    pass


class NotFound(LookupError):
    """No call (or rep) with that id; also what a user without access is told."""


class StorageFull(InputError):
    """The server's disk filled while storing an upload: nothing of it was kept (not the file's fault, but the
    same outcome for the user: a clear message, exit 2, nothing stored)."""
