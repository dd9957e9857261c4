"""Per-user API tokens for the HTTP API.

Only a SHA-256 digest of each token is stored. The token itself is 256 bits from
:mod:`secrets`, so nobody can guess one from its digest and a slow password hash (argon2)
would buy nothing but latency on every request; a plain digest also lets a request find its
token through the unique index instead of trying every row. ``prefix`` (the first characters
of the token) lets a person tell their tokens apart in a list without the secret.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime


class ApiToken(Base):
    """One token: whose it is, what it is called, who made it, and whether it is revoked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
