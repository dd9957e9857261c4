"""Why something was refused, as a code plus parameters, rendered in Chinese or English.

Reasons are data, not strings, so the HTTP API can return the codes, the CLI can print the
sentence, and a test can assert on the code without depending on wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from states.catalogue import label
from states.evidence import MESSAGES as EVIDENCE_MESSAGES

MESSAGES: dict[str, dict[str, str]] = {
    # draft → interpretation_plan
    "missing_title": {"zh": "缺少标题", "en": "the title is missing"},
    "missing_unit": {"zh": "缺少起草处室", "en": "the drafting unit is missing"},
    "missing_doc_number": {
        "zh": "缺少文号或暂定名称",
        "en": "the document number or working title is missing",
    },
    "missing_disclosure": {
        "zh": "未审核公开属性(主动公开/依申请公开/不予公开)",
        "en": "the disclosure attribute (proactive / on request / not disclosed) has not been reviewed",
    },
    "missing_risk_flag": {
        "zh": "未确定是否需要舆情风险评估",
        "en": "it has not been decided whether a public-opinion risk assessment is needed",
    },
    "missing_body": {"zh": "缺少政策文件正文", "en": "the policy text is empty"},
    # interpretation_plan → joint_signoff
    "missing_plan": {"zh": "缺少解读方案", "en": "the interpretation plan is missing"},
    "missing_material": {
        "zh": "至少需要一份注明形式的解读材料",
        "en": "at least one interpretation material with its form is required",
    },
    "missing_interpreter": {
        "zh": "未指定解读人(谁起草谁解读)",
        "en": "no interpreter is named (whoever drafts interprets)",
    },
    "interpreter_not_in_unit": {
        "zh": "解读人 {login} 不属于起草处室(谁起草谁解读)",
        "en": "interpreter {login} is not a member of the drafting unit (whoever drafts interprets)",
    },
    "missing_risk_assessment": {
        "zh": "已标记需要舆情风险评估,但缺少风险评估",
        "en": "a public-opinion risk assessment is flagged as needed but missing",
    },
    "missing_response_plan": {
        "zh": "已标记需要舆情风险评估,但缺少应对处置预案",
        "en": "a risk assessment is flagged as needed but the response plan is missing",
    },
    "missing_signers": {"zh": "未指定审签人", "en": "no signers are named"},
    # separation of duties and the installation's signer rule (states/signoff.py)
    "signer_role_missing": {
        "zh": "{login} 没有审签人或局领导角色,不能审签",
        "en": "{login} holds neither the signer nor the leader role and may not sign",
    },
    "signer_is_creator": {
        "zh": "{login} 是本文件的起草人,不能审签自己准备的材料",
        "en": "{login} created this document and may not sign the package they prepared",
    },
    "signer_is_interpreter": {
        "zh": "{login} 是本文件的解读人,不能审签自己准备的材料",
        "en": "{login} is the interpreter of this document and may not sign the package they prepared",
    },
    "signer_is_editor": {
        "zh": "{login} 在上一轮审签后修改过正文、解读方案或解读材料,不能审签",
        "en": "{login} changed the text, plan or materials since the last sign-off round and may not sign",
    },
    "unit_has_no_head": {
        "zh": "起草处室 {unit} 未设处室负责人,无法满足审签规则",
        "en": "the drafting unit {unit} has no head on record, which the signer rule requires",
    },
    "missing_unit_head_signer": {
        "zh": "审签人中缺少起草处室负责人 {login}",
        "en": "the drafting unit's head {login} must be among the signers",
    },
    "missing_leader_signer": {
        "zh": "审签人中至少需要一位局领导",
        "en": "at least one bureau leader (局领导) must be among the signers",
    },
    "missing_legality_signer": {
        "zh": "已标记需要舆情风险评估,审签人中需要合法性审查处室 {unit} 的审签人",
        "en": "a risk assessment is flagged: a signer from the legality unit {unit} (政法处) must be among the signers",
    },
    # joint_signoff → published
    "unsigned": {
        "zh": "以下审签人尚未签署当前版本: {logins}",
        "en": "these signers have not signed the current package: {logins}",
    },
    "not_disclosed": {
        "zh": "该文件公开属性为不予公开,不能公开发布",
        "en": "the document is marked not to be disclosed and can never be published",
    },
    "not_undisclosed": {
        "zh": "只有不予公开的文件才能不公开归档",
        "en": "only documents marked not to be disclosed can be filed without publication",
    },
    "missing_publication_url": {"zh": "缺少公开发布网址", "en": "the publication URL is missing"},
    "missing_publication_time": {"zh": "缺少公开发布时间", "en": "the publication time is missing"},
    "publication_in_future": {
        "zh": "公开时间 {at} 晚于当前时间",
        "en": "the publication time {at} lies in the future",
    },
    "publication_backdated": {
        "zh": "公开时间 {at} 早于当前时间超过 {hours} 小时:如确系补录,请明确标注为补录"
        '(命令行 --backdated;接口 "backdated": true;页面勾选“确系补录”)',
        "en": "the publication time {at} is more than {hours} hours in the past: if it really is, say it is "
        'backdated (CLI --backdated; API "backdated": true; the page\'s checkbox)',
    },
    # claims and confirmations (states/claims.py)
    "not_supervisor": {
        "zh": "{login} 不是监督人员,不能确认补录时间",
        "en": "{login} is not a supervisor and may not confirm a claimed time",
    },
    "confirmer_in_unit": {
        "zh": "{login} 是起草处室 {unit} 的成员,不能确认本处室的记录",
        "en": "{login} is a member of the drafting unit {unit} and may not vouch for its own record",
    },
    "no_claim_waiting": {
        "zh": "{what} 没有待确认的补录时间",
        "en": "there is no claimed time awaiting confirmation for {what}",
    },
    "correction_needs_supervisor": {
        "zh": "该更正对起草处室有利(更早的解读发布或更晚的公开时间),须由起草处室以外的监督人员办理",
        "en": "this correction favours the drafting unit (an earlier posting or a later publication): "
        "only a supervisor outside the unit may make it",
    },
    "not_corrector": {
        "zh": "{login} 既不是起草处室成员,也不是监督人员,不能更正",
        "en": "{login} is neither a member of the drafting unit nor a supervisor and may not correct the record",
    },
    "nothing_corrected": {"zh": "更正内容与原记录相同", "en": "the correction changes nothing"},
    "no_such_posting": {"zh": "没有 {channel} 的解读发布记录", "en": "there is no {channel} posting"},
    # published → interpretation_posted
    "missing_portal_posting": {
        "zh": "解读材料尚未在门户网站发布",
        "en": "the interpretation has not been posted on the portal website",
    },
    "missing_media_posting": {
        "zh": "解读材料尚未在新闻媒体发布",
        "en": "the interpretation has not been posted in the news media",
    },
    # side paths
    "missing_reason": {"zh": "必须说明理由", "en": "a reason is required"},
    "wrong_state": {
        "zh": "当前状态为「{state}」,不能执行「{trigger}」",
        "en": "'{trigger}' is not possible while the document is {state}",
    },
    "unknown_trigger": {"zh": "未知操作「{trigger}」", "en": "unknown trigger '{trigger}'"},
    # permissions
    "not_member": {
        "zh": "{login} 不是起草处室 {unit} 的成员",
        "en": "{login} is not a member of the drafting unit {unit}",
    },
    "not_signer": {
        "zh": "{login} 不是本文件的审签人",
        "en": "{login} is not named as a signer of this document",
    },
    "already_signed": {
        "zh": "{login} 已签署当前版本",
        "en": "{login} has already signed the current package",
    },
    "not_reader": {"zh": "{login} 无权查看本文件", "en": "{login} may not read this document"},
    "not_admin": {"zh": "{login} 不是管理员", "en": "{login} is not an administrator"},
    "not_auditor": {
        "zh": "{login} 不是监督或审计人员",
        "en": "{login} is neither a supervisor nor an auditor",
    },
    "inactive_user": {"zh": "用户 {login} 已停用", "en": "user {login} is deactivated"},
    "frozen": {
        "zh": "文件处于「{state}」状态,内容不能再修改",
        "en": "the document is {state}; its content can no longer be changed",
    },
    "audit_key_missing": {
        "zh": "审计记录已用密钥计算哈希,本进程却没有密钥:请设置 SANTONGBU_AUDIT_KEY_FILE 后再试(未写入任何内容)",
        "en": "the audit trail is keyed but this process has no key: set SANTONGBU_AUDIT_KEY_FILE "
        "and try again (nothing was written)",
    },
    # the one figure of working days overdue (states.deadline.working_days_overdue), in words
    "overdue_under_one": {"zh": "逾期不满 1 个工作日", "en": "late by less than 1 working day"},
    "overdue_one": {"zh": "逾期满 1 个工作日", "en": "1 working day overdue"},
    "overdue_days": {"zh": "逾期满 {n} 个工作日", "en": "{n} working days overdue"},
    # instants typed by people (states/instants.py)
    "instant_unreadable": {
        "zh": "{what}:“{value}”不是 ISO 8601 日期或时间(例如 2024-02-09T10:30+08:00)",
        "en": "{what}: '{value}' is not an ISO 8601 date or date-time (e.g. 2024-02-09T10:30+08:00)",
    },
    "instant_out_of_range": {
        "zh": "{what} {value} 不在 2000 年至 2200 年之间,请检查是否输入有误",
        "en": "{what} {value} is not between the years 2000 and 2200: check for a typing mistake",
    },
    # refusals of what people give (states/text.py, documents/validation.py)
    "text_too_large": {
        "zh": "{field} 超过 {limit} 的上限(SANTONGBU_MAX_TEXT_BYTES),未保存",
        "en": "{field} is larger than the limit of {limit} (SANTONGBU_MAX_TEXT_BYTES); nothing was saved",
    },
    "file_not_text": {
        "zh": "{what}:{file} 不是文本文件(看起来是 {kind} 文件),请提供 UTF-8 编码的文本文件",
        "en": "{what}: {file} is not a text file (it looks like a {kind} file); give a UTF-8 text file",
    },
    "file_not_utf8": {
        "zh": "{what}:{file} 不是 UTF-8 编码的文本,请另存为 UTF-8 后再试",
        "en": "{what}: {file} is not UTF-8 text; save it as UTF-8 and try again",
    },
    "file_unreadable": {"zh": "{what}:无法读取 {file}", "en": "{what}: cannot read {file}"},
    "duplicate_number": {
        "zh": "文号 {number} 已被文件 {id} 使用;如确需重复,请加 --allow-duplicate-number"
        '(接口 "allow_duplicate_number": true)',
        "en": "the document number {number} is already used by document {id}; if a second one is "
        'really meant, add --allow-duplicate-number (API "allow_duplicate_number": true)',
    },
    "nothing_changed": {
        "zh": "文件 {id}:内容与当前相同,未作修改(版本 {version})",
        "en": "document {id}: nothing changed, nothing was written (version {version})",
    },
    # lookups and input
    "no_such_user": {"zh": "没有用户 {login}", "en": "no user {login}"},
    "no_such_unit": {"zh": "没有处室 {code}", "en": "no unit {code}"},
    "no_such_document": {"zh": "没有编号为 {id} 的文件", "en": "no document with id {id}"},
    "no_such_material": {"zh": "没有编号为 {id} 的解读材料", "en": "no material with id {id}"},
    "invalid": {"zh": "{field} 无效: {problem}", "en": "{field} is invalid: {problem}"},
    "duplicate": {"zh": "{what} {value} 已存在", "en": "{what} {value} already exists"},
    "changed_meanwhile": {
        "zh": "文件已被他人修改,请重新载入后再试",
        "en": "the document was changed meanwhile; reload it and try again",
    },
    "throttled": {
        "zh": "失败次数过多,请 {seconds} 秒后再试",
        "en": "too many failed attempts; try again in {seconds} s",
    },
    "control_characters": {
        "zh": "{field} 含有控制字符(如 NUL),不能保存",
        "en": "{field} contains control characters (such as NUL) that cannot be stored",
    },
}
MESSAGES.update(EVIDENCE_MESSAGES)  # evidence of postings (states/evidence.py)


def state_name(state: str, lang: str = "zh") -> str:
    """A state's label from :mod:`states.catalogue`."""
    return label("state", state, lang)


def trigger_name(trigger: str, lang: str = "zh") -> str:
    """A trigger's label from :mod:`states.catalogue`."""
    return label("trigger", trigger, lang)


@dataclass(frozen=True)
class Reason:
    """One reason for a refusal; ``params`` fill the message template."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh") -> str:
        template = MESSAGES.get(self.code, {}).get(lang) or MESSAGES.get(self.code, {}).get("en")
        if template is None:
            return self.code
        params = dict(self.params)
        if "state" in params:
            params["state"] = state_name(str(params["state"]), lang)
        if "trigger" in params:
            params["trigger"] = trigger_name(str(params["trigger"]), lang)
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params), "message": self.text(lang)}


def render(reasons: Iterable[Reason], lang: str = "zh") -> str:
    """All reasons in one line, the way a clerk reads them."""
    sep = ";" if lang == "zh" else "; "
    return sep.join(r.text(lang) for r in reasons)
