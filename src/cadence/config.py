"""Configuration: one TOML file, validated with pydantic, errors that name file, key and fix.

Sections: ``[store]``, ``[roster]``, ``[analysis]`` (with ``[analysis.weights]``,
the engine's own :class:`~cadence.analysis.settings.AnalysisSettings`),
``[report]``, and the sources ``[ics]``, ``[google]``, ``[microsoft]`` and ``[caldav]``. Every key
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
    ValidationInfo,
    field_validator,
    model_validator,
)

from cadence.analysis.settings import AnalysisSettings
from cadence.errors import ConfigError
from cadence.org import email_problem
from cadence.paths import config_dir, default_config_path, default_store_path

SECRET_WORDS = ("key", "secret", "password", "token")


def _check_files(info: ValidationInfo) -> bool:
    """Whether files named in the config must exist now (``cadence doctor`` checks them
    itself, one row each)."""
    return not (isinstance(info.context, dict) and info.context.get("check_files") is False)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: ValidationInfo) -> Any:
        """No NUL byte in any text (paths!), and booleans only as TOML's true / false."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in texts):
            raise ValueError("contains a NUL byte; remove it")
        field = cls.model_fields.get(info.field_name or "")
        boolean = field is not None and field.annotation in (bool, bool | None)
        if boolean and value is not None and not isinstance(value, bool):
            raise ValueError("expected true or false (a TOML boolean, without quotes)")
        return value


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
    def _exist(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        for path in value:
            if _check_files(info) and not path.expanduser().exists():
                raise ValueError(f"{path} does not exist; give existing .ics files or folders")
        return [p.expanduser() for p in value]

    @field_validator("calendar")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and email_problem(value.strip()):
            raise ValueError(f"expected the calendar owner's email: {email_problem(value.strip())}")
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
    def _exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None and _check_files(info) and not value.expanduser().exists():
            raise ValueError(f"{value} does not exist; give the roster CSV's path")
        return value.expanduser() if value else value


ENV_PSEUDONYM_KEY = "CADENCE_PSEUDONYM_KEY"


class ReportSettings(_Section):
    out_dir: Path = Field(default=Path("reports"), description="where reports are written")
    leader: str | None = Field(
        default=None, description="one leader (the same as leaders = [leader])"
    )
    leaders: list[str] = Field(
        default_factory=list,
        description="leaders who get a report and digest each; empty: every roster manager",
    )
    base_url: str | None = Field(
        default=None, description="where out_dir is published: digests link the reports there"
    )
    attach_max_mb: float = Field(
        default=7, ge=0, description="attach a report to its email when smaller, else link it"
    )
    indirect: bool = Field(default=False, description="also the pairs of managers below them")
    min_group_size: int = Field(
        default=5, ge=2, le=1000, description="smallest group the organisation report shows"
    )
    org: bool = Field(default=False, description="`cadence run` also writes the org report")
    pseudonymize: bool = Field(default=False, description="show people as keyed pseudonyms")
    pseudonym_key: SecretStr | None = Field(
        default=None, description=f"pseudonym key; better: ${ENV_PSEUDONYM_KEY}"
    )
    stale_after_days: int = Field(
        default=8, ge=1, le=366, description="warn when a source's last pull is older"
    )
    coverage_weeks: int = Field(
        default=4, ge=1, description="the org review's coverage: no held 1:1 in this many weeks"
    )
    group_membership: Literal["report", "manager"] = Field(
        default="report", description="a pair's department and team: its report's or manager's"
    )

    @field_validator("leader")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and email_problem(value.strip()):
            raise ValueError(f"expected the leader's email address: {email_problem(value.strip())}")
        return value.strip().lower() if value else value

    @field_validator("leaders")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if "@" not in email:
                raise ValueError(f"expected leaders' email addresses, got {email!r}")
        return list(dict.fromkeys(e.strip().lower() for e in value))

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/") + "/" if value else value

    def leader_list(self) -> list[str]:
        """``leaders`` with ``leader`` first (empty: every manager in the roster)."""
        return list(dict.fromkeys(([self.leader] if self.leader else []) + self.leaders))

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
    weeks_back: int = Field(
        default=26, ge=1, le=520, description="history of the first (full) pull"
    )
    workers: int = Field(default=4, ge=1, le=32, description="calendars pulled at once")
    retries: int = Field(default=5, ge=0, le=10, description="retries of a failing request")
    timeout_seconds: float = Field(default=60, gt=0, le=600, description="per HTTP request")
    api_root: str = Field(
        default="https://www.googleapis.com/", description="API root (proxies, testing)"
    )
    token_uri: str | None = Field(default=None, description="OAuth token endpoint override")

    @field_validator("calendars")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if email_problem(email.strip()):
                raise ValueError(
                    f"{email!r} is not a calendar email: {email_problem(email.strip())}"
                )
        return [e.strip().lower() for e in value]

    @field_validator("admin_email")
    @classmethod
    def _admin(cls, value: str | None) -> str | None:
        if value is not None and email_problem(value.strip()):
            raise ValueError(f"expected an admin's email: {email_problem(value.strip())}")
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
    weeks_back: int = Field(default=26, ge=1, le=520, description="history of every pull")
    weeks_ahead: int = Field(default=8, ge=0, le=104, description="future of every pull")
    workers: int = Field(default=4, ge=1, le=32, description="mailboxes pulled at once")
    retries: int = Field(default=5, ge=0, le=10, description="retries of a throttled request")
    timeout_seconds: float = Field(default=60, gt=0, le=600, description="per HTTP request")
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
            if email_problem(email.strip()):
                raise ValueError(
                    f"{email!r} is not a mailbox email: {email_problem(email.strip())}"
                )
        return [e.strip().lower() for e in value]

    @field_validator("graph_url", "authority_host")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "authority_host" and not value.startswith("https://"):
            raise ValueError(
                f"expected an https:// URL (Microsoft sign-in refuses plain http), got {value!r}"
            )
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


ENV_CALDAV_PASSWORD = "CADENCE_CALDAV_PASSWORD"


class CaldavSettings(_Section):
    enabled: bool = Field(default=False, description="pull CalDAV calendars with `cadence pull`")
    url: str | None = Field(default=None, description="the server, e.g. https://caldav.icloud.com/")
    username: str | None = Field(default=None, description="the account's login (often an email)")
    password: SecretStr | None = Field(
        default=None, description=f"app-specific password; better: ${ENV_CALDAV_PASSWORD}"
    )
    password_file: Path | None = Field(
        default=None, description="owner-only password file; default: the user config dir"
    )
    calendars: list[str] = Field(
        default_factory=list, description="calendar URLs, paths or names; empty: all of them"
    )
    owners: dict[str, str] = Field(
        default_factory=dict, description="calendar URL, path or name → its owner's email"
    )
    weeks_back: int = Field(default=26, ge=1, description="history of every pull")
    weeks_ahead: int = Field(default=8, ge=0, description="future of every pull")
    default_timezone: str = Field(default="UTC", description="zone of floating times")
    workers: int = Field(default=4, ge=1, le=32, description="calendars pulled at once")
    retries: int = Field(default=5, ge=0, le=10, description="retries of a failing request")
    timeout_seconds: float = Field(default=60, gt=0, description="per HTTP request")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value if value is None or value.endswith("/") else value + "/"

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: dict[str, str]) -> dict[str, str]:
        for calendar, email in value.items():
            if "@" not in email:
                raise ValueError(f"expected an owner's email for {calendar!r}, got {email!r}")
        return {k: v.strip().lower() for k, v in value.items()}

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> CaldavSettings:
        if self.enabled and (not self.url or not self.username):
            raise ValueError("enabled = true needs url and username (see docs/caldav.md)")
        return self

    def secret_file(self) -> Path:
        return (self.password_file or config_dir() / "caldav-password").expanduser()

    def secret(self) -> str | None:
        """The password as configured: the environment, else ``password`` (the password file
        is read when signing in)."""
        env = os.environ.get(ENV_CALDAV_PASSWORD)
        if env:
            return env
        return self.password.get_secret_value() if self.password else None


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
    recipients: list[str] = Field(
        default_factory=list, description="who also gets the report of all pairs"
    )
    leaders: bool = Field(default=True, description="email every leader their own digest")
    subject: str = Field(
        default="1:1 health report · {week}", description="subject; {week} is e.g. 2026-W47"
    )

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and email_problem(value.strip()):
            raise ValueError(f"expected an email address: {email_problem(value.strip())}")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        for email in value:
            if email_problem(email.strip()):
                raise ValueError(
                    f"{email!r} is not an email address: {email_problem(email.strip())}"
                )
        return value

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.enabled and not self.sender:
            raise ValueError("enabled = true needs sender (the From: address)")
        if self.ssl and self.starttls:
            raise ValueError("ssl = true (port 465) and starttls = true exclude each other")
        return self

    def secret(self) -> str | None:
        env = os.environ.get(ENV_SMTP_PASSWORD)
        if env:
            return env
        return self.password.get_secret_value() if self.password else None


