"""The pages' own words, in Chinese (the default) and English.

Each key names one sentence, written here once in English and marked for the one gettext
catalogue (:mod:`states.i18n`); its Chinese is the catalogue's ``msgstr``. A word already in the
catalogue is the same entry (``title`` is 标题 on a page and in a refusal). Where one English word
means two things in Chinese, :func:`~states.i18n.pgettext` gives it a context (``f.yes``: 需要,
not the catalogue's 是). Templates call ``t('key', name=value)``.

The names of codes (states, triggers, levels, channels, forms, disclosure attributes, statuses,
audit actions, roles) come from the one catalogue, :mod:`states.catalogue`, and refusal reasons
from :mod:`states.reasons`, so a state is called the same on a page, in an email and in a CSV.
A missing key shows the key itself, which a test would notice.
"""

from __future__ import annotations

from typing import Any

from states import catalogue
from states.i18n import Text, _, gettext, pgettext
from states.reasons import Reason

LANGS = catalogue.LANGS
# The switch to the other language names it in itself (an endonym), so it is not translated.
OTHER_LANGUAGE = {"zh": "English", "en": "中文"}

REPORT_LABELS: dict[str, Text] = {
    "overdue": _("Overdue"),
    "late": _("Posted late"),
    "on-time": _("On-time rate"),
    "ledger": _("Ledger"),
    "year-end": _("Year-end report"),
}

