"""The one zh/en label catalogue: what each lifecycle code is called, in Chinese and English.

States, triggers, escalation levels, posting channels, material forms, disclosure attributes,
posting statuses, notification events, audit actions, roles and audit outcomes are named here
once, and the service, reports, web pages, CLI, emails and demo all read them from here
(docs/design.md §2, §4), so a level is called the same on a page, in a CSV and in the demo.

    >>> label("level", "escalated_high", "zh")
    '领导督办'
    >>> label("state", "published", "en")
    'published'

A code that has no label reads as itself; ``None`` reads as "". Chinese is ``"zh"``; every
other language reads English. Pure: no imports from the rest of the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

Pair = tuple[str, str]
"""A label as (Chinese, English)."""

LANGS = ("zh", "en")

STATES: dict[str, Pair] = {
    "draft": ("起草", "draft"),
    "interpretation_plan": ("解读方案", "interpretation plan"),
    "joint_signoff": ("同步审签", "joint sign-off"),
    "published": ("公开", "published"),
    "interpretation_posted": ("解读发布", "interpretation posted"),
    "withdrawn": ("撤回", "withdrawn"),
    "filed": ("不予公开归档", "filed (not disclosed)"),
}

TRIGGERS: dict[str, Pair] = {
    "prepare_plan": ("进入解读方案", "prepare plan"),
    "request_signoff": ("提交同步审签", "request sign-off"),
    "publish": ("公开发布", "publish"),
    "file_undisclosed": ("不予公开归档", "file without disclosure"),
    "post_interpretation": ("解读发布", "post interpretation"),
    "reject": ("退回解读方案", "reject to plan"),
    "reject_to_draft": ("退回起草", "reject to draft"),
    "withdraw": ("撤回", "withdraw"),
}

# The rungs of the default ladder (states/ladder.py, docs/design.md §4).
LEVELS: dict[str, Pair] = {
    "reminder": ("提醒", "reminder"),
    "overdue": ("逾期", "overdue"),
    "escalated": ("督办", "escalated"),
    "escalated_high": ("领导督办", "escalated to leadership"),
}

CHANNELS: dict[str, Pair] = {
    "portal": ("门户网站", "portal"),
    "news_media": ("新闻媒体", "news media"),
    "new_media": ("政务新媒体", "government new media"),
}

FORMS: dict[str, Pair] = {
    "text": ("文字解读", "text"),
    "graphic": ("图解", "graphic"),
    "video": ("视频", "video"),
    "qa": ("问答", "Q&A"),
    "online_interview": ("在线访谈", "online interview"),
    "press_conference": ("新闻发布会", "press conference"),
    "other": ("其他", "other"),
}

DISCLOSURES: dict[str, Pair] = {
    "proactive": ("主动公开", "proactive"),
    "on_request": ("依申请公开", "on request"),
    "not_disclosed": ("不予公开", "not disclosed"),
}

# Where a published document's interpretation stands, as the reports classify it.
STATUSES: dict[str, Pair] = {
    "on_time": ("按时发布", "posted on time"),
    "late": ("逾期发布", "posted late"),
    "overdue": ("已逾期未发布", "overdue, not posted"),
    "open": ("期限内未发布", "not yet due"),
}

# What the evidence checker found for a posting's page (states/evidence.py, docs/evidence.md).
EVIDENCE: dict[str, Pair] = {
    "verified": ("已核验", "verified"),
    "mismatch": ("不一致", "mismatch"),
    "unreachable": ("无法访问", "unreachable"),
    "unchecked": ("无网址未核验", "unchecked (no URL)"),
    "pending": ("待核验", "not checked yet"),
}

# Notification events (notifications/render.py): the ladder's levels and the one-off emails.
EVENTS: dict[str, Pair] = {
    **LEVELS,
    "signoff_requested": ("待审签", "sign-off requested"),
    "published": ("已公开", "published"),
    "rejected": ("退回", "rejected"),
    "posted_late": ("逾期发布", "posted late"),
    "evidence_problem": ("解读网页异常", "posting page problem"),
}

# Audit actions that are not triggers (a trigger's audit action is the trigger itself).
ACTIONS: dict[str, Pair] = {
    "create": ("新建", "created"),
    "edit": ("修改", "edited"),
    "attach_material": ("添加解读材料", "material attached"),
    "remove_material": ("删除解读材料", "material removed"),
    "replace_file": ("更换材料文件", "material file replaced"),
    "read_file": ("查看材料文件", "material file read"),
    "set_signers": ("指定审签人", "signers named"),
    "sign": ("签署", "signed"),
    "signatures_voided": ("签字作废", "signatures voided"),
    "record_posting": ("登记解读发布", "posting recorded"),
    "read": ("查看", "read"),
    "escalation": ("督办", "escalation"),
    "imported": ("导入", "imported"),
    "sign_in": ("登录", "signed in"),
    "confirm": ("确认补录时间", "claim confirmed"),
    "correct": ("更正", "corrected"),
    "evidence_checked": ("核验发布网页", "posting page checked"),
}

ROLES: dict[str, Pair] = {
    "member": ("处室成员", "member"),
    "signer": ("审签人", "signer"),
    "supervisor": ("监督", "supervisor"),
    "auditor": ("审计", "auditor"),
    "admin": ("管理员", "administrator"),
    "leader": ("局领导", "leader"),
}

OUTCOMES: dict[str, Pair] = {"allowed": ("允许", "allowed"), "refused": ("拒绝", "refused")}

CATALOGUE: Mapping[str, Mapping[str, Pair]] = MappingProxyType(
    {
        "state": STATES,
        "trigger": TRIGGERS,
        "level": LEVELS,
        "channel": CHANNELS,
        "form": FORMS,
        "disclosure": DISCLOSURES,
        "status": STATUSES,
        "evidence": EVIDENCE,
        "event": EVENTS,
        "action": {**ACTIONS, **TRIGGERS},
        "role": ROLES,
        "outcome": OUTCOMES,
    }
)
KINDS = tuple(CATALOGUE)


def pairs(kind: str) -> Mapping[str, Pair]:
    """Every (zh, en) label of one kind, e.g. for a report column that labels its codes."""
    return CATALOGUE[kind]


def label(kind: str, code: str | None, lang: str = "zh") -> str:
    """What ``code`` of ``kind`` is called in ``lang``: the code itself if it has no label,
    "" for ``None``. ``kind`` is one of :data:`KINDS` (a wrong kind is a programming error)."""
    if code is None:
        return ""
    pair = CATALOGUE[kind].get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]
