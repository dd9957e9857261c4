"""What ``santongbu demo`` found, read back from its database and mail folder, as data and text.

Everything printed is read from the demo's own files after the run — the documents, the
escalation records, the outbox rows with the ``.eml`` files the worker wrote, and the audit
trail as ``audit.verify`` sees it — so the summary shows what is stored, not what the demo
meant to do.
"""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from states import catalogue
from states.lifecycle import State

# What the ladder's levels and the emails' events are called: the one catalogue.
LEVELS = catalogue.pairs("level")
EVENTS = catalogue.pairs("event")
# Audit actions too frequent to help in a one-line timeline (they are all in the trail).
QUIET_ACTIONS = frozenset({"email_queued", "email_sent", "email_retry", "email_not_queued"})
# …and the package upkeep that precedes every sign-off request, left out of the short line.
UPKEEP_ACTIONS = frozenset({"edit", "attach_material", "remove_material", "set_signers"})
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def label(lang: str, zh: str, en: str) -> str:
    """The text in the reader's language."""
    return zh if lang == "zh" else en


def both(lang: str, zh: str, en: str) -> str:
    """A Chinese label followed by its English (``--lang zh``, the default), or English only."""
    return f"{zh} {en}" if lang == "zh" else en


def fmt_time(value: datetime | None, lang: str, *, year: bool = True, tz: str = "Asia/Shanghai") -> str:
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz))
    day = f"{local:%Y-%m-%d}" if year else f"{local:%m-%d}"
    if lang == "zh":
        return f"{day}(周{_WEEKDAYS_ZH[local.weekday()]}){local:%H:%M}"
    return f"{_WEEKDAYS_EN[local.weekday()]} {day} {local:%H:%M}"


def shown_path(path: Path) -> str:
    """Relative to the current folder when inside it (what a newcomer types), else absolute."""
    try:
        return os.path.relpath(path) if Path(os.path.relpath(path)).parts[:1] != ("..",) else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)


# ------------------------------------------------------------------ collecting
def _keyring(settings: Any) -> Any:
    from workflow.kernel.auditkeys import load_keyring

    return load_keyring(settings.audit_key_file) if settings.audit_key_file else None


