"""A policy document with its interpretation plan, materials, signers, signatures and postings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.kernel.models.base import Base, UTCDateTime


class Document(Base):
    """One policy document and the facts its lifecycle needs.

    ``version`` is SQLAlchemy's ``version_id_col``: every UPDATE says ``WHERE version = :seen``,
    so two people changing the same document at once cannot both win.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    doc_number: Mapped[str | None] = mapped_column(String(200), index=True)  # duplicates are refused
    body: Mapped[str] = mapped_column(Text, default="")
    disclosure: Mapped[str | None] = mapped_column(String(20))
    risk_assessment_needed: Mapped[bool | None] = mapped_column(Boolean)
    risk_assessment: Mapped[str | None] = mapped_column(Text)
    response_plan: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    interpreter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(32), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    package_hash: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Publication facts and the deadline (computed on the working-day calendar).
    publication_url: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The server's instant when the publication was recorded, beside the claimed published_at;
    # a claim older than the grace window awaits a supervisor's confirmation (states/claims.py).
    published_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publication_confirmed_by: Mapped[str | None] = mapped_column(String(64))
    publication_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publication_confirm_reason: Mapped[str | None] = mapped_column(Text)
    publication_migrated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Published before recorded instants existed: history, counted as claimed (0007_trust)."""
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # The result, recorded for good when the interpretation is posted.
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    working_days_taken: Mapped[int | None] = mapped_column(Integer)
    working_days_late: Mapped[int | None] = mapped_column(Integer)
    closed_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the sweep should next look at this published document: the instant its next
    # unfired ladder rung comes due, NULL once every rung has fired. Maintained by the sweep;
    # anything that may bring a rung earlier (publication, a calendar load, a new ladder) sets
    # it back to the publication instant, so the sweep recomputes it. A hint, never a fact:
    # exactly-once still rests on the escalations' unique (document, level).
    next_rung_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Completed sign-off rounds (every named signer signed one package): an editor whose last
    # change was made in the current round may not sign (states/signoff.py, 0007_trust).
    signoff_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __mapper_args__ = {"version_id_col": version}
    # For the reports (per unit and period) and the sweep (open documents by due instant).
    __table_args__ = (
        # INCLUDE lets the on-time report read the index alone on PostgreSQL.
        Index(
            "ix_documents_unit_published",
            "unit_id",
            "published_at",
            postgresql_include=["state", "due_at", "posted_at", "on_time"],
        ),
        Index("ix_documents_state_due", "state", "due_at"),
        Index("ix_documents_unit_created", "unit_id", "created_at"),
        Index("ix_documents_posted_at", "posted_at"),
        # The sweep's candidates: open documents whose next rung is due (0006_sweep_hints).
        Index(
            "ix_documents_next_rung",
            "next_rung_at",
            "id",
            postgresql_where=text("state = 'published'"),
            sqlite_where=text("state = 'published'"),
        ),
    )

    materials: Mapped[list[Material]] = relationship(
        back_populates="document", order_by="Material.id", cascade="all, delete-orphan"
    )
    signers: Mapped[list[Signer]] = relationship(
        back_populates="document", order_by="Signer.id", cascade="all, delete-orphan"
    )
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="document", order_by="Signature.id", cascade="all, delete-orphan"
    )
    postings: Mapped[list[Posting]] = relationship(
        back_populates="document", order_by="Posting.id", cascade="all, delete-orphan"
    )


class Material(Base):
    """One interpretation material (解读材料) in one form: text, 图解, video, Q&A, …"""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    form: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(2000))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A file (图解, video, PDF, DOCX, XLSX, PPTX) in the blob store, by SHA-256; its hash is part
    # of content_hash, so of the package: replacing the file voids the signatures.
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_type: Mapped[str | None] = mapped_column(String(100))
    """The MIME type sniffed from the content."""
    file_name: Mapped[str | None] = mapped_column(String(255))
    """The name it was uploaded with (for the download; never used to find it)."""

    document: Mapped[Document] = relationship(back_populates="materials")


class Signer(Base):
    """A user required to sign the package (同步审签)."""

    __tablename__ = "signers"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    document: Mapped[Document] = relationship(back_populates="signers")


class Signature(Base):
    """A signature on one exact package (its content hash); voided by any later change."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    package_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="signatures")


class Posting(Base):
    """Where the interpretation went public: portal, news media or government new media."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    outlet: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    evidence: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """The claimed instant (``--at``); ``recorded_at`` is the server's."""
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A claim older than the grace window counts from recorded_at until a supervisor confirms it.
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_reason: Mapped[str | None] = mapped_column(Text)
    migrated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Recorded before claims were judged: history, counted as claimed (0007_trust)."""

    document: Mapped[Document] = relationship(back_populates="postings")


class DocumentEditor(Base):
    """Who changed a document's package (text, plan, materials, interpreter), and when last.

    ``round`` is the document's ``signoff_round`` at that change: an editor whose round is the
    current one changed the package since the last completed sign-off round, and so may not
    sign it (states/signoff.py).
    """

    __tablename__ = "document_editors"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    round: Mapped[int] = mapped_column(Integer, default=0)
