"""How the process's C allocator keeps the memory it frees: tuned once for frame work.

The analysis allocates and frees many arrays of one to a few dozen megabytes. glibc's
malloc hands each block over 128 KiB to the kernel fresh (``mmap``) and gives it back on
free until its own heuristic raises the bar, and it returns free heap above 128 KiB at
once: every new array is then new pages that the kernel must find and zero, one page
fault each. On the 20,000-pair benchmark that was 1.4–2.3 s of system time on top of
2.3 s of work in a fresh process. Keeping blocks up to 32 MiB (glibc's largest setting)
on the heap and up to 256 MiB of free heap for reuse cuts it to ~0.4 s, for a peak a few
dozen megabytes higher.

:func:`keep_freed_memory` sets it once per process, on Linux with glibc only, and never
over a setting of the user's own (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``
in the environment, glibc's documented tunables, or ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # blocks up to this come from the heap (glibc's maximum)
TRIM_THRESHOLD = 256 * 2**20  # free heap kept for reuse before it is given back
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def keep_freed_memory() -> bool:
    """Tune glibc's malloc for big frame work (see the module); ``True`` if it was set.

    Idempotent and cheap after the first call; a no-op (``False``) off glibc or when the
    user tuned the allocator themselves.
    """
    if not sys.platform.startswith("linux") or any(k in os.environ for k in USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter already runs on
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: leave them be
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
