"""Files only their owner can read, written so that a crash or a reader never sees half of one.

Run folders hold the request (graph, weights), the event log and the checkpoints: folders are 0700 and files
0600 whatever the process's umask (the modes are set explicitly, not left to the umask).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable, Union

DIR_MODE = 0o700
FILE_MODE = 0o600

Content = Union[bytes, Callable[[BinaryIO], None]]


def private_dir(path: Path) -> Path:
    """Creates the folder (and its parents) if needed; the folder itself ends up 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open, creating the file 0600 (chmod'ed, so the umask cannot widen or narrow it)."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, content: bytes) -> None:
    """A plain (not atomic) write of a new file, 0600: the run request, written before the run exists."""
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as f:
        f.write(content)


def atomic_write(path: Path, content: Content) -> None:
    """Writes a temp file beside `path` (0600), fsyncs it, renames it over `path` and fsyncs the folder: a
    reader, or the process killed at any point, sees the old file or the whole new one. `content` is the bytes
    or a function writing them to a binary file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as f:
            if isinstance(content, bytes):
                f.write(content)
            else:
                content(f)
            f.flush()
            os.fsync(f.fileno())
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _commit(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power cut
    finally:
        os.close(fd)
