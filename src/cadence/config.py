"""Configuration: one TOML file, validated with pydantic, errors that name file, key and fix.

Sections: ``[store]``, ``[roster]``, ``[analysis]`` (with ``[analysis.weights]``,
the engine's own :class:`~cadence.analysis.settings.AnalysisSettings`),
``[report]``, and the sources ``[ics]``, ``[google]`` and ``[microsoft]``. Every key
is documented in ``config.example.toml``; unknown keys are errors, not ignored.
"""

from __future__ import annotations

import os
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from cadence.analysis.settings import AnalysisSettings
from cadence.errors import ConfigError
from cadence.paths import config_dir, default_config_path, default_store_path

SECRET_WORDS = ("key", "secret", "password", "token")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    path: Path | None = Field(
        default=None, description="SQLite store file; default: the user data dir"
    )

    def resolved(self) -> Path:
        return self.path.expanduser() if self.path else default_store_path()


class IcsSettings(_Section):
    paths: list[Path] = Field(default_factory=list, description=".ics files or folders to import")
    calendar: str | None = Field(default=None, description="whose calendar the files are")
    weeks_back: int = Field(default=26, ge=0, description="weeks of history to import")
    weeks_ahead: int = Field(default=8, ge=0, description="weeks ahead to import")
    default_timezone: str = Field(default="UTC", description="zone of floating times")
    max_file_mb: int = Field(default=200, ge=1, le=10_000, description="largest file read, MB")
    max_occurrences_per_series: int = Field(
        default=3_000, ge=1, le=1_000_000, description="occurrences of one series per window"
    )

    @field_validator("paths")
    @classmethod
    def _exist(cls, value: list[Path]) -> list[Path]:
        for path in value:
            if not path.expanduser().exists():
                raise ValueError(f"{path} does not exist; give existing .ics files or folders")
        return [p.expanduser() for p in value]

    @field_validator("calendar")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"expected the calendar owner's email, got {value!r}")
        return value.strip().lower() if value else value

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones() and value != "UTC":
            raise ValueError(f"expected an IANA time zone such as 'Europe/Berlin', got {value!r}")
        return value


class RosterSettings(_Section):
    path: Path | None = Field(
        default=None, description="roster CSV (email, manager_email, name, department…)"
    )

    @field_validator("path")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().exists():
            raise ValueError(f"{value} does not exist; give the roster CSV's path")
        return value.expanduser() if value else value


ENV_PSEUDONYM_KEY = "CADENCE_PSEUDONYM_KEY"


class ReportSettings(_Section):
    out_dir: Path = Field(default=Path("reports"), description="where reports are written")
    leader: str | None = Field(default=None, description="whose pairs the leader report shows")
    indirect: bool = Field(default=False, description="also the pairs of managers below them")
    min_group_size: int = Field(
        default=5, ge=2, description="smallest group the organisation report shows"
    )
    org: bool = Field(default=False, description="`cadence run` also writes the org report")
    pseudonymize: bool = Field(default=False, description="show people as keyed pseudonyms")
    pseudonym_key: SecretStr | None = Field(
        default=None, description=f"pseudonym key; better: ${ENV_PSEUDONYM_KEY}"
    )
    stale_after_days: int = Field(
        default=8, ge=1, description="warn when a source's last pull is older"
    )

    @field_validator("leader")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"expected the leader's email address, got {value!r}")
        return value.strip().lower() if value else value

    def key(self) -> str | None:
        """The pseudonym key when pseudonymizing (environment first), else ``None``."""
        if not self.pseudonymize:
            return None
        key = os.environ.get(ENV_PSEUDONYM_KEY) or (
            self.pseudonym_key.get_secret_value() if self.pseudonym_key else None
        )
        if not key or len(key) < 16:
            raise ConfigError(
                "[report] pseudonymize = true needs a secret key of at least 16 characters: "
                f"set ${ENV_PSEUDONYM_KEY} (or [report] pseudonym_key)"
            )
        return key


ENV_GOOGLE_SERVICE_ACCOUNT = "CADENCE_GOOGLE_SERVICE_ACCOUNT"


