"""Crash-safe file writes: write a temporary file, fsync it, rename it into place, fsync
the folder. A crash at any instant leaves either the old state or the new, never half.

Appends to the JSON-lines logs are checked: a write that stores fewer bytes than asked (a
full disk can do that without an error) is undone and raised, and a torn last line left by
a crash is cut off (and kept beside the file) before anything else is appended."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time
from pathlib import Path

TMP_SUFFIX = ".partial"
TORN_SUFFIX = ".torn"


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes, sync: bool = True) -> None:
    """Never leaves the temporary file behind: a failed write (full disk) removes it.
    sync=False: readers still see the old file or the new one, never half of one, but
    nothing is forced to disk (for a file rewritten many times a second that a crash may lose)."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_dir(path.parent)


def sync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_all(fd: int, data: bytes) -> None:
    """One write of a whole line, or an OSError with the file as it was. A line must be a
    single write() so concurrent O_APPEND writers never interleave inside it; a short
    write is therefore not retried but cut off again."""
    start = os.fstat(fd).st_size
    written = os.write(fd, data)
    if written != len(data):
        _cut(fd, start, written)
        raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes stored); the disk is probably full")


def _cut(fd: int, start: int, written: int) -> None:
    """Remove our fragment, unless another process appended meanwhile (then the next
    append terminates the fragment instead, and readers skip it as a damaged line)."""
    with contextlib.suppress(OSError):  # if even this fails, the next open repairs the torn line
        if os.fstat(fd).st_size == start + written:
            os.ftruncate(fd, start)


def append_line(path: Path, line: str, sync: bool = True) -> None:
    """Append one complete line with a single checked write (then fsync). A torn last line
    that nobody repaired yet is terminated first, so the new line never fuses with it."""
    data = (line.rstrip("\n") + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def append_line_synced(path: Path, line: str) -> None:
    append_line(path, line, sync=True)


def torn_tail(path: Path) -> bytes:
    """The bytes after the last newline (empty when the file ends cleanly or is absent)."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            while end > 0:  # read backwards: a log can be large, its last line is short
                start = max(0, end - (1 << 16))
                f.seek(start)
                nl = f.read(end - start).rfind(b"\n")
                if nl >= 0:
                    f.seek(start + nl + 1)
                    return f.read()
                end = start
            f.seek(0)
            return f.read()
    except FileNotFoundError:
        return b""


def repair_torn_tail(path: Path) -> Path | None:
    """Cut a torn last line (a crash or full disk mid-append) so the next append cannot fuse
    with it. The fragment is saved first, beside the file; returns where, or None."""
    fragment = torn_tail(path)
    if not fragment:
        return None
    keep = path.with_name(f"{path.name}{TORN_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    write_bytes_atomic(keep, fragment)
    size = path.stat().st_size
    with open(path, "rb+") as f:
        f.truncate(size - len(fragment))
        f.flush()
        os.fsync(f.fileno())
    return keep


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
