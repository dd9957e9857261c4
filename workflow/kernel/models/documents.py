"""A policy document with its interpretation plan, materials, signers, signatures and postings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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
    doc_number: Mapped[str | None] = mapped_column(String(200))
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
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    document: Mapped[Document] = relationship(back_populates="postings")
