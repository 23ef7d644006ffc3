"""The allocator tuning (cadence.memory): freed arrays are reused, not faulted in again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The analysis's pattern: arrays of 1 to 30 MiB, growing, each made, used and freed, small
# results kept between them. With glibc's defaults each new size is fresh pages from the
# kernel (a fault per 4 KiB page); tuned, the heap grows once and the freed blocks return.
PROBE = """
import resource, sys
import numpy as np
from cadence.memory import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tune" else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
keep = []
for size in range(1, 31):
    for _ in range(3):
        a = np.ones(size * 2**20 // 8)
        b = a * 2
        keep.append(b[:1].copy())
        del a, b
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def probe(mode: str, **env: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env,
    )
    tuned, faults = done.stdout.split()
    return tuned, int(faults)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's malloc only",
)
def test_tuned_malloc_reuses_freed_arrays_and_respects_the_users_own_setting() -> None:
    tuned, tuned_faults = probe("tune")
    plain, plain_faults = probe("plain")
    assert (tuned, plain) == ("True", "None")
    # 180 arrays of 15.5 MiB on average: ~92,000 faults untuned here, ~15,000 tuned (the
    # heap's own growth, once)
    assert tuned_faults * 4 < plain_faults
    # a user who tuned the allocator themselves keeps their setting
    assert probe("tune", MALLOC_TRIM_THRESHOLD_="131072")[0] == "False"
