"""Why something was refused, as a code plus parameters, rendered in Chinese or English.

Reasons are data, not strings, so the HTTP API can return the codes, the CLI can print the
sentence, and a test can assert on the code without depending on wording. Each code's sentence
is written here once, in English; its Chinese is in the one catalogue (:mod:`states.i18n`), with
every other sentence the product prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from states.catalogue import label
from states.evidence import MESSAGES as EVIDENCE_MESSAGES
from states.i18n import _, gettext, localize

MESSAGES: dict[str, str] = {
    # draft → interpretation_plan
    "missing_title": _("the title is missing"),
    "missing_unit": _("the drafting unit is missing"),
    "missing_doc_number": _("the document number or working title is missing"),
    "missing_disclosure": _(
        "the disclosure attribute (proactive / on request / not disclosed) has not been reviewed"
    ),
    "missing_risk_flag": _("it has not been decided whether a public-opinion risk assessment is needed"),
    "missing_body": _("the policy text is empty"),
    # interpretation_plan → joint_signoff
    "missing_plan": _("the interpretation plan is missing"),
    "missing_material": _("at least one interpretation material with its form is required"),
    "missing_interpreter": _("no interpreter is named (whoever drafts interprets)"),
    "interpreter_not_in_unit": _(
        "interpreter {login} is not a member of the drafting unit (whoever drafts interprets)"
    ),
    "missing_risk_assessment": _("a public-opinion risk assessment is flagged as needed but missing"),
    "missing_response_plan": _("a risk assessment is flagged as needed but the response plan is missing"),
    "missing_signers": _("no signers are named"),
    # separation of duties and the installation's signer rule (states/signoff.py)
    "signer_role_missing": _("{login} holds neither the signer nor the leader role and may not sign"),
    "signer_is_creator": _("{login} created this document and may not sign the package they prepared"),
    "signer_is_interpreter": _(
        "{login} is the interpreter of this document and may not sign the package they prepared"
    ),
    "signer_is_editor": _(
        "{login} changed the text, plan or materials since the last sign-off round and may not sign"
    ),
    "unit_has_no_head": _("the drafting unit {unit} has no head on record, which the signer rule requires"),
    "missing_unit_head_signer": _("the drafting unit's head {login} must be among the signers"),
    "missing_leader_signer": _("at least one bureau leader (局领导) must be among the signers"),
    "missing_legality_signer": _(
        "a risk assessment is flagged: a signer from the legality unit {unit} (政法处) must be among the signers"
    ),
    # joint_signoff → published
    "unsigned": _("these signers have not signed the current package: {logins}"),
    "not_disclosed": _("the document is marked not to be disclosed and can never be published"),
    "not_undisclosed": _("only documents marked not to be disclosed can be filed without publication"),
    "missing_publication_url": _("the publication URL is missing"),
    "missing_publication_time": _("the publication time is missing"),
    "publication_in_future": _("the publication time {at} lies in the future"),
    "publication_backdated": _(
        'the publication time {at} is more than {hours} hours in the past: if it really is, say it is backdated (CLI --backdated; API "backdated": true; the page\'s checkbox)'
    ),
    # claims and confirmations (states/claims.py)
    "not_supervisor": _("{login} is not a supervisor and may not confirm a claimed time"),
    "confirmer_in_unit": _(
        "{login} is a member of the drafting unit {unit} and may not vouch for its own record"
    ),
    "no_claim_waiting": _("there is no claimed time awaiting confirmation for {what}"),
    "correction_needs_supervisor": _(
        "this correction favours the drafting unit (an earlier posting or a later publication): only a supervisor outside the unit may make it"
    ),
    "not_corrector": _(
        "{login} is neither a member of the drafting unit nor a supervisor and may not correct the record"
    ),
    "nothing_corrected": _("the correction changes nothing"),
    "no_such_posting": _("there is no {channel} posting"),
    # published → interpretation_posted
    "missing_portal_posting": _("the interpretation has not been posted on the portal website"),
    "missing_media_posting": _("the interpretation has not been posted in the news media"),
    # side paths
    "missing_reason": _("a reason is required"),
    "wrong_state": _("'{trigger}' is not possible while the document is {state}"),
    "unknown_trigger": _("unknown trigger '{trigger}'"),
    # permissions
    "not_member": _("{login} is not a member of the drafting unit {unit}"),
    "not_signer": _("{login} is not named as a signer of this document"),
    "already_signed": _("{login} has already signed the current package"),
    "not_reader": _("{login} may not read this document"),
    "not_admin": _("{login} is not an administrator"),
    "not_auditor": _("{login} is neither a supervisor nor an auditor"),
    "not_own_tokens": _("{login} may list only their own tokens"),
    "inactive_user": _("user {login} is deactivated"),
    "frozen": _("the document is {state}; its content can no longer be changed"),
    "audit_key_missing": _(
        "the audit trail is keyed but this process has no key: set SANTONGBU_AUDIT_KEY_FILE and try again (nothing was written)"
    ),
    # the one figure of working days overdue (states.deadline.working_days_overdue), in words
    "overdue_under_one": _("late by less than 1 working day"),
    "overdue_one": _("1 working day overdue"),
    "overdue_days": _("{n} working days overdue"),
    # instants typed by people (states/instants.py)
    "instant_unreadable": _(
        "{what}: '{value}' is not an ISO 8601 date or date-time (e.g. 2024-02-09T10:30+08:00)"
    ),
    "instant_out_of_range": _(
        "{what} {value} is not between the years 2000 and 2200: check for a typing mistake"
    ),
    # refusals of what people give (states/text.py, documents/validation.py)
    "text_too_large": _(
        "{field} is larger than the limit of {limit} (SANTONGBU_MAX_TEXT_BYTES); nothing was saved"
    ),
    "file_not_text": _(
        "{what}: {file} is not a text file (it looks like a {kind} file); give a UTF-8 text file"
    ),
    "file_not_utf8": _("{what}: {file} is not UTF-8 text; save it as UTF-8 and try again"),
    "file_unreadable": _("{what}: cannot read {file}"),
    "duplicate_number": _(
        'the document number {number} is already used by document {id}; if a second one is really meant, say so: --allow-duplicate-number, "allow_duplicate_number": true in the API, or the box beside the number on the page'
    ),
    "nothing_changed": _("document {id}: nothing changed, nothing was written (version {version})"),
    # lookups and input
    "no_such_user": _("no user {login}"),
    "no_such_unit": _("no unit {code}"),
    "no_such_document": _("no document with id {id}"),
    "no_such_material": _("no material with id {id}"),
    "invalid": _("{field} is invalid: {problem}"),
    "duplicate": _("{what} {value} already exists"),
    "changed_meanwhile": _("the document was changed meanwhile; reload it and try again"),
    "throttled": _("too many failed attempts; try again in {seconds} s"),
    "control_characters": _("{field} contains control characters (such as NUL) that cannot be stored"),
}
MESSAGES.update(EVIDENCE_MESSAGES)  # evidence of postings (states/evidence.py)


# The names of the fields a refusal names (the ``field`` of an ``invalid`` reason), for the
# catalogue; a name without a translation reads as itself.
FIELDS = (
    _("title"),
    _("doc_number"),
    _("body"),
    _("plan"),
    _("risk_assessment"),
    _("response_plan"),
    _("disclosure"),
    _("risk_assessment_needed"),
    _("interpreter"),
    _("password"),
    _("expires"),
    _("login"),
    _("name"),
    _("status"),
    _("limit"),
    _("period"),
    _("file"),
    _("since"),
    _("until"),
    _("email"),
    _("unit"),
    _("url"),
    _("published"),
    _("at"),
    _("channel"),
    _("form"),
)


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
        template = MESSAGES.get(self.code)
        if template is None:
            return self.code
        template = gettext(template, lang)
        params = {k: localize(v, lang) for k, v in self.params.items()}
        if isinstance(params.get("field"), str):  # a field's name reads in the reader's language
            params["field"] = gettext(params["field"], lang)
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
