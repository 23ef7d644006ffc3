"""Microsoft sign-in with msal: delegated (device code, a leader's own account) or
application (client credentials, org-wide). The delegated token cache is a JSON file
readable by its owner only: headless Linux servers, the common case, have no keyring
for msal-extensions' encrypted persistence."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cadence.errors import ConfigError, GraphError
from cadence.private_files import tighten, write_private
from cadence.sources.graph.settings import DEFAULT_AUTHORITY, DEFAULT_GRAPH, DELEGATED_SCOPES


def graph_scope(graph_url: str) -> str:
    """The application ``.default`` scope of a Graph cloud (e.g. graph.microsoft.us)."""
    parts = urllib.parse.urlsplit(graph_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


class TokenCacheFile:
    """msal's token cache persisted as JSON readable by its owner only (0600)."""

    def __init__(self, path: Path) -> None:
        import msal

        self.path = path
        self.cache = msal.SerializableTokenCache()
        if path.exists():
            tighten(path)
            try:
                self.cache.deserialize(path.read_text(encoding="utf-8"))
            except (ValueError, json.JSONDecodeError):
                raise GraphError(
                    f"{path}: not an msal token cache; delete it and run "
                    "`cadence auth microsoft` again"
                ) from None

    def save(self) -> None:
        if not self.cache.has_state_changed:
            return
        write_private(self.path, self.cache.serialize())
        self.cache.has_state_changed = False


def _authority(authority_host: str, tenant: str) -> str:
    return authority_host.rstrip("/") + "/" + tenant


def public_app(
    client_id: str,
    tenant: str,
    cache: TokenCacheFile,
    *,
    authority_host: str = DEFAULT_AUTHORITY,
    http_client: Any = None,
) -> Any:
    """The delegated (public) client with its persisted cache."""
    import msal

    return msal.PublicClientApplication(
        client_id,
        authority=_authority(authority_host, tenant),
        token_cache=cache.cache,
        http_client=http_client,
        instance_discovery=False,  # the authority is configured; national clouds and proxies too
    )


def device_login(app: Any, cache: TokenCacheFile, echo: Callable[[str], None]) -> str:
    """Sign in with the device code flow; return the account's username."""
    flow = app.initiate_device_flow(scopes=DELEGATED_SCOPES)
    if "user_code" not in flow:
        raise GraphError(f"could not start the device sign-in: {flow.get('error_description')}")
    echo(flow["message"])
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise GraphError(f"sign-in failed: {result.get('error_description', result.get('error'))}")
    cache.save()
    return str((result.get("id_token_claims") or {}).get("preferred_username", "signed in"))


def delegated_token(app: Any, cache: TokenCacheFile) -> Callable[[], str]:
    """A function returning a fresh delegated access token (silent refresh, cache saved)."""
    accounts = app.get_accounts()
    if not accounts:
        raise GraphError(
            f"no Microsoft sign-in in {cache.path}; run `cadence auth microsoft` first"
        )
    lock = threading.Lock()

    def token() -> str:
        with lock:
            result = app.acquire_token_silent(DELEGATED_SCOPES, account=accounts[0])
            if not result or "access_token" not in result:
                why = (result or {}).get("error_description", "the sign-in has expired")
                raise GraphError(f"{why}; run `cadence auth microsoft` again")
            cache.save()
            return str(result["access_token"])

    return token


def application_token(
    client_id: str,
    tenant: str,
    credential: str | Mapping[str, str],
    *,
    graph_url: str = DEFAULT_GRAPH,
    authority_host: str = DEFAULT_AUTHORITY,
    http_client: Any = None,
) -> Callable[[], str]:
    """A function returning an app-only token (client credentials, ``.default``; msal caches it).

    ``credential`` is a client secret or ``{"private_key": PEM, "thumbprint": HEX}``.
    """
    import msal

    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=_authority(authority_host, tenant),
        http_client=http_client,
        instance_discovery=False,
    )
    scope = [graph_scope(graph_url)]
    lock = threading.Lock()

    def token() -> str:
        with lock:
            result = app.acquire_token_for_client(scopes=scope)
        if "access_token" not in result:
            raise GraphError(
                f"app-only token refused: {result.get('error_description', result.get('error'))}"
            )
        return str(result["access_token"])

    return token


def token_provider(
    *,
    auth: str,
    client_id: str | None,
    tenant: str,
    cache_file: Path,
    secret: str | None,
    certificate_file: Path | None,
    certificate_thumbprint: str | None,
    graph_url: str = DEFAULT_GRAPH,
    authority_host: str = DEFAULT_AUTHORITY,
    http_client: Any = None,
) -> Callable[[], str]:
    """A function returning a fresh access token for the configured way in; msal talks to
    the sign-in server through ``http_client`` (a ``requests.Session`` its owner closes)."""
    if not client_id:
        raise ConfigError("[microsoft] client_id is missing: see docs/microsoft.md")
    if auth == "delegated":
        cache = TokenCacheFile(cache_file)
        app = public_app(
            client_id, tenant, cache, authority_host=authority_host, http_client=http_client
        )
        return delegated_token(app, cache)
    credential: str | dict[str, str] | None = secret
    if certificate_file and certificate_thumbprint:
        credential = {
            "private_key": certificate_file.expanduser().read_text(encoding="utf-8"),
            "thumbprint": certificate_thumbprint,
        }
    if not credential:
        raise ConfigError(
            "[microsoft] auth = 'application' needs $CADENCE_MS_CLIENT_SECRET (or client_secret), "
            "or certificate_file with certificate_thumbprint"
        )
    if tenant in ("organizations", "common"):
        raise ConfigError(
            "[microsoft] auth = 'application' needs tenant = your directory (tenant) id or domain"
        )
    return application_token(
        client_id,
        tenant,
        credential,
        graph_url=graph_url,
        authority_host=authority_host,
        http_client=http_client,
    )
