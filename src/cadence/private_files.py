"""Files only their owner may read: token caches and other secrets at rest (mode 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY = stat.S_IRUSR | stat.S_IWUSR


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600), atomically.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "token.json"
    >>> write_private(p, "{}")
    >>> oct(p.stat().st_mode & 0o777)
    '0o600'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, OWNER_ONLY)
    tmp.replace(path)


def tighten(path: Path) -> None:
    """Make an existing secret file owner-only when group or others could read it."""
    if path.stat().st_mode & 0o077:
        os.chmod(path, OWNER_ONLY)