def collect(run: Any) -> dict[str, Any]:
    """The facts of a finished :class:`workflow.demo.run.DemoRun`, JSON-ready."""
    from notifications.transports.folder import file_name
    from states.ladder import whole_working_days_overdue
    from workflow.kernel import audit
    from workflow.kernel.calendar import calendar_for
    from workflow.kernel.models import AuditEvent, Document, Escalation, Signature, Signer, Unit, User
    from workflow.kernel.models.outbox import OutboxMessage
    from workflow.services.sweep import ladder_for

    settings, now = run.settings, run.clock.now()
    mail = Path(settings.mail_folder)
    keys = {doc_id: key for key, doc_id in run.ids.items()}
    with run.db.transaction() as s:
        calendar = calendar_for(s, settings)
        units = {u.id: u for u in s.scalars(select(Unit))}
        logins = {u.id: u.login for u in s.scalars(select(User))}
        outbox = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

        def email_view(row: OutboxMessage) -> dict[str, Any]:
            path = mail / file_name(row.id)
            return {
                "outbox_id": row.id,
                "event": row.event,
                "document_id": row.document_id,
                "subject": row.subject,
                "status": row.status,
                "to": [r["address"] for r in row.to_list],
                "cc": [r["address"] for r in row.cc_list],
                "file": str(path),
                "file_exists": path.exists(),
            }

        emails = [email_view(r) for r in outbox]
        by_doc_event = {(e["document_id"], e["event"]): e for e in emails}
        documents = []
        for doc in s.scalars(select(Document).order_by(Document.id)):
            esc = [
                {
                    "level": e.level,
                    "fired_at": e.fired_at,
                    "working_days_overdue": e.working_days_overdue,
                    "email": by_doc_event.get((doc.id, ladder_for(settings).rung(e.level).event)),
                }
                for e in s.scalars(
                    select(Escalation).where(Escalation.document_id == doc.id).order_by(Escalation.id)
                )
            ]
            signers = [
                logins[x.user_id] for x in s.scalars(select(Signer).where(Signer.document_id == doc.id))
            ]
            signed = {
                logins[x.user_id]
                for x in s.scalars(
                    select(Signature).where(Signature.document_id == doc.id, Signature.voided_at.is_(None))
                )
            }
            events = list(
                s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.chain == audit.chain_for(doc.id))
                    .order_by(AuditEvent.seq)
                )
            )
            overdue_now = (
                whole_working_days_overdue(doc.due_at, now, calendar, settings.timezone)
                if doc.state == State.PUBLISHED and doc.due_at
                else None
            )
            documents.append(
                {
                    "id": doc.id,
                    "key": keys.get(doc.id),
                    "title": doc.title,
                    "doc_number": doc.doc_number,
                    "unit": units[doc.unit_id].code,
                    "unit_name": units[doc.unit_id].name,
                    "state": doc.state,
                    "published_at": doc.published_at,
                    "due_at": doc.due_at,
                    "due_provisional": doc.due_provisional,
                    "posted_at": doc.posted_at,
                    "on_time": doc.on_time,
                    "working_days_taken": doc.working_days_taken,
                    "working_days_late": doc.working_days_late,
                    "late_now": bool(doc.state == State.PUBLISHED and doc.due_at and now > doc.due_at),
                    "whole_working_days_overdue_now": overdue_now,
                    "closed_reason": doc.closed_reason,
                    "awaiting_signatures": sorted(set(signers) - signed)
                    if doc.state == State.JOINT_SIGNOFF
                    else [],
                    "escalations": esc,
                    "audit_events": len(events),
                    "timeline": [
                        {
                            "at": e.at,
                            "actor": e.actor,
                            "action": e.action,
                            "outcome": e.outcome,
                            "state_before": e.state_before,
                            "state_after": e.state_after,
                            "details": json.loads(e.details),
                        }
                        for e in events
                        if e.action not in QUIET_ACTIONS
                    ],
                }
            )
    from workflow.kernel.audit_verify import VerifyOptions, verify

    with run.db.snapshot() as s:
        report = verify(
            s,
            VerifyOptions(
                keyring=_keyring(settings) or audit.current_keyring(), anchors=settings.audit_export_dir
            ),
        )
    statuses = {
        st: sum(1 for e in emails if e["status"] == st) for st in ("sent", "pending", "sending", "failed")
    }
    by_event: dict[str, int] = {}
    for e in emails:
        by_event[e["event"]] = by_event.get(e["event"], 0) + 1
    return {
        "folder": str(run.folder),
        "database": str(run.folder / "santongbu.db"),
        "mail_folder": str(mail),
        "as_of": now,
        "seconds": round(run.seconds, 1),
        "ladder": [
            r.as_dict() | {"when": r.describe("en"), "when_zh": r.describe("zh")}
            for r in ladder_for(settings).rungs
        ],
        "steps": [
            {
                "at": st.at,
                "note_zh": st.note[0],
                "note_en": st.note[1],
                "fired": [{"document_id": d, "level": lv} for d, lv in st.fired],
                "emails_sent": st.emails_sent,
            }
            for st in run.steps
        ],
        "documents": documents,
        "emails": {
            "total": len(emails),
            **statuses,
            "by_event": by_event,
            "eml_files": len(list(mail.glob("*.eml"))),
            "list": emails,
        },
        "audit": report.as_dict() | {"checkpoint": run.checkpoint},
    }


