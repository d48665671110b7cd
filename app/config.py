"""All settings come from the environment (or a `.env` file); see the README table."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.languages import DEFAULT_OFFERED, KNOWN_LANGUAGES

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "dev-insecure-secret-key", "secret"}
DEV_SECRET_KEY = "dev-insecure-secret-key"  # noqa: S105 (refused outside dev)


class OIDCProvider(BaseModel):
    """One OpenID Connect provider; discovery is read from `<issuer>/.well-known/...`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    issuer: HttpUrl
    client_id: str
    client_secret: str = ""
    audience: Literal["guardian", "staff", "student"]
    display_name: str
    # Student providers only: the code of the board whose students sign in here, and the
    # claim whose value is the student's OneRoster sourcedId in that board's roster.
    board: str = ""
    student_claim: str = "sub"
    # Claim carrying group names that staff roles can be mapped from (e.g. "groups").
    groups_claim: str = "groups"
    scope: str = "openid email profile"
    # Sign-in strength required of every ID token (checked at each sign-in): one of these
    # `acr` values, and/or one of these `amr` methods (e.g. "mfa", "otp", "hwk"). Empty: none.
    required_acr: list[str] = Field(default_factory=list)
    required_amr: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _student_provider_names_its_board(self) -> OIDCProvider:
        if self.audience == "student" and not self.board:
            raise ValueError(f"provider {self.name!r}: a student provider needs `board` (a board code)")
        return self

    def strong_enough(self, claims: dict[str, object]) -> bool:
        """Does the ID token say the person signed in as strongly as this provider requires?"""
        if self.required_acr and claims.get("acr") not in self.required_acr:
            return False
        methods = claims.get("amr")
        used = set(methods) if isinstance(methods, list) else set()
        return not self.required_amr or bool(used & set(self.required_amr))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "production"] = "production"
    database_url: str = "sqlite:///./tobira.sqlite3"
    # A read-only replica (e.g. a PostgreSQL streaming standby) for the long reads of
    # opt-out exports; empty = the primary. docs/scaling.md says what may lag.
    database_replica_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEV_SECRET_KEY

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "Tobira <no-reply@tobira.invalid>"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False

    oidc_providers: list[OIDCProvider] = Field(default_factory=list)

    # Run a background worker inside the app process (the demo, small SQLite installs);
    # otherwise run `portal worker` beside the app (as many as you like).
    worker_in_app: bool = False
    # A running job whose worker has not renewed its heartbeat for this long is taken over.
    job_stale_seconds: float = 120
    # How long a dispatcher holds a claimed e-mail before another may send it.
    mail_claim_seconds: float = 300
    # Bodies (and attachments) of sent mail are emptied after this many days.
    mail_body_retention_days: int = 30
    # Roster uploads wait here for a worker; with several machines, a shared directory.
    upload_dir: str = Field(default_factory=lambda: str(Path(tempfile.gettempdir()) / "tobira-uploads"))

    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # A staff session whose roles come (in part) from the provider's groups ends after this
    # long, so the next sign-in reads the groups again (a group removed at the provider stops
    # granting the role within this time, not at the 12-hour limit).
    staff_group_recheck_minutes: int = 60
    # A student's record or an export asks staff to authenticate again at their provider
    # when their sign-in is older than this (0: never).
    staff_step_up_minutes: int = 15
    # The languages guardians may choose (BCP 47 tags, comma-separated, in the order the
    # language picker lists them); Japanese, the language of board content, is always one.
    languages: str = ",".join(DEFAULT_OFFERED)
    # The language of a reader whose browser asks for none of them.
    default_language: str = "ja"
    log_level: str = "INFO"
    # Reverse proxies whose X-Forwarded-For / -Proto are believed (comma-separated addresses
    # or networks, e.g. "10.0.0.5,10.1.0.0/16"). Empty: none, the peer address is the client.
    trusted_proxies: str = ""

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SECRET_KEY is a placeholder or shorter than 32 characters; "
                "set a random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or set ENVIRONMENT=dev for local use."
            )
        return self

    @model_validator(mode="after")
    def _known_languages(self) -> Settings:
        offered = self.offered_languages
        unknown = [tag for tag in offered if tag not in KNOWN_LANGUAGES]
        if unknown:
            raise ValueError(
                f"LANGUAGES: unknown language {', '.join(unknown)}; known: {', '.join(KNOWN_LANGUAGES)}"
            )
        if "ja" not in offered:
            raise ValueError("LANGUAGES must include ja (board content is written in Japanese)")
        if self.default_language not in offered:
            raise ValueError(f"DEFAULT_LANGUAGE {self.default_language!r} is not one of LANGUAGES")
        return self

    @property
    def offered_languages(self) -> tuple[str, ...]:
        tags = [tag.strip() for tag in self.languages.split(",") if tag.strip()]
        return tuple(dict.fromkeys(tags))

    @property
    def is_dev(self) -> bool:
        return self.environment in ("dev", "test")

    @property
    def cookies_secure(self) -> bool:
        """Cookies are Secure everywhere except plain-http loopback during development."""
        if self.base_url.startswith("https://"):
            return True
        loopback = self.base_url.startswith(("http://127.0.0.1", "http://localhost"))
        return not (self.is_dev and loopback)

    def provider(self, name: str) -> OIDCProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)


class DatabaseSettings(BaseSettings):
    """Just the database, for commands that need no secrets (`portal db upgrade`, Alembic)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    database_url: str = Settings.model_fields["database_url"].default


@lru_cache
def get_settings() -> Settings:
    return Settings()


def database_url() -> str:
    return DatabaseSettings().database_url
