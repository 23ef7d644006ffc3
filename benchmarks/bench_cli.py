"""Cold start of the ``cadence`` command (issue 21): ``--version`` and ``--help``.

Each figure is the median of 10 fresh processes (wall and CPU time of the
child), printed beside the 0.3 s target, with a bare ``python -c pass`` as the
anchor measured in the same run (on a loaded machine wall time is inflated;
the child's CPU time is what a quiet machine would show as wall).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10
TARGET = 0.3
CADENCE = Path(sys.executable).with_name("cadence")


def cold(argv: list[str]) -> tuple[float, float]:
    """Median wall and CPU seconds of ``RUNS`` fresh processes running ``argv``."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    anchor, anchor_cpu = cold([sys.executable, "-c", "pass"])
    print(f"python -c pass (anchor): {anchor:.3f} s wall, {anchor_cpu:.3f} s CPU", flush=True)
    command = [str(CADENCE)] if CADENCE.exists() else [sys.executable, "-m", "cadence"]
    for args in (["--version"], ["--help"]):
        wall, cpu = cold([*command, *args])
        print(
            f"cadence {args[0]}: {wall:.3f} s wall (target ≤ {TARGET} s: "
            f"{'met' if wall <= TARGET else 'MISSED'}), {cpu:.3f} s CPU "
            f"({'met' if cpu <= TARGET else 'MISSED'} on CPU), {wall / anchor:.1f}× the anchor",
            flush=True,
        )


if __name__ == "__main__":
    main()