T: dict[str, Text] = {
    "app": _("Santongbu · policy interpretation"),
    "skip": _("Skip to content"),
    "nav.documents": _("My unit's documents"),
    "nav.all_documents": _("All documents"),
    "nav.signing": _("Waiting for my signature"),
    "nav.dashboard": _("Supervision"),
    "nav.reports": _("Reports"),
    "nav.units": _("Units"),
    # material files
    "file.open": _("Open in the browser"),
    "file.download": _("Download"),
    "file.choose": _("Or upload a file (graphic, video, PDF, DOCX, XLSX, PPTX)"),
    "file.limits": _(
        "With a file, leave the text and link empty; the type is read from the content; videos up "
        "to {video} MB, other files up to {other} MB."
    ),
    "err.text_or_file": _("a material is text or a link, or a file, not both"),
    # search
    "search.label": _("Search documents"),
    "search.placeholder": _("title, number, text, plan"),
    "search.submit": _("Search"),
    "search.title": _("Search"),
    "search.state": _("State"),
    "search.any_state": _("any state"),
    "search.unit": _("Unit code"),
    "search.period": _("Period (e.g. 2024, 2024-Q1)"),
    "search.none": _("No document matches."),
    "search.short": _("Words under three characters: only titles and numbers were searched."),
    "search.matched": _("Found in"),
    "search.more": _("Older results"),
    "search.field.title": _("title"),
    "search.field.doc_number": _("number"),
    "search.field.body": _("text"),
    "search.field.plan": _("plan"),
    # units (administrators change them)
    "units.title": _("Units and group robots"),
    "units.key": _("last characters of the key (stored encrypted, never shown)"),
    "units.code": _("Code"),
    "units.name": _("Name"),
    "units.kind": _("Kind"),
    "units.kind.drafting": _("drafting"),
    "units.kind.supervising": _("supervising"),
    "units.kind.leadership": _("leadership"),
    "units.mailbox": _("Mailbox"),
    "units.head": _("Head (login)"),
    "units.robots": _("Group robots"),
    "units.wecom": _("WeCom robot"),
    "units.dingtalk": _("DingTalk robot"),
    "units.webhook": _("Webhook URL (blank: unchanged)"),
    "units.secret": _("Signing secret SEC… (blank: unchanged)"),
    "units.events": _("Events (comma-separated; blank: all)"),
    "units.remove": _("Remove this robot"),
    "units.none": _("not set"),
    "units.all": _("every event"),
    "units.signed": pgettext("group robot", "signed"),
    "units.save": _("Save"),
    "units.changed": _("{code} saved. The next email and robot message follow the new settings."),
    "units.hint": _("Webhooks and secrets are never shown again once saved, nor written to the audit trail."),
    "nav.sign_out": _("Sign out"),
    "signed_in_as": _("Signed in as"),
    # sign-in
    "login.title": _("Sign in"),
    "login.login": _("Login"),
    "login.password": _("Password"),
    "login.submit": _("Sign in"),
    "login.failed": _("Wrong login or password."),
    "login.wait": _("Too many failed attempts: try again in {seconds} s."),
    "login.hint": _("No password yet? Ask an administrator to run: santongbu user password YOUR-LOGIN."),
    "login.https": _(
        "This page is not served over HTTPS: the browser will not keep you signed in. Use HTTPS or a loopback address."
    ),
    "signed_out": _("You have signed out."),
    # lists
    "docs.title": _("Documents of {unit}"),
    "docs.all_title": _("All documents"),
    "docs.new": _("New document"),
    "docs.none": _("No documents."),
    "docs.show_closed": _("Show closed"),
    "docs.hide_closed": _("Open only"),
    "docs.unit_filter": _("Unit"),
    "docs.all_units": _("All units"),
    "docs.filter": _("Filter"),
    "col.id": pgettext("document id", "No."),
    "col.title": _("Title"),
    "col.number": _("Number"),
    "col.unit": _("Unit"),
    "col.state": _("State"),
    "col.next": _("Still missing for the next step"),
    "col.deadline": _("Interpretation deadline"),
    "col.level": _("Escalation"),
    "col.overdue_days": _("Working days overdue"),
    "col.missing_channels": _("Still missing"),
    "col.due": _("Due"),
    "col.fired_at": _("When"),
    "col.rate": _("On-time rate"),
    "col.count": _("Count"),
    "col.signers": _("Signers"),
    "next.ready": _("ready to {trigger}"),
    "next.done": _("closed"),
    # deadlines
    "due.left": _("{n} working days left"),
    "due.left1": _("1 working day left"),
    "due.today": _("due today"),
    "due.until": _("due {date}"),
    "due.provisional": _("provisional"),
    "due.provisional_help": _("This year's holiday schedule is not out yet: the deadline is provisional."),
    "due.posted_on_time": _("posted on time ({n} working days)"),
    "due.posted_late": _("posted late ({what})"),
    "due.none": _("counted from publication"),
    # document page
    "doc.state": _("State"),
    "doc.unit": _("Drafting unit"),
    "doc.version": _("Version"),
    "doc.next": _("Next step"),
    "doc.missing": _("Still missing:"),
    "doc.ready": _("Everything needed is there."),
    "doc.package": _("The package: text, plan and materials"),
    "doc.text": _("Policy text"),
    "doc.plan": _("Interpretation plan"),
    "doc.materials": _("Interpretation materials"),
    "doc.no_materials": _("No materials yet."),
    "doc.signers": _("Sign-off"),
    "doc.no_signers": _("No signers named yet."),
    "doc.signed": _("signed"),
    "doc.not_signed": _("not signed"),
    "doc.publication": _("Publication and interpretation"),
    "doc.published_at": _("Published"),
    "doc.publication_url": _("Publication URL"),
    "doc.postings": _("Postings"),
    "doc.claim_waiting": _(
        "(claimed; recorded {recorded}: awaiting a supervisor's confirmation, counts as recorded)"
    ),
    "doc.claim_confirmed": _("(claimed time confirmed by {who})"),
    "doc.claims_waiting": _(
        "{n} claimed time(s) await a supervisor's confirmation; until then they count as recorded."
    ),
    "doc.corrections": _("Corrections"),
    "tl.via": _("via {channel}"),
    "tl.clock_override": _("clock set by hand; real time {at}"),
    "doc.correct": _("Correct the publication or a posting"),
    "doc.correct_help": _(
        "Fill in only what is wrong; the original stays in the timeline. An earlier posting or a "
        "later publication is a supervisor's correction."
    ),
    "doc.before": _("before"),
    "doc.after": _("after"),
    "doc.no_postings": _("No postings yet."),
    "doc.timeline": _("Timeline"),
    "doc.closed_reason": _("Reason"),
    "doc.package_hash": _("Package fingerprint"),
    "doc.read_only": _("You may read this document; its drafting unit edits and advances it."),
    "doc.edit_package": _("Change the package (signatures so far become void)"),
    "doc.back": _("Back to the list"),
    # fields
    "f.title": _("Title"),
    "f.doc_number": _("Document number or working title"),
    "f.allow_duplicate": _("This number is another document's too, on purpose (a reissue, say)"),
    "f.body": _("Text"),
    "f.disclosure": _("Disclosure"),
    "f.undecided": _("not reviewed"),
    "f.risk": _("Public-opinion risk assessment needed"),
    "f.yes": pgettext("risk assessment needed", "yes"),
    "f.no": pgettext("risk assessment needed", "no"),
    "f.risk_assessment": _("Risk assessment"),
    "f.response_plan": _("Response plan"),
    "f.plan": _("Interpretation plan"),
    "f.interpreter": _("Interpreter (whoever drafts interprets)"),
    "f.none": pgettext("interpreter", "(none)"),
    "f.form": _("Form"),
    "f.material_title": _("Material title"),
    "f.material_body": _("Material text"),
    "f.uri": _("Link (optional)"),
    "f.signers": _("Signers"),
    "f.publication_url": _("Publication URL"),
    "f.published_at": _("Published at (empty: now)"),
    "f.reason": _("Reason"),
    "f.backdated": _(
        "The publication time lies more than 24 hours back: it really was (a supervisor confirms it)"
    ),
    "f.what": _("What is confirmed"),
    "f.correct_at": _("The right time (Beijing time)"),
    "f.correct_url": _("The right URL"),
    "f.correct_outlet": _("The right outlet"),
    "f.correct_evidence": _("The right evidence"),
    "f.correct_what": _("What is corrected"),
    "f.correct_reason": _("Why it is corrected"),
    "f.confirm_reason": _("Why the claimed time is right"),
    "f.reject_to": _("Send back to"),
    "f.channel": _("Channel"),
    "f.outlet": _("Outlet"),
    "f.url": _("URL"),
    "f.evidence": _("Evidence (if there is no URL)"),
    "f.posted_at": _("Posted at (empty: now)"),
    "f.time_help": _("Beijing time, e.g. 2024-02-09 10:30"),
    # buttons
    "b.save_text": _("Save text and attributes"),
    "b.save_plan": _("Save the plan"),
    "b.add_material": _("Attach material"),
    "b.remove": _("Remove"),
    "b.save_signers": _("Save signers"),
    "b.sign": _("Sign the package"),
    "b.reject": _("Send back"),
    "b.record_posting": _("Record posting"),
    "b.confirm": _("Confirm the claimed time"),
    "b.correct": _("Correct"),
    "b.create": _("Create draft"),
    "b.download_csv": _("Download CSV"),
    "b.download_xlsx": _("Download Excel"),
    "b.show": _("Show"),
    "b.open": _("Open"),
    # signing
    "sign.title": _("Waiting for my signature"),
    "sign.none": _("Nothing is waiting for your signature."),
    "sign.intro": _(
        "Read the text, plan and materials side by side; sign them as one package, or send them back."
    ),
    "sign.you_signed": _("You have signed the current package."),
    "sign.reject_plan": _("interpretation plan (change plan or materials)"),
    "sign.reject_draft": _("draft (change the text)"),
    "sign.waiting_for": _("Still to sign: {logins}"),
    # dashboard
    "dash.claims": _("Claimed times awaiting confirmation"),
    "dash.claims_none": _("No claimed time awaits confirmation."),
    "dash.claim_line": _("claimed {claimed}, recorded {recorded}"),
    "dash.title": _("Supervision dashboard"),
    "dash.as_of": _("as of {at}"),
    "dash.overdue": _("Overdue now"),
    "dash.overdue_none": _("Nothing is overdue."),
    "dash.due_soon": _("Due by the next working day"),
    "dash.due_soon_none": _("Nothing falls due by the next working day."),
    "dash.escalations": _("Recent escalations"),
    "dash.escalations_none": _("No escalations yet."),
    "dash.rates": _("On-time rate per unit, {year}"),
    "dash.rates_none": _("No decided documents this year yet."),
    "dash.rates_help": _(
        "On-time rate = on time ÷ (on time + late + overdue); documents still within their deadline do not count."
    ),
    "dash.lifecycle": _("The lifecycle, with the documents in each state"),
    "dash.mermaid": _("Mermaid source"),
    "dash.timeline": _("Any document's timeline"),
    "dash.doc_id": _("Document no."),
    "dash.reports": _("Download reports (CSV)"),
    # reports
    "rep.title": _("Reports"),
    "rep.report": _("Report"),
    "rep.period": _("Period (e.g. 2024, 2024-Q1, 2024-03)"),
    "rep.unit": _("Unit (optional)"),
    "rep.none": _("(none)"),
    # timeline
    "tl.title": _("Timeline: {title}"),
    "tl.at": _("When"),
    "tl.actor": _("Who"),
    "tl.action": _("Action"),
    "tl.outcome": _("Outcome"),
    "tl.states": pgettext("timeline column", "State"),
    "tl.details": _("Details"),
    "tl.allowed": _("done"),
    "tl.refused": _("refused"),
    # outcomes of actions (flash messages after a redirect)
    "done.create": _("Draft created."),
    "done.edit": _("Saved."),
    "done.nothing": _("Nothing changed."),
    "done.attach_material": _("Material attached."),
    "done.remove_material": _("Material removed."),
    "done.set_signers": _("Signers saved."),
    "done.sign": _("Signed."),
    "done.reject": _("Sent back."),
    "done.fire": _("Done: {trigger}."),
    "done.record_posting": _("Posting recorded."),
    "done.confirm": _("Claimed time confirmed; on time or late recomputed."),
    "done.correct": _("Corrected; the original values stay in the timeline."),
    "done.posted": _(
        "The interpretation is out on the portal and in the news media: the document is closed."
    ),
    "done.voided": _("The package changed: earlier signatures are void."),
    # evidence of postings (docs/evidence.md)
    "ev.label": _("Page check"),
    "ev.policy_page": _("Policy page"),
    "ev.view": _("View the kept page"),
    "ev.download": _("Download WARC"),
    "ev.changed": _("page changed"),
    "ev.disappeared": _("page gone"),
    "ev.page_date": _("page date"),
    "ev.kept_note": _("Kept {at}; scripts and outside resources are disabled."),
    "dash.unverified": _("Postings without verified evidence"),
    "dash.unverified_none": _("Every recorded posting page is verified."),
    "dash.unverified_more": _("{n} more not shown."),
    "col.channel": _("Channel"),
    "col.evidence": _("Evidence"),
    # errors
    "err.title": _("Not possible"),
    "err.403": _("You may not see or do this."),
    "err.404": _("Not found."),
    "err.csrf": _(
        "The form has expired (missing or wrong security token). Go back, reload the page and try again."
    ),
    "err.invalid": _("Some input is invalid."),
    "err.time": _("write the time as 2024-02-09 10:30"),
    "err.secret": _("The pages have no session key: an administrator must set SANTONGBU_SECRET_KEY."),
    "err.home": _("Home"),
}


