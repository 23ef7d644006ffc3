"""The CalDAV password: an app-specific password from the environment, or a file only its owner
may read (no keyring: headless servers have none).

CalDAV servers take HTTP Basic (or Digest) with the account's username and a
password; iCloud, Fastmail and Zoho want an *app-specific* password, never the
account's own. :func:`password` finds it: ``$CADENCE_CALDAV_PASSWORD`` first,
then the password file (made owner-only if others could read it), then the
config's ``password``. :func:`save_password` writes that file with mode 0600.
"""

from __future__ import annotations

from pathlib import Path

from cadence.errors import CaldavError
from cadence.private_files import tighten, write_private


def save_password(path: Path, secret: str) -> Path:
    """Keep ``secret`` in ``path``, readable and writable by its owner only (0600)."""
    if not secret.strip():
        raise CaldavError("an empty password was given; nothing saved")
    write_private(path, secret.strip() + "\n")
    return path


def read_password_file(path: Path) -> str | None:
    """The password kept in ``path`` (``None`` when there is no such file)."""
    if not path.exists():
        return None
    tighten(path)  # a password others could read is made owner-only
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CaldavError(f"{path}: cannot read the CalDAV password file: {exc}") from None
    if not text:
        raise CaldavError(f"{path}: the CalDAV password file is empty; run `cadence auth caldav`")
    return text


def password(*, env: str | None, password_file: Path, configured: str | None) -> str:
    """The password to sign in with: the environment, the password file, the config."""
    if env:
        return env
    kept = read_password_file(password_file)
    if kept:
        return kept
    if configured:
        return configured
    raise CaldavError(
        f"no CalDAV password: set $CADENCE_CALDAV_PASSWORD or run `cadence auth caldav` "
        f"(keeps it in {password_file}, owner-only); see docs/caldav.md for app passwords"
    )
