"""Configuration, read once from the environment (prefix ``SANTONGBU_``) or a ``.env`` file.

Secrets (SMTP password, database password inside the URL) live only here and are never
logged: :class:`pydantic.SecretStr` keeps them out of ``repr``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from states.ladder import parse_ladder
from states.signoff import SignerRule


class Settings(BaseSettings):
    """All knobs of Santongbu; defaults give the embedded set-up (SQLite, mail folder)."""

    model_config = SettingsConfigDict(env_prefix="SANTONGBU_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///santongbu.db",
        description="SQLAlchemy URL; sqlite:///FILE (default, in the current folder) or postgresql://…",
    )
    language: Literal["zh", "en"] = Field(default="zh", description="Language of messages and emails.")
    timezone: str = Field(default="Asia/Shanghai", description="Zone in which working days are counted.")
    deadline_days: int = Field(default=3, ge=1, le=30, description="Working days to post the interpretation.")

    broker_url: str | None = Field(
        default=None,
        description="Celery broker, e.g. redis://127.0.0.1:6379/0; unset = embedded in-process worker.",
    )
    sweep_interval_seconds: float = Field(default=60.0, gt=0)
    outbox_interval_seconds: float = Field(default=10.0, gt=0)
    sweep_batch_size: int = Field(default=500, ge=1)

    mail_transport: Literal["folder", "smtp"] = "folder"
    mail_folder: Path = Path("santongbu-mail")
    mail_from: str = "santongbu@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_base_seconds: float = Field(default=30.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)

    base_url: str = Field(default="http://127.0.0.1:8000", description="Used for links in emails.")

    ladder: str | None = Field(
        default=None,
        description="The escalation ladder as JSON (see states/ladder.py); unset = docs/design.md §4 default.",
    )
    audit_checkpoint_interval_seconds: float = Field(default=3600.0, gt=0)
    provisional_refresh_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often the beat recomputes provisional deadlines on the calendar as it is now.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs the web pages' session cookies (≥ 32 characters).",
    )

    signer_rule: str = Field(
        default="unit_head,leader,legality_if_risk",
        description="Who must be among a package's signers (states/signoff.py): any of unit_head, "
        "leader, legality, legality_if_risk, comma-separated; empty = no one in particular.",
    )
    legality_unit: str = Field(
        default="zfc",
        description="Code of the legality unit (政法处) whose signer the rule's legality asks for.",
    )

    claim_grace_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 365,
        description="A claimed time (--at) older than this before its recording awaits a supervisor's "
        "confirmation; a publication claimed further back needs --backdated.",
    )
    allow_clock_override: bool = Field(
        default=False,
        description="Permit the CLI's global --now (acting as of another instant); for drills, tests and the demo.",
    )

    @property
    def claim_grace(self) -> timedelta:
        return timedelta(hours=self.claim_grace_hours)

    @field_validator("signer_rule")
    @classmethod
    def _valid_signer_rule(cls, value: str) -> str:
        """A bad signer rule fails at start-up, not at the first request for sign-off."""
        try:
            SignerRule.parse(value)
        except ValueError as exc:
            raise ValueError(f"SANTONGBU_SIGNER_RULE: {exc}") from None
        return value

    @field_validator("legality_unit")
    @classmethod
    def _valid_legality_unit(cls, value: str) -> str:
        import re

        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", value or ""):
            raise ValueError("SANTONGBU_LEGALITY_UNIT: a unit code (letters, digits, '.', '_', '-')")
        return value

    @property
    def signoff_rule(self) -> SignerRule:
        """The parsed signer rule (validated when the settings were built)."""
        return SignerRule.parse(self.signer_rule, self.legality_unit)

    @field_validator("ladder")
    @classmethod
    def _valid_ladder(cls, value: str | None) -> str | None:
        """A bad ladder fails at start-up, not on every sweep."""
        if value:
            try:
                parse_ladder(value)
            except Exception as exc:
                raise ValueError(f"SANTONGBU_LADDER: {exc}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must start with sqlite:// or postgresql://")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own :class:`Settings` instead."""
    return Settings()
