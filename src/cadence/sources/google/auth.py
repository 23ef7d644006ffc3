"""Google credentials: a leader's own OAuth token (installed app) or a service account with
domain-wide delegation. Tokens are cached as JSON readable by their owner only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cadence.errors import ConfigError, GoogleError
from cadence.private_files import tighten, write_private
from cadence.sources.google.settings import CALENDAR_SCOPES, DIRECTORY_SCOPE


def authorize_user(
    client_secrets: Path, token_path: Path, *, open_browser: bool = True, port: int = 0
) -> Path:
    """Run the installed-app OAuth flow and cache the token (owner-only) at ``token_path``."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    if not client_secrets.exists():
        raise GoogleError(
            f"{client_secrets}: OAuth client file not found; download it from the Google "
            "Cloud console (APIs & Services → Credentials → OAuth client ID → Desktop app)"
        )
    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), CALENDAR_SCOPES)
    creds = flow.run_local_server(port=port, open_browser=open_browser)
    write_private(token_path, creds.to_json())
    return token_path


def user_credentials(token_path: Path, *, token_uri: str | None = None) -> Any:
    """The cached user token, refreshed (and re-saved) when it has expired.

    google-auth always refreshes at Google's token endpoint; ``token_uri``
    (config ``[google] token_uri``) points it elsewhere (a proxy, a test server).
    """
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    if not token_path.exists():
        raise GoogleError(f"{token_path}: no Google token yet; run `cadence auth google` first")
    tighten(token_path)  # a token others could read is made owner-only
    try:
        creds = Credentials.from_authorized_user_file(  # type: ignore[no-untyped-call]
            str(token_path), CALENDAR_SCOPES
        )
    except (ValueError, json.JSONDecodeError) as exc:
        raise GoogleError(
            f"{token_path}: not a Google token file ({exc}); run `cadence auth google` again"
        ) from None
    if token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry  # the copy forgets when the cached access token expires
    if not creds.valid:
        import requests

        session = requests.Session()  # closed after the refresh: no socket left for the GC
        try:
            creds.refresh(Request(session))
        except RefreshError as exc:
            raise GoogleError(
                f"the Google token in {token_path} could not be refreshed ({exc}); "
                "run `cadence auth google` again"
            ) from None
        finally:
            session.close()
        write_private(token_path, creds.to_json())
    return creds


def service_account_credentials(path: Path, scopes: list[str]) -> Any:
    """Service-account credentials (domain-wide delegation; ``with_subject`` per calendar)."""
    from google.oauth2 import service_account

    if not path.exists():
        raise GoogleError(f"{path}: service account key file not found")
    try:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=scopes
        )
    except (ValueError, KeyError) as exc:
        raise GoogleError(f"{path}: not a service account key file ({exc})") from None


def calendar_credentials(
    *,
    auth: str,
    token_file: Path,
    key_file: Path | None,
    token_uri: str | None = None,
) -> Callable[[str], Any]:
    """calendar → the credentials that read it: the user's own token for every calendar, or
    the service account impersonating each calendar's owner."""
    if auth == "user":
        creds = user_credentials(token_file, token_uri=token_uri)
        return lambda _calendar: creds
    if key_file is None:
        raise ConfigError(
            "[google] auth = 'service_account' needs service_account_file "
            "(or $CADENCE_GOOGLE_SERVICE_ACCOUNT)"
        )
    base = service_account_credentials(key_file, CALENDAR_SCOPES)
    if token_uri:
        base = base.with_token_uri(token_uri)
    return lambda calendar: base.with_subject(calendar)


def directory_credentials(
    *, key_file: Path | None, admin_email: str | None, token_uri: str | None = None
) -> Any:
    """The service account impersonating a Workspace admin, for the Directory API."""
    if key_file is None or admin_email is None:
        raise ConfigError(
            "[google] roster_from_directory needs auth = 'service_account', a key file and "
            "admin_email (a Workspace admin the directory read impersonates)"
        )
    creds = service_account_credentials(key_file, [DIRECTORY_SCOPE])
    if token_uri:
        creds = creds.with_token_uri(token_uri)
    return creds.with_subject(admin_email)
