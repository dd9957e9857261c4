"""What ``santongbu demo`` found, as the text printed at the end of the run.

The facts are gathered by :mod:`workflow.demo.collect` from the demo's own files after the run
(re-exported here as :func:`collect`, with the catalogue's ``LEVELS`` and ``EVENTS``), so the
summary shows what is stored, not what the demo meant to do. This module writes its sections:
the documents table, the escalations with their emails, the mail folder, the audit verdict with
each document's timeline, and what to try next.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from states import catalogue
from states.deadline import overdue_words
from states.lifecycle import State
from workflow.demo.collect import collect
from workflow.demo.formatting import (
    EVENTS,
    LEVELS,
    both,
    cut,
    fmt_time,
    label,
    pad,
    shown_path,
    table,
    text_width,
)

__all__ = ["EVENTS", "LEVELS", "collect", "label", "render_text"]

# …and the package upkeep that precedes every sign-off request, left out of the short line.
UPKEEP_ACTIONS = frozenset({"edit", "attach_material", "remove_material", "set_signers"})


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
        late = d["working_days_late"]
        return both(
            lang, f"逾期发布({overdue_words(late, 'zh')})", f"posted late ({overdue_words(late, 'en')})"
        )
    if d["state"] == State.PUBLISHED:
        if d["late_now"]:
            n = d["working_days_overdue_now"]
            return both(
                lang, f"仍未发布,{overdue_words(n, 'zh')}", f"still not posted: {overdue_words(n, 'en')}"
            )
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
                cut(d["title"], 24),
                d["unit_name"] if lang == "zh" else d["unit"],
                state,
                due,
                _result(d, lang),
            ]
        )
    out += table(rows)

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
    lines = iter(table(rows, indent="     ")) if rows else iter(())
    indent = 5 + (max(text_width(r[0]) for r in rows) + 2 if rows else 0)
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
        # The key first: any command that writes (an audited read or refusal too) signs with it.
        (f"export SANTONGBU_AUDIT_KEY_FILE={folder}/audit.key", ""),
        (
            f"santongbu doc show {overdue} --as zheng.gk",
            label(lang, "# 文件、截止与时间线", "# a document, its deadline and timeline"),
        ),
        (
            # --now moves the clock, which an installation allows only for drills like this one.
            "SANTONGBU_ALLOW_CLOCK_OVERRIDE=true santongbu --now "
            f"{as_of.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%dT%H:%M} report overdue --as zheng.gk",
            label(lang, "# 演示结束时仍逾期的文件", "# what was overdue when the demo ended"),
        ),
        (
            f"santongbu audit verify --anchors {folder}/anchors",
            label(
                lang, "# 对照签名锚点重新校验审计记录", "# check the audit trail against the signed anchors"
            ),
        ),
        (f"ls {folder}/mail/", label(lang, "# worker 写出的邮件", "# the emails the worker wrote")),
    ]
    width = max(text_width(c) for c, _ in hints[2:])
    out += [("  " + pad(c, width) + "   " + h).rstrip() for c, h in hints]
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
