"""How this process asks the kernel for memory: set once, before big frame work.

The analysis makes and drops many arrays of tens to hundreds of megabytes. Two defaults
make each of them fresh pages, and every fresh page is a page fault in which the kernel
finds and zeroes 4 KiB (on a virtual machine, more):

- glibc's ``malloc`` hands every block over 32 MiB (at most) to the kernel with its own
  ``mmap`` and unmaps it on ``free``. At 100,000 pairs every per-occurrence column is such
  a block: 4.2 M page faults, 12–17 s of system time on top of 10 s of work. With no
  ``mmap`` blocks (``M_MMAP_MAX`` 0) and up to 1 GiB of free heap kept (``M_TRIM_THRESHOLD``),
  freed columns are reused: 1.1 M faults, 3–10 s (20,000 pairs: 272 k → 196 k faults).
  The peak is the same (±1 %): the memory is reused, not added.
- numpy asks for transparent huge pages for arrays of 4 MiB and more; where the kernel
  compacts memory for such requests (Linux's default ``defrag=madvise``) that cost the
  20,000-pair analysis 1.4–2.1 s of system time against 0.4–0.8 s without.

:func:`configure` turns both off for the process: the ``cadence`` command calls it first
thing (:func:`cadence.cli.main`); library use (``import cadence``) never does. A notebook
can (``from cadence.memory import configure; configure()``) before importing numpy or
pandas; the kernel then keeps its peak memory until it exits. A user's own settings win,
all or nothing: numpy's ``NUMPY_MADVISE_HUGEPAGE`` for its part; any glibc ``MALLOC_*_``
variable, a ``glibc.malloc`` tunable in ``GLIBC_TUNABLES`` or a preloaded library
(``LD_PRELOAD``: jemalloc, tcmalloc, sanitizers) leaves glibc's allocator alone. Off glibc
(macOS, musl) only numpy's switch applies. What pyarrow allocates (the ``string`` columns)
comes from its own pool and does not reuse glibc's kept memory. The cost: memory freed
mid-heap stays with the process until it exits, which suits a command that ends when its
work does.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD = 2**30  # free heap above this at its top is given back to the kernel


@functools.cache
def configure() -> bool:
    """Keep freed memory for reuse and ask for no huge pages (see the module).

    Returns whether glibc's allocator was tuned. Idempotent: the first call decides.
    numpy reads its switch when it is imported, so this must run before that to count.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    if not sys.platform.startswith("linux") or _user_allocator(os.environ):
        return False
    try:
        import ctypes  # inside: a Python built without ctypes still starts

        libc = ctypes.CDLL(None)  # the C library the interpreter already runs on
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: leave them be
            return False
        mallopt = libc.mallopt
    except (ImportError, OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def defaults(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without numpy's huge-page switch and any setting of the C allocator: what a
    process started with it runs on unless :func:`configure` is called (benchmarks, tests)."""
    return {
        name: value
        for name, value in env.items()
        if name != "NUMPY_MADVISE_HUGEPAGE" and not _allocator_setting(name, value)
    }


def _user_allocator(env: Mapping[str, str]) -> bool:
    """Whether the environment tunes or replaces the C allocator: then it is theirs."""
    return any(_allocator_setting(name, value) for name, value in env.items())


def _allocator_setting(name: str, value: str) -> bool:
    if name == "GLIBC_TUNABLES":
        return "glibc.malloc." in value
    if name == "LD_PRELOAD":
        return bool(value.strip())
    return name.startswith("MALLOC_") and name.endswith("_")
