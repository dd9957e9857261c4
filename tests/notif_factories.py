"""A small bureau and documents written straight through the ORM, for the notification tests.

The notification tests exercise the outbox, templates and transports, not the lifecycle rules,
so they build exactly the rows they need (including deliberately bad ones) without the service.
"""

from __future__ import annotations

import email.policy
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from workflow.kernel.db import Database
from workflow.kernel.models import Document, Signer, Unit, User


@dataclass
class Bureau:
    """Ids of the sample directory, so tests can refer to rows across transactions."""

    spc: int  # the drafting unit (审批处)
    zfc: int  # a supervising unit (政法处)
    gkb: int  # a second supervising unit (信息公开办)
    lead: int  # leadership (局领导)
    clerk: int
    head: int
    signer: int
    leader: int
    gone: int  # an inactive user


def _unit(
    s: Session, at: datetime, code: str, name: str, kind: str, mailbox: str | None, head: str | None = None
) -> Unit:
    unit = Unit(code=code, name=name, kind=kind, mailbox=mailbox, head_login=head, created_at=at)
    s.add(unit)
    s.flush()
    return unit


def _user(
    s: Session,
    at: datetime,
    login: str,
    name: str,
    email: str | None,
    unit: Unit,
    roles: str = "member",
    active: bool = True,
) -> User:
    user = User(
        login=login, name=name, email=email, unit_id=unit.id, roles=roles, active=active, created_at=at
    )
    s.add(user)
    s.flush()
    return user


def make_bureau(db: Database, at: datetime) -> Bureau:
    with db.transaction() as s:
        spc = _unit(s, at, "spc", "行政审批处", "drafting", "spc@jtj.example.org", head="chen")
        zfc = _unit(s, at, "zfc", "政策法规处", "supervising", "zfc@jtj.example.org", head="wang")
        gkb = _unit(s, at, "gkb", "信息公开办", "supervising", "gkb@jtj.example.org")
        lead = _unit(s, at, "lead", "局领导", "leadership", None)
        clerk = _user(s, at, "liu", "刘晓", "liu@jtj.example.org", spc)
        head = _user(s, at, "chen", "陈处长", "chen@jtj.example.org", spc, roles="member,signer")
        _user(s, at, "wang", "王处长", "wang@jtj.example.org", zfc, roles="member,supervisor")
        signer = _user(s, at, "zhao", "赵副局长", "zhao@jtj.example.org", lead, roles="signer,leader")
        leader = _user(s, at, "sun", "孙局长", "sun@jtj.example.org", lead, roles="leader")
        gone = _user(s, at, "old", "离职人员", "old@jtj.example.org", spc, active=False)
        _user(s, at, "admin", "管理员", "admin@jtj.example.org", gkb, roles="admin")
        return Bureau(spc.id, zfc.id, gkb.id, lead.id, clerk.id, head.id, signer.id, leader.id, gone.id)


def make_document(
    db: Database,
    bureau: Bureau,
    at: datetime,
    *,
    title: str = "福州市道路运输管理办法",
    doc_number: str | None = "榕交〔2024〕1号",
    state: str = "published",
    published_at: datetime | None = None,
    due_at: datetime | None = None,
    due_provisional: bool = False,
    signers: tuple[int, ...] = (),
) -> int:
    with db.transaction() as s:
        doc = Document(
            unit_id=bureau.spc,
            title=title,
            doc_number=doc_number,
            body="第一条 …",
            disclosure="proactive",
            risk_assessment_needed=False,
            plan="解读方案",
            interpreter_id=bureau.clerk,
            state=state,
            package_hash="x" * 64,
            created_by=bureau.clerk,
            created_at=at,
            updated_at=at,
            published_at=published_at,
            due_at=due_at,
            due_provisional=due_provisional,
        )
        s.add(doc)
        s.flush()
        for uid in signers:
            s.add(Signer(document_id=doc.id, user_id=uid))
        return doc.id


# --- a real SMTP server on loopback ----------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now (so "server down" is a real refused connection)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class Recorder:
    """aiosmtpd handler: keeps every accepted message; replies can be set to refuse."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.data_reply: str | None = None  # e.g. "554 5.7.1 rejected"
        self.rcpt_replies: dict[str, str] = {}  # address -> reply, e.g. "550 no such user"
        self.data_calls = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.data_calls += 1
            if self.data_reply:
                return self.data_reply
            self.received.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content
                )
            )
        return "250 Message accepted for delivery"

    def outbox_ids(self) -> list[int]:
        return sorted(int(r.message["X-Santongbu-Outbox-Id"]) for r in self.received)


class SmtpServer:
    """aiosmtpd on 127.0.0.1:<port>, which can be stopped and started again on the same port."""

    def __init__(self, port: int | None = None, **controller_kwargs: Any) -> None:
        self.port = port or free_port()
        self.handler = Recorder()
        self.kwargs = controller_kwargs
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received