ENV_SLACK_WEBHOOK = "CADENCE_SLACK_WEBHOOK"
ENV_TEAMS_WEBHOOK = "CADENCE_TEAMS_WEBHOOK"


class WebhookSettings(_Section):
    enabled: bool = Field(default=False, description="post every leader's digest")
    webhook_env: str = Field(default="", description="env variable holding the channel's URL")
    leader_webhooks: dict[str, str] = Field(
        default_factory=dict, description="leader email → env variable holding their URL"
    )
    timeout_seconds: float = Field(default=20, gt=0, description="per HTTP request")
    retries: int = Field(default=3, ge=0, le=10, description="retries of a 429 / 5xx")

    @field_validator("leader_webhooks")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for email, env in value.items():
            if "@" not in email:
                raise ValueError(f"expected leaders' email addresses as keys, got {email!r}")
            if not env.replace("_", "").isalnum():
                raise ValueError(
                    f"expected the name of an environment variable for {email}, got {env!r} "
                    "(the URL itself is a secret: keep it in the environment)"
                )
        return {e.strip().lower(): env for e, env in value.items()}

    def urls(self, default_env: str) -> tuple[str | None, dict[str, str | None]]:
        """The channel URL (``None``: its variable unset) and each leader's URL."""
        channel = os.environ.get(self.webhook_env or default_env) or None
        return channel, {e: os.environ.get(env) or None for e, env in self.leader_webhooks.items()}