# ------------------------------------------------------------------ text
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _cut(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out = ""
    for c in text:
        if _width(out + c) > width - 1:
            break
        out += c
    return out + "…"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(_pad(c, widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]


def _days(lang: str, n: int) -> str:
    return label(lang, f"{n} 个工作日", f"{n} working day{'s' if n != 1 else ''}")


def _result(d: dict[str, Any], lang: str) -> str:
    if d["state"] == State.INTERPRETATION_POSTED:
        if d["on_time"]:
            return both(
                lang,
                f"按时(用 {d['working_days_taken']} 个工作日)",
                f"on time ({_days('en', d['working_days_taken'])})",
            )
        return both(
            lang,
            f"逾期 {d['working_days_late']} 个工作日后发布",
            f"posted late by {_days('en', d['working_days_late'])}",
        )
    if d["state"] == State.PUBLISHED:
        if d["late_now"]:
            n = d["whole_working_days_overdue_now"]
            return both(lang, f"仍未发布,已逾期满 {n} 个工作日", f"still overdue: {_days('en', n)}")
        return both(lang, "解读期限内", "within the deadline")
    if d["state"] == State.JOINT_SIGNOFF:
        return both(lang, "待签署", "awaiting") + ": " + ", ".join(d["awaiting_signatures"])
    if d["closed_reason"]:
        return d["closed_reason"]
    return ""


def _recipients(email: dict[str, Any] | None, lang: str) -> list[str]:
    if email is None:
        return [
            label(
                lang,
                "未发邮件:巡检到达时已过截止时间,“今天到期”已不属实",
                "no email: the deadline had passed when the sweep reached it",
            )
        ]
    lines = [both(lang, "收件", "to") + ": " + ", ".join(email["to"])]
    if email["cc"]:
        lines.append(both(lang, "抄送", "cc") + ": " + ", ".join(email["cc"]))
    return lines


def _timeline(d: dict[str, Any], lang: str) -> str:
    """One line: the day and action of each event (emails left out), repeats folded (sign×2)."""
    items: list[list[Any]] = []
    for e in d["timeline"]:
        if e["action"] in UPKEEP_ACTIONS and e["outcome"] == "allowed":
            continue
        if e["outcome"] != "allowed":
            name = f"{e['action']}✗"
        elif e["action"] == "escalation":
            level = e["details"].get("level", "")
            name = LEVELS.get(level, (level, level))[0 if lang == "zh" else 1]
        elif e["state_before"] != e["state_after"] and e["state_after"]:
            name = f"{e['action']}→{catalogue.label('state', e['state_after'], lang)}"
        else:
            name = e["action"]
        at = e["at"] if isinstance(e["at"], datetime) else datetime.fromisoformat(e["at"])
        text = f"{at.astimezone(ZoneInfo('Asia/Shanghai')):%m-%d} {name}"
        if items and items[-1][0] == text:
            items[-1][1] += 1
        else:
            items.append([text, 1])
    return " · ".join(t if n == 1 else f"{t}×{n}" for t, n in items)


def render_text(data: dict[str, Any], lang: str) -> str:
    """The human summary printed at the end of the demo."""
    out: list[str] = []
    rule = "─" * 78
    docs = data["documents"]
    as_of = datetime.fromisoformat(data["as_of"]) if isinstance(data["as_of"], str) else data["as_of"]

    out += [
        "",
        rule,
        both(lang, "演示结果", "Demo summary")
        + label(lang, f"(截至 {fmt_time(as_of, lang)})", f" (as of {fmt_time(as_of, lang)})"),
        rule,
    ]

    out += ["", both(lang, "文件", "Documents")]
    rows = [
        [
            label(lang, "编号", "#"),
            both(lang, "标题", "title"),
            both(lang, "处室", "unit"),
            both(lang, "状态", "state"),
            both(lang, "截止", "due"),
            both(lang, "结果", "result"),
        ]
    ]
    for d in docs:
        state = both(lang, *catalogue.pairs("state").get(d["state"], (d["state"],) * 2))
        due = fmt_time(d["due_at"], lang, year=False) if d["due_at"] else "—"
        rows.append(
            [
                f"#{d['id']}",
                _cut(d["title"], 24),
                d["unit_name"] if lang == "zh" else d["unit"],
                state,
                due,
                _result(d, lang),
            ]
        )
    out += _table(rows)

    out += ["", both(lang, "逾期提醒与升级", "Reminders and escalations sent")]
    ladder = " → ".join(
        f"{LEVELS.get(r['level'], (r['level'],) * 2)[0 if lang == 'zh' else 1]} "
        f"({r['when_zh'] if lang == 'zh' else r['when']})"
        for r in data["ladder"]
    )
    out.append("  " + label(lang, "阶梯:", "ladder: ") + ladder)
    laddered = [d for d in docs if d["escalations"]]
    rows = [
        [
            both(lang, *LEVELS.get(e["level"], (e["level"],) * 2)),
            fmt_time(e["fired_at"], lang, year=False),
            shown_path(Path(e["email"]["file"])) if e["email"] else "—",
        ]
        for d in laddered
        for e in d["escalations"]
    ]
    lines = iter(_table(rows, indent="     ")) if rows else iter(())
    indent = 5 + (max(_width(r[0]) for r in rows) + 2 if rows else 0)
    for d in laddered:
        tail = ""
        if d["state"] == State.INTERPRETATION_POSTED:
            tail = label(
                lang,
                f"  — {fmt_time(d['posted_at'], lang, year=False)} 发布解读,阶梯停止",
                f"  — posted {fmt_time(d['posted_at'], lang, year=False)}: the ladder stopped",
            )
        out.append(f"  #{d['id']} {d['title']}{tail}")
        for e in d["escalations"]:
            out.append(next(lines))
            out += [" " * indent + r for r in _recipients(e["email"], lang)]

    em = data["emails"]
    out += ["", both(lang, "邮件", "Emails")]
    out.append(
        "  "
        + label(
            lang,
            f"{em['eml_files']} 个 .eml 文件在 {shown_path(Path(data['mail_folder']))}/ "
            f"(已发送 {em['sent']},待发送 {em['pending'] + em['sending']},失败 {em['failed']}),可用任何邮件客户端打开",
            f"{em['eml_files']} .eml files in {shown_path(Path(data['mail_folder']))}/ "
            f"(sent {em['sent']}, waiting {em['pending'] + em['sending']}, failed {em['failed']}); "
            "open them in any mail client",
        )
    )
    out.append(
        "  " + ", ".join(f"{both(lang, *EVENTS.get(k, (k, k)))} ×{n}" for k, n in em["by_event"].items())
    )

    au = data["audit"]
    cp = au.get("checkpoint") or {}
    out += ["", both(lang, "审计记录", "Audit trail")]
    verdict = both(lang, "完整", "intact") if au["ok"] else both(lang, "已被篡改", "BROKEN")
    out.append(
        "  "
        + label(
            lang,
            f"verify:{verdict} — {au['events']} 条事件,{au['chains']} 条哈希链,{au['checkpoints']} 个检查点"
            + (f"(最新 #{cp.get('id')},{cp.get('chains')} 条链)" if cp else "")
            + f",{au['anchors']} 个签名锚点,{au['documents']} 份文件与其记录一致"
            + (",事件哈希以密钥 audit.key 计算(HMAC)" if au["keyed"] else ""),
            f"verify: {verdict} — {au['events']} events in {au['chains']} hash chains, "
            f"{au['checkpoints']} checkpoint(s)"
            + (f" (latest #{cp.get('id')} over {cp.get('chains')} chains)" if cp else "")
            + f", {au['anchors']} signed anchor(s), {au['documents']} documents agree with their chains"
            + (", keyed with audit.key" if au["keyed"] else ""),
        )
    )
    for b in au["breaks"]:
        out.append(f"  BROKEN {b['chain']} seq {b['seq']}: {b['problem']}")
    for d in docs:
        out.append(f"  #{d['id']} " + _timeline(d, lang))

    folder = shown_path(Path(data["folder"]))
    overdue = next(
        (d["id"] for d in docs if d["state"] == State.PUBLISHED and d["late_now"]),
        docs[0]["id"] if docs else 1,
    )
    out += ["", both(lang, "接下来可以试试", "Try next")]
    hints = [
        (f"export SANTONGBU_DATABASE_URL=sqlite:///{folder}/santongbu.db", ""),
        (
            f"santongbu doc show {overdue} --as zheng.gk",
            label(lang, "# 文件、截止与时间线", "# a document, its deadline and timeline"),
        ),
        (
            f"santongbu --now {as_of.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%dT%H:%M} report overdue --as zheng.gk",
            label(lang, "# 演示结束时仍逾期的文件", "# what was overdue when the demo ended"),
        ),
        (f"export SANTONGBU_AUDIT_KEY_FILE={folder}/audit.key", ""),
        (
            f"santongbu audit verify --anchors {folder}/anchors",
            label(
                lang, "# 对照签名锚点重新校验审计记录", "# check the audit trail against the signed anchors"
            ),
        ),
        (f"ls {folder}/mail/", label(lang, "# worker 写出的邮件", "# the emails the worker wrote")),
    ]
    width = max(_width(c) for c, _ in hints[1:])
    out += [("  " + _pad(c, width) + "   " + h).rstrip() for c, h in hints]
    out += [
        "",
        label(
            lang,
            f"用时 {data['seconds']} 秒;所有文件都在 {folder}/ 下(再次运行会重建)。",
            f"took {data['seconds']} s; every file is under {folder}/ (rebuilt on the next run).",
        ),
        "",
    ]
    return "\n".join(out)
