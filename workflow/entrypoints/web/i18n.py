"""The pages' own words, in Chinese (the default) and English.

The names of codes (states, triggers, levels, channels, forms, disclosure attributes, statuses,
audit actions, roles) come from the one catalogue, :mod:`states.catalogue`, and refusal reasons
from :mod:`states.reasons`, so a state is called the same on a page, in an email and in a CSV.
A missing key shows the key itself, which a test would notice.
"""

from __future__ import annotations

from typing import Any

from states import catalogue
from states.reasons import Reason

LANGS = catalogue.LANGS

REPORT_LABELS = {
    "overdue": ("逾期未发布", "Overdue"),
    "late": ("逾期发布", "Posted late"),
    "on-time": ("按时率", "On-time rate"),
    "ledger": ("台账", "Ledger"),
    "year-end": ("年度报告", "Year-end report"),
}

T: dict[str, tuple[str, str]] = {
    "app": ("三同步 · 政策解读", "Santongbu · policy interpretation"),
    "skip": ("跳到正文", "Skip to content"),
    "nav.documents": ("本处室文件", "My unit's documents"),
    "nav.all_documents": ("全部文件", "All documents"),
    "nav.signing": ("待我审签", "Waiting for my signature"),
    "nav.dashboard": ("督查看板", "Supervision"),
    "nav.reports": ("报表", "Reports"),
    "nav.units": ("处室", "Units"),
    # material files
    "file.open": ("在浏览器中打开", "Open in the browser"),
    "file.download": ("下载", "Download"),
    "file.choose": (
        "或上传文件(图解、视频、PDF、DOCX、XLSX、PPTX)",
        "Or upload a file (graphic, video, PDF, DOCX, XLSX, PPTX)",
    ),
    "file.limits": (
        "选择文件时不填材料内容和链接;类型按文件内容识别;视频不超过 {video} MB,其他不超过 {other} MB。",
        "With a file, leave the text and link empty; the type is read from the content; videos up "
        "to {video} MB, other files up to {other} MB.",
    ),
    "err.text_or_file": (
        "一份材料是文字或链接,或是一个文件,不能两者兼有",
        "a material is text or a link, or a file, not both",
    ),
    # search
    "search.label": ("搜索文件", "Search documents"),
    "search.placeholder": ("标题、文号、正文、解读方案", "title, number, text, plan"),
    "search.submit": ("搜索", "Search"),
    "search.title": ("搜索", "Search"),
    "search.state": ("状态", "State"),
    "search.any_state": ("全部状态", "any state"),
    "search.unit": ("处室代码", "Unit code"),
    "search.period": ("期间(如 2024、2024-Q1)", "Period (e.g. 2024, 2024-Q1)"),
    "search.none": ("没有找到符合条件的文件。", "No document matches."),
    "search.short": (
        "词少于三个字,只搜索了标题和文号。",
        "Words under three characters: only titles and numbers were searched.",
    ),
    "search.matched": ("命中", "Found in"),
    "search.more": ("更早的结果", "Older results"),
    "search.field.title": ("标题", "title"),
    "search.field.doc_number": ("文号", "number"),
    "search.field.body": ("正文", "text"),
    "search.field.plan": ("解读方案", "plan"),
    # units (administrators change them)
    "units.title": ("处室与群机器人", "Units and group robots"),
    "units.key": (
        "密钥末四位(完整密钥加密保存,不显示)",
        "last characters of the key (stored encrypted, never shown)",
    ),
    "units.code": ("代码", "Code"),
    "units.name": ("名称", "Name"),
    "units.kind": ("类别", "Kind"),
    "units.kind.drafting": ("起草处室", "drafting"),
    "units.kind.supervising": ("督查处室", "supervising"),
    "units.kind.leadership": ("局领导", "leadership"),
    "units.mailbox": ("处室邮箱", "Mailbox"),
    "units.head": ("负责人(用户名)", "Head (login)"),
    "units.robots": ("群机器人", "Group robots"),
    "units.wecom": ("企业微信机器人", "WeCom robot"),
    "units.dingtalk": ("钉钉机器人", "DingTalk robot"),
    "units.webhook": ("Webhook 地址(留空不变)", "Webhook URL (blank: unchanged)"),
    "units.secret": ("加签密钥 SEC…(留空不变)", "Signing secret SEC… (blank: unchanged)"),
    "units.events": ("推送事件(逗号分隔,留空为全部)", "Events (comma-separated; blank: all)"),
    "units.remove": ("移除该机器人", "Remove this robot"),
    "units.none": ("未设置", "not set"),
    "units.all": ("全部事件", "every event"),
    "units.signed": ("已加签", "signed"),
    "units.save": ("保存", "Save"),
    "units.changed": (
        "已保存 {code}。下一封邮件和机器人消息即按新设置发送。",
        "{code} saved. The next email and robot message follow the new settings.",
    ),
    "units.hint": (
        "Webhook 与密钥保存后不再显示,也不写入审计记录。",
        "Webhooks and secrets are never shown again once saved, nor written to the audit trail.",
    ),
    "nav.sign_out": ("退出", "Sign out"),
    "nav.lang": ("English", "中文"),
    "signed_in_as": ("当前用户", "Signed in as"),
    # sign-in
    "login.title": ("登录", "Sign in"),
    "login.login": ("用户名", "Login"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.failed": ("用户名或密码不正确。", "Wrong login or password."),
    "login.wait": (
        "失败次数过多,请 {seconds} 秒后再试。",
        "Too many failed attempts: try again in {seconds} s.",
    ),
    "login.hint": (
        "没有密码?请管理员执行 santongbu user password 您的用户名。",
        "No password yet? Ask an administrator to run: santongbu user password YOUR-LOGIN.",
    ),
    "login.https": (
        "本站未使用 HTTPS:浏览器不会保存登录状态。请通过 HTTPS 或本机地址访问。",
        "This page is not served over HTTPS: the browser will not keep you signed in. Use HTTPS or a loopback address.",
    ),
    "signed_out": ("已退出。", "You have signed out."),
    # lists
    "docs.title": ("{unit} 的文件", "Documents of {unit}"),
    "docs.all_title": ("全部文件", "All documents"),
    "docs.new": ("新建文件", "New document"),
    "docs.none": ("暂无文件。", "No documents."),
    "docs.show_closed": ("显示已办结", "Show closed"),
    "docs.hide_closed": ("只看在办", "Open only"),
    "docs.unit_filter": ("处室", "Unit"),
    "docs.all_units": ("全部处室", "All units"),
    "docs.filter": ("筛选", "Filter"),
    "col.id": ("编号", "No."),
    "col.title": ("标题", "Title"),
    "col.number": ("文号", "Number"),
    "col.unit": ("处室", "Unit"),
    "col.state": ("状态", "State"),
    "col.next": ("下一步还缺", "Still missing for the next step"),
    "col.deadline": ("解读期限", "Interpretation deadline"),
    "col.level": ("督办级别", "Escalation"),
    "col.overdue_days": ("逾期工作日", "Working days overdue"),
    "col.missing_channels": ("未发布渠道", "Still missing"),
    "col.due": ("截止日期", "Due"),
    "col.fired_at": ("时间", "When"),
    "col.rate": ("按时率", "On-time rate"),
    "col.count": ("数量", "Count"),
    "col.signers": ("审签人", "Signers"),
    "next.ready": ("可以「{trigger}」", "ready to {trigger}"),
    "next.done": ("已办结", "closed"),
    # deadlines
    "due.left": ("剩 {n} 个工作日", "{n} working days left"),
    "due.left1": ("剩 1 个工作日", "1 working day left"),
    "due.today": ("今天到期", "due today"),
    "due.until": ("截止 {date}", "due {date}"),
    "due.provisional": ("暂定", "provisional"),
    "due.provisional_help": (
        "该年度放假安排尚未公布,期限为暂定。",
        "This year's holiday schedule is not out yet: the deadline is provisional.",
    ),
    "due.posted_on_time": ("按时发布(用时 {n} 个工作日)", "posted on time ({n} working days)"),
    "due.posted_late": ("逾期发布({what})", "posted late ({what})"),
    "due.none": ("公开后计算", "counted from publication"),
    # document page
    "doc.state": ("状态", "State"),
    "doc.unit": ("起草处室", "Drafting unit"),
    "doc.version": ("版本", "Version"),
    "doc.next": ("下一步", "Next step"),
    "doc.missing": ("还缺:", "Still missing:"),
    "doc.ready": ("条件已满足。", "Everything needed is there."),
    "doc.package": ("审签包:正文、解读方案与解读材料", "The package: text, plan and materials"),
    "doc.text": ("政策文件", "Policy text"),
    "doc.plan": ("解读方案", "Interpretation plan"),
    "doc.materials": ("解读材料", "Interpretation materials"),
    "doc.no_materials": ("尚无解读材料。", "No materials yet."),
    "doc.signers": ("审签", "Sign-off"),
    "doc.no_signers": ("尚未指定审签人。", "No signers named yet."),
    "doc.signed": ("已签署", "signed"),
    "doc.not_signed": ("未签署", "not signed"),
    "doc.publication": ("公开与解读发布", "Publication and interpretation"),
    "doc.published_at": ("公开时间", "Published"),
    "doc.publication_url": ("公开网址", "Publication URL"),
    "doc.postings": ("解读发布记录", "Postings"),
    "doc.claim_waiting": (
        "(补录时间,{recorded} 登记,待监督人员确认,暂按登记时间计)",
        "(claimed; recorded {recorded}: awaiting a supervisor's confirmation, counts as recorded)",
    ),
    "doc.claim_confirmed": ("(补录时间已由 {who} 确认)", "(claimed time confirmed by {who})"),
    "doc.claims_waiting": (
        "有 {n} 项补录时间待监督人员确认;确认前按登记时间计算是否按时。",
        "{n} claimed time(s) await a supervisor's confirmation; until then they count as recorded.",
    ),
    "doc.corrections": ("更正记录", "Corrections"),
    "tl.via": ("经{channel}", "via {channel}"),
    "tl.clock_override": ("时钟为指定时间,实际时间 {at}", "clock set by hand; real time {at}"),
    "doc.correct": ("更正公开或解读发布记录", "Correct the publication or a posting"),
    "doc.correct_help": (
        "只填写需要更正的项;原值保留在办理记录中。更早的解读发布时间或更晚的公开时间须由监督人员更正。",
        (
            "Fill in only what is wrong; the original stays in the timeline. An earlier posting or a "
            "later publication is a supervisor's correction."
        ),
    ),
    "doc.before": ("原", "before"),
    "doc.after": ("改为", "after"),
    "doc.no_postings": ("尚无解读发布记录。", "No postings yet."),
    "doc.timeline": ("办理记录", "Timeline"),
    "doc.closed_reason": ("理由", "Reason"),
    "doc.package_hash": ("审签包指纹", "Package fingerprint"),
    "doc.read_only": (
        "您可以查看本文件;修改与推进由起草处室办理。",
        "You may read this document; its drafting unit edits and advances it.",
    ),
    "doc.edit_package": ("修改审签包(已有签字将作废)", "Change the package (signatures so far become void)"),
    "doc.back": ("返回列表", "Back to the list"),
    # fields
    "f.title": ("标题", "Title"),
    "f.doc_number": ("文号或暂定名称", "Document number or working title"),
    "f.allow_duplicate": (
        "文号与其他文件相同,确系有意(如重新印发)",
        "This number is another document's too, on purpose (a reissue, say)",
    ),
    "f.body": ("正文", "Text"),
    "f.disclosure": ("公开属性", "Disclosure"),
    "f.undecided": ("未审核", "not reviewed"),
    "f.risk": ("是否需要舆情风险评估", "Public-opinion risk assessment needed"),
    "f.yes": ("需要", "yes"),
    "f.no": ("不需要", "no"),
    "f.risk_assessment": ("舆情风险评估", "Risk assessment"),
    "f.response_plan": ("应对处置预案", "Response plan"),
    "f.plan": ("解读方案", "Interpretation plan"),
    "f.interpreter": ("解读人(谁起草谁解读)", "Interpreter (whoever drafts interprets)"),
    "f.none": ("(未指定)", "(none)"),
    "f.form": ("形式", "Form"),
    "f.material_title": ("材料标题", "Material title"),
    "f.material_body": ("材料内容", "Material text"),
    "f.uri": ("链接(可选)", "Link (optional)"),
    "f.signers": ("审签人", "Signers"),
    "f.publication_url": ("公开网址", "Publication URL"),
    "f.published_at": ("公开时间(留空为现在)", "Published at (empty: now)"),
    "f.reason": ("理由", "Reason"),
    "f.backdated": (
        "公开时间早于现在 24 小时以上,确系补录(需监督人员确认)",
        "The publication time lies more than 24 hours back: it really was (a supervisor confirms it)",
    ),
    "f.what": ("待确认项", "What is confirmed"),
    "f.correct_at": ("更正后的时间(北京时间)", "The right time (Beijing time)"),
    "f.correct_url": ("更正后的 URL", "The right URL"),
    "f.correct_outlet": ("更正后的媒体", "The right outlet"),
    "f.correct_evidence": ("更正后的佐证", "The right evidence"),
    "f.correct_what": ("更正项", "What is corrected"),
    "f.correct_reason": ("更正理由", "Why it is corrected"),
    "f.confirm_reason": ("确认理由", "Why the claimed time is right"),
    "f.reject_to": ("退回到", "Send back to"),
    "f.channel": ("渠道", "Channel"),
    "f.outlet": ("媒体名称", "Outlet"),
    "f.url": ("网址", "URL"),
    "f.evidence": ("佐证(无网址时必填)", "Evidence (if there is no URL)"),
    "f.posted_at": ("发布时间(留空为现在)", "Posted at (empty: now)"),
    "f.time_help": ("北京时间,格式 2024-02-09 10:30", "Beijing time, e.g. 2024-02-09 10:30"),
    # buttons
    "b.save_text": ("保存正文与属性", "Save text and attributes"),
    "b.save_plan": ("保存解读方案", "Save the plan"),
    "b.add_material": ("添加解读材料", "Attach material"),
    "b.remove": ("删除", "Remove"),
    "b.save_signers": ("保存审签人", "Save signers"),
    "b.sign": ("签署审签包", "Sign the package"),
    "b.reject": ("退回", "Send back"),
    "b.record_posting": ("登记解读发布", "Record posting"),
    "b.confirm": ("确认补录时间", "Confirm the claimed time"),
    "b.correct": ("更正", "Correct"),
    "b.create": ("创建草稿", "Create draft"),
    "b.download_csv": ("下载 CSV", "Download CSV"),
    "b.download_xlsx": ("下载 Excel", "Download Excel"),
    "b.show": ("显示", "Show"),
    "b.open": ("打开", "Open"),
    # signing
    "sign.title": ("待我审签", "Waiting for my signature"),
    "sign.none": ("没有等待您签署的审签包。", "Nothing is waiting for your signature."),
    "sign.intro": (
        "请对照阅读正文、解读方案和解读材料,作为一个整体签署或退回。",
        "Read the text, plan and materials side by side; sign them as one package, or send them back.",
    ),
    "sign.you_signed": ("您已签署当前版本。", "You have signed the current package."),
    "sign.reject_plan": ("解读方案(修改方案或材料)", "interpretation plan (change plan or materials)"),
    "sign.reject_draft": ("起草(修改正文)", "draft (change the text)"),
    "sign.waiting_for": ("尚待签署:{logins}", "Still to sign: {logins}"),
    # dashboard
    "dash.claims": ("待确认的补录时间", "Claimed times awaiting confirmation"),
    "dash.claims_none": ("没有待确认的补录时间。", "No claimed time awaits confirmation."),
    "dash.claim_line": ("声称 {claimed},登记于 {recorded}", "claimed {claimed}, recorded {recorded}"),
    "dash.title": ("督查看板", "Supervision dashboard"),
    "dash.as_of": ("截至 {at}", "as of {at}"),
    "dash.overdue": ("当前逾期未发布解读", "Overdue now"),
    "dash.overdue_none": ("没有逾期的文件。", "Nothing is overdue."),
    "dash.due_soon": ("下一个工作日内到期", "Due by the next working day"),
    "dash.due_soon_none": ("下一个工作日内没有到期的文件。", "Nothing falls due by the next working day."),
    "dash.escalations": ("最近督办", "Recent escalations"),
    "dash.escalations_none": ("尚无督办记录。", "No escalations yet."),
    "dash.rates": ("{year} 年各处室解读按时率", "On-time rate per unit, {year}"),
    "dash.rates_none": ("本年度尚无已到期的文件。", "No decided documents this year yet."),
    "dash.rates_help": (
        "按时率 = 按时发布 ÷ (按时 + 逾期发布 + 已逾期未发布);期限内的文件不计。",
        "On-time rate = on time ÷ (on time + late + overdue); documents still within their deadline do not count.",
    ),
    "dash.lifecycle": ("办理流程与各状态文件数", "The lifecycle, with the documents in each state"),
    "dash.mermaid": ("Mermaid 源码", "Mermaid source"),
    "dash.timeline": ("查看任一文件的办理记录", "Any document's timeline"),
    "dash.doc_id": ("文件编号", "Document no."),
    "dash.reports": ("下载报表(CSV)", "Download reports (CSV)"),
    # reports
    "rep.title": ("报表", "Reports"),
    "rep.report": ("报表", "Report"),
    "rep.period": ("期间(如 2024、2024-Q1、2024-03)", "Period (e.g. 2024, 2024-Q1, 2024-03)"),
    "rep.unit": ("处室(可选)", "Unit (optional)"),
    "rep.none": ("(无)", "(none)"),
    # timeline
    "tl.title": ("办理记录:{title}", "Timeline: {title}"),
    "tl.at": ("时间", "When"),
    "tl.actor": ("操作人", "Who"),
    "tl.action": ("操作", "Action"),
    "tl.outcome": ("结果", "Outcome"),
    "tl.states": ("状态变化", "State"),
    "tl.details": ("详情", "Details"),
    "tl.allowed": ("完成", "done"),
    "tl.refused": ("被拒绝", "refused"),
    # outcomes of actions (flash messages after a redirect)
    "done.create": ("草稿已创建。", "Draft created."),
    "done.edit": ("已保存。", "Saved."),
    "done.nothing": ("没有修改。", "Nothing changed."),
    "done.attach_material": ("解读材料已添加。", "Material attached."),
    "done.remove_material": ("解读材料已删除。", "Material removed."),
    "done.set_signers": ("审签人已保存。", "Signers saved."),
    "done.sign": ("已签署。", "Signed."),
    "done.reject": ("已退回。", "Sent back."),
    "done.fire": ("已完成:{trigger}。", "Done: {trigger}."),
    "done.record_posting": ("解读发布已登记。", "Posting recorded."),
    "done.confirm": (
        "补录时间已确认,是否按时已重新计算。",
        "Claimed time confirmed; on time or late recomputed.",
    ),
    "done.correct": ("已更正,原值保留在办理记录中。", "Corrected; the original values stay in the timeline."),
    "done.posted": (
        "解读已在门户网站和新闻媒体发布,文件办结。",
        "The interpretation is out on the portal and in the news media: the document is closed.",
    ),
    "done.voided": ("审签包已改变,此前的签字作废。", "The package changed: earlier signatures are void."),
    # evidence of postings (docs/evidence.md)
    "ev.label": ("网页核验", "Page check"),
    "ev.policy_page": ("政策文件页面", "Policy page"),
    "ev.view": ("查看留存网页", "View the kept page"),
    "ev.download": ("下载 WARC", "Download WARC"),
    "ev.changed": ("页面已变化", "page changed"),
    "ev.disappeared": ("页面已消失", "page gone"),
    "ev.page_date": ("页面日期", "page date"),
    "ev.kept_note": (
        "留存时间 {at};脚本和外部资源均已禁用。",
        "Kept {at}; scripts and outside resources are disabled.",
    ),
    "dash.unverified": ("网页未核验通过的解读发布", "Postings without verified evidence"),
    "dash.unverified_none": ("所有登记的解读网页均已核验通过。", "Every recorded posting page is verified."),
    "dash.unverified_more": ("另有 {n} 条未显示。", "{n} more not shown."),
    "col.channel": ("渠道", "Channel"),
    "col.evidence": ("核验", "Evidence"),
    # errors
    "err.title": ("无法完成", "Not possible"),
    "err.403": ("您无权查看或办理此项。", "You may not see or do this."),
    "err.404": ("没有找到。", "Not found."),
    "err.csrf": (
        "表单已失效(缺少或错误的安全令牌)。请返回、刷新页面后重试。",
        "The form has expired (missing or wrong security token). Go back, reload the page and try again.",
    ),
    "err.invalid": ("输入有误。", "Some input is invalid."),
    "err.time": ("时间格式应为 2024-02-09 10:30", "write the time as 2024-02-09 10:30"),
    "err.secret": (
        "网页服务未配置会话密钥,请管理员设置 SANTONGBU_SECRET_KEY。",
        "The pages have no session key: an administrator must set SANTONGBU_SECRET_KEY.",
    ),
    "err.home": ("返回首页", "Home"),
}


def t(key: str, lang: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in."""
    pair = T.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "zh" else pair[1]
    return text.format(**params) if params else text


def labels_for(lang: str) -> dict[str, Any]:
    """Helpers handed to every template."""

    def of(kind: str) -> Any:
        return lambda code: catalogue.label(kind, code, lang)

    return {
        "t": lambda key, **p: t(key, lang, **p),
        "state_name": of("state"),
        "trigger_name": of("trigger"),
        "form_label": of("form"),
        "channel_label": of("channel"),
        "level_label": of("level"),
        "status_label": of("status"),
        "evidence_label": of("evidence"),
        "disclosure_label": of("disclosure"),
        "role_label": of("role"),
        "report_label": lambda c: "" if c is None else _pair(REPORT_LABELS.get(c), c, lang),
        "reason_text": lambda r: _reason_text(r, lang),
        "action_label": of("action"),
    }


def _pair(pair: tuple[str, str] | None, code: str, lang: str) -> str:
    return (pair[0] if lang == "zh" else pair[1]) if pair else code


def _reason_text(stored: Any, lang: str) -> str:
    """A refusal reason as the audit trail stores it (code, params) in the page's language."""
    if not isinstance(stored, dict) or not isinstance(stored.get("code"), str):
        return str(stored)
    params = stored.get("params")
    return Reason(stored["code"], params if isinstance(params, dict) else {}).text(lang)
