"""One writer at a time: an advisory lock file beside the store.

``cadence run`` and ``cadence pull`` hold it for their whole run, so two
overlapping runs (say a slow Monday run and a manual one) cannot interleave
their pulls. SQLite's own locking keeps every transaction safe anyway; the
lock keeps whole runs apart and says who holds it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cadence.errors import StoreBusyError, StoreError


@contextmanager
def store_lock(store_path: Path, *, wait: float = 0.0) -> Iterator[Path]:
    """Hold ``<store>.lock``; wait up to ``wait`` seconds for it, else raise StoreBusyError."""
    path = store_path.with_name(store_path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_mode & 0o077 and os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o600)  # owner-only whatever the umask was
    except ValueError as exc:  # a NUL byte in the path
        raise StoreError(f"{str(path)!r}: {exc}; pass a valid --store PATH") from None
    except OSError as exc:
        raise StoreError(
            f"cannot create the lock file {path} beside store {store_path}: "
            f"{exc.strerror or exc}; make {path.parent} writable for this user, "
            "or pass --store PATH in a writable folder"
        ) from exc
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    raise StoreBusyError(
                        f"{store_path} is in use by another cadence run ({holder}); "
                        "try again later or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing releases the lock
