"""Logging: human-readable lines by default, JSON lines for schedulers, never a secret.

Every record passes :class:`Redact`: the values of the secrets Cadence knows
(environment variables and config keys holding keys, secrets, passwords,
tokens) and anything shaped like a bearer token, an access/refresh token or a
password in a URL or form becomes ``***``. Cadence never logs event titles or
bodies: it never fetches them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

LOGGER = "cadence"
SECRET_ENV = (
    "CADENCE_PSEUDONYM_KEY",
    "CADENCE_MS_CLIENT_SECRET",
    "CADENCE_SMTP_PASSWORD",
)
_PATTERNS = [
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (
        re.compile(
            r"((?:access_token|refresh_token|id_token|client_secret|password|assertion|code)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+",
            re.I,
        ),
        r"\1***",
    ),
]
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never let ``value`` reach a log line (values shorter than 6 characters are ignored)."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key.startswith("ctx_") and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and ``ctx_*`` extras."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key.startswith("ctx_"):
                data[key[4:]] = value
        if record.exc_info:
            data["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, default=str)


def setup(*, json_lines: bool = False, quiet: bool = False, verbose: bool = False) -> None:
    """Configure the ``cadence`` logger on stderr (idempotent)."""
    for name in SECRET_ENV:
        register_secret(os.environ.get(name))
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Redact())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