class GoogleSettings(_Section):
    enabled: bool = Field(default=False, description="pull Google calendars with `cadence pull`")
    auth: Literal["user", "service_account"] = Field(
        default="user", description="a leader's own OAuth token, or domain-wide delegation"
    )
    client_secrets: Path | None = Field(
        default=None, description="OAuth client JSON (Desktop app) for `cadence auth google`"
    )
    token_path: Path | None = Field(
        default=None, description="cached user token; default: the user config dir"
    )
    service_account_file: Path | None = Field(
        default=None, description=f"service account key; better: ${ENV_GOOGLE_SERVICE_ACCOUNT}"
    )
    calendars: list[str] = Field(default_factory=list, description="calendars (emails) to pull")
    calendars_from_roster: bool = Field(
        default=False, description="pull every person in the roster"
    )
    roster_from_directory: bool = Field(
        default=False, description="read the roster from the Admin SDK Directory API"
    )
    admin_email: str | None = Field(
        default=None, description="a Workspace admin the directory read impersonates"
    )
    weeks_back: int = Field(default=26, ge=1, description="history of the first (full) pull")
    workers: int = Field(default=4, ge=1, le=32, description="calendars pulled at once")
    retries: int = Field(default=5, ge=0, le=10, description="retries of a failing request")
    timeout_seconds: float = Field(default=60, gt=0, description="per HTTP request")
    api_root: str = Field(
        default="https://www.googleapis.com/", description="API root (proxies, testing)"
    )
    token_uri: str | None = Field(default=None, description="OAuth token endpoint override")

    @field_validator("calendars")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if "@" not in email:
                raise ValueError(f"expected calendar emails, got {email!r}")
        return [e.strip().lower() for e in value]

    @field_validator("admin_email")
    @classmethod
    def _admin(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"expected an admin's email, got {value!r}")
        return value

    @field_validator("api_root", "token_uri")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    def token_file(self) -> Path:
        return (self.token_path or config_dir() / "google-token.json").expanduser()

    def key_file(self) -> Path | None:
        env = os.environ.get(ENV_GOOGLE_SERVICE_ACCOUNT)
        path = Path(env) if env else self.service_account_file
        return path.expanduser() if path else None


ENV_MS_CLIENT_SECRET = "CADENCE_MS_CLIENT_SECRET"


class MicrosoftSettings(_Section):
    enabled: bool = Field(default=False, description="pull Outlook calendars with `cadence pull`")
    auth: Literal["delegated", "application"] = Field(
        default="delegated", description="your own sign-in, or the app's (org-wide)"
    )
    tenant: str = Field(default="organizations", description="directory (tenant) id or domain")
    client_id: str | None = Field(default=None, description="the app registration's client id")
    client_secret: SecretStr | None = Field(
        default=None, description=f"app-only secret; better: ${ENV_MS_CLIENT_SECRET}"
    )
    certificate_file: Path | None = Field(
        default=None, description="app-only certificate: PEM private key"
    )
    certificate_thumbprint: str | None = Field(
        default=None, description="SHA-1 thumbprint of that certificate"
    )
    token_cache: Path | None = Field(
        default=None, description="delegated token cache; default: the user config dir"
    )
    mailboxes: list[str] = Field(default_factory=list, description="mailboxes (emails) to pull")
    mailboxes_from_roster: bool = Field(
        default=False, description="pull every person in the roster"
    )
    roster_from_directory: bool = Field(
        default=False, description="read the roster from Entra ID (/users, manager)"
    )
    weeks_back: int = Field(default=26, ge=1, description="history of every pull")
    weeks_ahead: int = Field(default=8, ge=0, description="future of every pull")
    workers: int = Field(default=4, ge=1, le=32, description="mailboxes pulled at once")
    retries: int = Field(default=5, ge=0, le=10, description="retries of a throttled request")
    timeout_seconds: float = Field(default=60, gt=0, description="per HTTP request")
    graph_url: str = Field(
        default="https://graph.microsoft.com/v1.0", description="Graph base URL (national clouds)"
    )
    authority_host: str = Field(
        default="https://login.microsoftonline.com", description="Entra ID authority host"
    )

    @field_validator("mailboxes")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if "@" not in email:
                raise ValueError(f"expected mailbox emails, got {email!r}")
        return [e.strip().lower() for e in value]

    @field_validator("graph_url", "authority_host")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def cache_file(self) -> Path:
        return (self.token_cache or config_dir() / "microsoft-token-cache.json").expanduser()

    def secret(self) -> str | None:
        env = os.environ.get(ENV_MS_CLIENT_SECRET)
        if env:
            return env
        return self.client_secret.get_secret_value() if self.client_secret else None


