"""The package version, in a module of its own so any layer can read it without importing
the package (and everything its ``__init__`` pulls in)."""

__version__ = "0.1.0"