class DeliverySettings(_Section):
    email: EmailSettings = EmailSettings()
    slack: WebhookSettings = WebhookSettings()
    teams: WebhookSettings = WebhookSettings()
    hr_recipients: list[str] = Field(
        default_factory=list, description="the only addresses the organisation report goes to"
    )
    addresses: dict[str, str] = Field(
        default_factory=dict, description="leader email → the address their digest goes to"
    )

    @field_validator("hr_recipients")
    @classmethod
    def _hr(cls, value: list[str]) -> list[str]:
        for email in value:
            if "@" not in email:
                raise ValueError(f"expected email addresses, got {email!r}")
        return value

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for leader, to in value.items():
            if "@" not in leader or "@" not in to:
                raise ValueError(f"expected leader email = delivery address, got {leader!r}")
        return {k.strip().lower(): v.strip() for k, v in value.items()}


class DemoSourceSettings(_Section):
    enabled: bool = Field(default=False, description="pull the demo organisation as a source")
    people: int = Field(default=60, ge=2, le=5000, description="its size")
    seed: int = Field(default=7, description="its seed")


class Settings(_Section):
    store: StoreSettings = StoreSettings()
    roster: RosterSettings = RosterSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    report: ReportSettings = ReportSettings()
    ics: IcsSettings = IcsSettings()
    google: GoogleSettings = GoogleSettings()
    microsoft: MicrosoftSettings = MicrosoftSettings()
    caldav: CaldavSettings = CaldavSettings()
    demo: DemoSourceSettings = DemoSourceSettings()
    delivery: DeliverySettings = DeliverySettings()


def load_config(
    path: str | Path | None = None, *, required: bool = False, check_files: bool = True
) -> Settings:
    """Read and validate a config file; without one (and not ``required``) use the defaults.

    ``check_files=False`` accepts roster and .ics paths that do not exist (yet): the doctor
    lists each as a failed check rather than stopping at the first."""
    file = Path(path).expanduser() if path is not None else default_config_path()
    if "\x00" in str(file):
        raise ConfigError(f"{str(file)!r}: a NUL byte in the config path; pass a valid --config")
    if not file.exists():
        if required or path is not None:
            raise ConfigError(
                f"{file}: config file not found; copy config.example.toml there "
                "or pass --config PATH"
            )
        return Settings()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{file}, line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
            "save the config as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc}") from exc
    return parse_config(data, origin=str(file), check_files=check_files)


def parse_config(
    data: dict[str, Any], *, origin: str = "config", check_files: bool = True
) -> Settings:
    """Validate a config mapping; the first problem becomes one :class:`ConfigError`."""
    try:
        return Settings.model_validate(data, context={"check_files": check_files})
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
