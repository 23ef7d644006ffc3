"""Shared fixtures: a small fixed demo organisation and frame builders for hand-made cases."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cadence.sources import demo
from cadence.store import Store

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


@pytest.fixture(scope="session")
def small_org() -> demo.DemoOrg:
    return demo.generate(60, seed=7, as_of=AS_OF)


@pytest.fixture(scope="session")
def scored_org() -> demo.DemoOrg:
    """At least 500 people and 26 weeks: the size later issues score the analysis on."""
    return demo.generate(500, seed=11, as_of=AS_OF, weeks=26)


@pytest.fixture
def store(tmp_path: Path) -> Iterable[Store]:
    with Store(tmp_path / "cadence.sqlite") as s:
        yield s


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"smtp-secret-123"
        return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535 itself

    import socket

    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=check,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()
