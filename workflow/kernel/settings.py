"""Configuration, read once from the environment (prefix ``SANTONGBU_``) or a ``.env`` file.

Secrets (SMTP password, database password inside the URL) live only here and are never
logged: :class:`pydantic.SecretStr` keeps them out of ``repr``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from states.ladder import parse_ladder


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
    wecom_base_url: str = Field(
        default="https://qyapi.weixin.qq.com",
        description="Where WeCom group-robot messages are posted (the host of each unit's webhook URL is "
        "replaced by this one: an egress gateway, or a test server).",
    )
    dingtalk_base_url: str = Field(
        default="https://oapi.dingtalk.com",
        description="Where DingTalk group-robot messages are posted (replaces the host of each unit's webhook URL).",
    )
    robot_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one robot webhook call.")
    blob_folder: Path = Field(
        default=Path("santongbu-files"),
        description="Where material files are kept, content-addressed by SHA-256.",
    )
    upload_max_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest material file (not video)."
    )
    upload_max_video_bytes: int = Field(default=500 * 1024 * 1024, gt=0, description="Largest video file.")

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

    @field_validator("wecom_base_url", "dingtalk_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a robot base URL must start with https:// (or http:// for a local gateway)")
        return value.rstrip("/")

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