ENV_SMTP_PASSWORD = "CADENCE_SMTP_PASSWORD"


class EmailSettings(_Section):
    enabled: bool = Field(default=False, description="email the report after each run")
    host: str = Field(default="localhost", description="SMTP server")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(default=False, description="connect with TLS from the start (port 465)")
    username: str | None = Field(default=None, description="SMTP login, if the server wants one")
    password: SecretStr | None = Field(
        default=None, description=f"SMTP password; better: ${ENV_SMTP_PASSWORD}"
    )
    sender: str | None = Field(default=None, description="From: address")
    recipients: list[str] = Field(default_factory=list, description="To: addresses")
    subject: str = Field(
        default="1:1 health report · {week}", description="subject; {week} is e.g. 2026-W47"
    )

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"expected an email address, got {value!r}")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for email in value:
            if "@" not in email:
                raise ValueError(f"expected email addresses, got {email!r}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.enabled and (not self.sender or not self.recipients):
            raise ValueError("enabled = true needs sender and recipients")
        if self.ssl and self.starttls:
            raise ValueError("ssl = true (port 465) and starttls = true exclude each other")
        return self

    def secret(self) -> str | None:
        env = os.environ.get(ENV_SMTP_PASSWORD)
        if env:
            return env
        return self.password.get_secret_value() if self.password else None


class DeliverySettings(_Section):
    email: EmailSettings = EmailSettings()


class DemoSourceSettings(_Section):
    enabled: bool = Field(default=False, description="pull the demo organisation as a source")
    people: int = Field(default=60, ge=2, description="its size")
    seed: int = Field(default=7, description="its seed")


class Settings(_Section):
    store: StoreSettings = StoreSettings()
    roster: RosterSettings = RosterSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    report: ReportSettings = ReportSettings()
    ics: IcsSettings = IcsSettings()
    google: GoogleSettings = GoogleSettings()
    microsoft: MicrosoftSettings = MicrosoftSettings()
    demo: DemoSourceSettings = DemoSourceSettings()
    delivery: DeliverySettings = DeliverySettings()


def load_config(path: str | Path | None = None, *, required: bool = False) -> Settings:
    """Read and validate a config file; without one (and not ``required``) use the defaults."""
    file = Path(path).expanduser() if path is not None else default_config_path()
    if not file.exists():
        if required or path is not None:
            raise ConfigError(
                f"{file}: config file not found; copy config.example.toml there "
                "or pass --config PATH"
            )
        return Settings()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc}") from exc
    return parse_config(data, origin=str(file))


def parse_config(data: dict[str, Any], *, origin: str = "config") -> Settings:
    """Validate a config mapping; the first problem becomes one :class:`ConfigError`."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin)) from None


def _explain(exc: ValidationError, origin: str) -> str:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        section = f"[{'.'.join(loc[:-1])}] " if len(loc) > 1 else ""
        key = f"{section}{loc[-1]}" if loc else "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key; see config.example.toml for the keys there are")
        else:
            given = err.get("input")
            if any(word in loc[-1] for word in SECRET_WORDS):
                given = "***"  # never echo a secret
            msg = str(err["msg"]).removeprefix("Value error, ")
            if isinstance(given, dict):  # a whole section: name it, never echo its values
                problems.append(f"[{'.'.join(loc)}]: {msg}")
            else:
                problems.append(f"{key} = {given!r}: {msg}")
    return f"{origin}: " + "; ".join(problems)