def t(key: str, lang: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in."""
    message = T.get(key)
    if message is None:
        return key
    text = gettext(message.msgid, lang, message.context)
    return text.format(**params) if params else text


def labels_for(lang: str) -> dict[str, Any]:
    """Helpers handed to every template."""

    def of(kind: str) -> Any:
        return lambda code: catalogue.label(kind, code, lang)

    return {
        "t": lambda key, **p: t(key, lang, **p),
        "other_language": OTHER_LANGUAGE["zh" if lang == "zh" else "en"],
        "state_name": of("state"),
        "trigger_name": of("trigger"),
        "form_label": of("form"),
        "channel_label": of("channel"),
        "level_label": of("level"),
        "status_label": of("status"),
        "evidence_label": of("evidence"),
        "disclosure_label": of("disclosure"),
        "role_label": of("role"),
        "report_label": lambda c: "" if c is None else _report(c, lang),
        "reason_text": lambda r: _reason_text(r, lang),
        "action_label": of("action"),
    }


def _report(code: str, lang: str) -> str:
    message = REPORT_LABELS.get(code)
    return message.render(lang) if message is not None else code


def _reason_text(stored: Any, lang: str) -> str:
    """A refusal reason as the audit trail stores it (code, params) in the page's language."""
    if not isinstance(stored, dict) or not isinstance(stored.get("code"), str):
        return str(stored)
    params = stored.get("params")
    return Reason(stored["code"], params if isinstance(params, dict) else {}).text(lang)
