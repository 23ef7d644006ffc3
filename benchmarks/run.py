"""Run every benchmark in its own process (so peak memory is its own) and print the figures.

Usage: python benchmarks/run.py [name ...]
(names: cli, demo, store, analysis, scale, report, google, graph, caldav, ics, dask)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "cli": "bench_cli.py",
    "demo": "bench_demo.py",
    "store": "bench_store.py",
    "analysis": "bench_analysis.py",
    "scale": "bench_scale.py",
    "report": "bench_report.py",
    "google": "bench_google.py",
    "graph": "bench_graph.py",
    "caldav": "bench_caldav.py",
    "ics": "bench_ics.py",
    "dask": "bench_dask.py",
}


def main(names: list[str]) -> int:
    failed = 0
    for name in names or list(BENCHES):
        print(f"== {name} ==", flush=True)
        done = subprocess.run([sys.executable, str(HERE / BENCHES[name])], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
