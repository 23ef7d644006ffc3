"""Cadence: are one-on-ones between managers and their people happening, at the agreed rhythm?

The public API grows with each capability; for now: generate the demo
organisation, open the store, analyze, and render the report.
"""

__version__ = "0.1.0"

from cadence.analysis import Analysis, analyze  # noqa: E402
from cadence.sources.demo import DemoOrg  # noqa: E402
from cadence.sources.demo import generate as load_demo  # noqa: E402
from cadence.store import Store  # noqa: E402

__all__ = ["Analysis", "DemoOrg", "Store", "__version__", "analyze", "load_demo"]
