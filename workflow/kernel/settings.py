"""Configuration, read once from the environment (prefix ``SANTONGBU_``) or a ``.env`` file.

Secrets (SMTP password, S3 secret key, database password inside the URL) live only here and are never
logged: :class:`pydantic.SecretStr` keeps them out of ``repr``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from states.ladder import parse_ladder
from states.signoff import SignerRule
from states.text import DEFAULT_MAX_TEXT_BYTES
from workflow.kernel.allowlist import parse_allow_list


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
    broker_reconnect_max_seconds: float = Field(
        default=2.0,
        gt=0,
        description="A worker that lost its broker tries again every 0.5 s, then a little "
        "later each time, up to this long between attempts.",
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
    smtp_allow_plaintext_auth: bool = Field(
        default=False,
        description="Allow an SMTP login without TLS to a server that is not on loopback (the password "
        "then crosses the network in clear). Off: such a configuration is refused at start-up.",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the mail server's certificate (a private CA); "
        "certificates are always checked.",
    )
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_lease_seconds: float = Field(
        default=15.0,
        ge=1,
        description="A claimed email belongs to its worker this long; the worker renews the "
        "claim every third of it while it sends, so a dead worker's emails are "
        "taken over after at most this long.",
    )
    outbox_batch_size: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Emails claimed at a time (one SMTP connection serves them).",
    )
    outbox_batches_per_task: int = Field(
        default=20,
        ge=1,
        description="Batches one delivery task sends before it hands over to a fresh task "
        "(so a long backlog does not hold one task forever).",
    )
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
    blob_store: str | None = Field(
        default=None,
        description="s3://BUCKET/PREFIX to keep material files in an S3-compatible store instead of "
        "blob_folder (with the s3_* settings below).",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="The S3-compatible server (MinIO, Ceph, OSS, COS…); unset = AWS S3."
    )
    s3_region: str | None = Field(default=None, description="The store's region, if it needs one.")
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_part_mb: int = Field(
        default=8, ge=5, le=1024, description="Multipart upload part size (S3's least is 5 MiB)."
    )
    secrets_key_file: Path | None = Field(
        default=None,
        description="A Fernet key (one line, as `santongbu unit secrets-key` makes it) that encrypts the "
        "units' robot webhooks and signing secrets at rest.",
    )
    upload_max_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest material file (not video)."
    )
    upload_max_video_bytes: int = Field(default=500 * 1024 * 1024, gt=0, description="Largest video file.")
    max_text_bytes: int = Field(
        default=DEFAULT_MAX_TEXT_BYTES,
        gt=0,
        description="Largest text (policy body, plan, material) in UTF-8 bytes, for the CLI, the API and the pages.",
    )

    base_url: str = Field(default="http://127.0.0.1:8000", description="Used for links in emails.")

    ladder: str | None = Field(
        default=None,
        description="The escalation ladder as JSON (see states/ladder.py); unset = docs/design.md §4 default.",
    )
    audit_checkpoint_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Beat checkpoints the audit trail this often (when events were added), "
        "and sooner after a sign-off, publication or posting.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="The audit keyring (santongbu audit keygen): keys each event's hash and signs "
        "checkpoints. Unset = the trail is not keyed (said by verify, /health, the log).",
    )
    audit_export_dir: Path | None = Field(
        default=None,
        description="Beat writes each checkpoint here as a signed anchor file (a write-once mount, "
        "or a folder shipped to the auditors). Needs audit_key_file.",
    )
    provisional_refresh_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often the beat recomputes provisional deadlines on the calendar as it is now.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs the web pages' session cookies (≥ 32 characters).",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="A web session ends this long after sign-in."
    )
    session_idle_minutes: float = Field(
        default=120.0, gt=0, description="A web session ends after this long without a request."
    )
    throttle_account_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account before each further attempt must wait."
    )
    throttle_address_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins (or API token checks) per client address before each "
        "further attempt must wait.",
    )
    throttle_base_delay_seconds: float = Field(
        default=15.0, gt=0, description="The first wait; it doubles with every further failure."
    )
    throttle_max_delay_seconds: float = Field(default=900.0, gt=0, description="The longest wait.")
    audit_burst_window_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Refusals that come in bursts (anonymous sign-in failures per address, "
        "concurrent-change refusals per document) are audited as one event per "
        "key and window of this length.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed (client address, HTTPS).",
    )
    api_docs: bool = Field(default=True, description="Serve the browsable API documentation at /docs.")

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @model_validator(mode="after")
    def _no_plaintext_login(self) -> Settings:
        """An SMTP password is never sent in clear over the network (ASVS V9.2.1)."""
        problem = plaintext_login_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    signer_rule: str = Field(
        default="unit_head,leader,legality_if_risk",
        description="Who must be among a package's signers (states/signoff.py): any of unit_head, "
        "leader, legality, legality_if_risk, comma-separated; empty = no one in particular.",
    )
    legality_unit: str = Field(
        default="zfc",
        description="Code of the legality unit (政法处) whose signer the rule's legality asks for.",
    )

    # Evidence of postings (docs/evidence.md): which pages may be fetched, and within what bounds.
    evidence_allowed_hosts: str = Field(
        default="",
        description="Comma-separated host[:port] list the checker may fetch from ('*.example.cn' for "
        "subdomains); a private or loopback address only if its host:port is listed exactly.",
    )
    evidence_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    evidence_read_timeout_seconds: float = Field(default=5.0, gt=0)
    evidence_total_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Whole fetch, redirects included."
    )
    evidence_max_bytes: int = Field(default=5_000_000, ge=1024, description="Largest page kept, in bytes.")
    evidence_max_redirects: int = Field(default=5, ge=0, le=20)
    evidence_folder: Path | None = Field(
        default=None,
        description="Where fetched pages are kept (WARC); unset = 'santongbu-evidence' beside the "
        "SQLite file, else beside the mail folder.",
    )
    evidence_recheck_days: float = Field(
        default=7.0, gt=0, description="Re-fetch pages after this many days."
    )
    evidence_retry_days: float = Field(
        default=3.0, ge=0, description="Retry an unreachable page this long, then report it."
    )
    evidence_retry_base_seconds: float = Field(default=900.0, gt=0)
    evidence_retry_max_seconds: float = Field(default=21600.0, gt=0)
    evidence_alert_after_hours: float = Field(
        default=24.0, ge=0, description="Email the drafting unit once its page is bad for this long."
    )
    evidence_interval_seconds: float = Field(default=3600.0, gt=0, description="How often beat checks.")
    evidence_batch_size: int = Field(default=100, ge=1, description="Pages checked per run at most.")
    evidence_user_agent: str = "Santongbu-evidence/0.1 (+policy interpretation checker)"

    @field_validator("evidence_allowed_hosts")
    @classmethod
    def _valid_hosts(cls, value: str) -> str:
        """A malformed entry fails at start-up rather than silently admitting nothing (or more)."""
        parse_allow_list(value)
        return value

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

    @field_validator("wecom_base_url", "dingtalk_base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a robot base URL must start with https:// (or http:// for a local gateway)")
        return value.rstrip("/")

    @field_validator("blob_store")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value and (not value.startswith("s3://") or not value[5:].split("/", 1)[0]):
            raise ValueError("blob_store must be s3://BUCKET or s3://BUCKET/PREFIX")
        return value or None

    @field_validator("secrets_key_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must start with sqlite:// or postgresql://")
        return value


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def plaintext_login_problem(settings: Settings) -> str | None:
    """Why this configuration would send the SMTP password in clear, or ``None``.

    Checked when the settings are read and again when an SMTP transport is built (settings
    copied with ``model_copy`` skip validation)."""
    if settings.mail_transport != "smtp" or not settings.smtp_username or settings.smtp_security != "none":
        return None
    host = settings.smtp_host.strip().lower()
    if host in LOOPBACK_HOSTS or host.startswith("127.") or settings.smtp_allow_plaintext_auth:
        return None
    return (
        f"SANTONGBU_SMTP_USERNAME is set but SANTONGBU_SMTP_SECURITY=none: the password would cross the "
        f"network to {settings.smtp_host} in clear. Use SANTONGBU_SMTP_SECURITY=starttls or tls, or set "
        f"SANTONGBU_SMTP_ALLOW_PLAINTEXT_AUTH=true if the network to the mail server is trusted."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own :class:`Settings` instead."""
    return Settings()
