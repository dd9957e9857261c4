"""``santongbu doc``: create, edit and advance policy documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from states.catalogue import label
from states.deadline import overdue_words
from states.lifecycle import REJECT_TO, State
from states.reasons import Reason
from workflow.entrypoints.cli import common, doc_show
from workflow.entrypoints.cli.common import _
from workflow.services.documents import Outcome, Workflow

doc_app = typer.Typer(
    help="Policy documents: create, edit, attach, sign, publish, post.", no_args_is_help=True
)

AS = typer.Option(..., "--as", envvar="SANTONGBU_USER", help="Your login (the acting user).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
IF_VERSION = typer.Option(None, "--if-version", help="Refuse if the document changed since this version.")

_local = doc_show._local  # still read from here by correct_cmds


ALLOW_DUPLICATE = typer.Option(
    False,
    "--allow-duplicate-number",
    help="Accept a document number (文号) another document already has (refused otherwise).",
)


def _workflow() -> Workflow:
    return common.context().services.workflow


def _text(value: str | None, file: Path | None, what: str) -> str | None:
    if value is not None and file is not None:
        common.fail(_("give {what} either inline or as a file, not both", what=what))
    if file is not None:
        return common.read_text_file(file, what)
    return value


def _done(outcome: Outcome, json_: bool, message: str | None = None) -> None:
    if json_:
        return common.emit_json(outcome.as_dict())
    lang = common.context().lang
    moved = (
        f"{label('state', outcome.state_before, lang)} → {label('state', outcome.state_after, lang)}"
        if outcome.state_before and outcome.state_before != outcome.state_after
        else label("state", outcome.state_after, lang)
    )
    typer.echo(
        _(
            "document {document_id}: {p1} ({moved}, version {version})",
            document_id=outcome.document_id,
            p1=message or label("action", outcome.action, lang),
            moved=moved,
            version=outcome.version,
        )
    )


@doc_app.command("create")
@common.command
def create(
    title: str = typer.Option(..., "--title", help="Title of the policy document."),
    number: str | None = typer.Option(None, "--number", help="Document number (文号) or working title."),
    disclosure: str | None = typer.Option(
        None,
        "--disclosure",
        help="proactive (主动公开), on_request (依申请公开) or not_disclosed (不予公开).",
    ),
    risk: bool | None = typer.Option(
        None, "--risk/--no-risk", help="Whether a public-opinion risk assessment is needed."
    ),
    body: str | None = typer.Option(None, "--body", help="Policy text."),
    body_file: Path | None = typer.Option(None, "--body-file", help="Policy text from a UTF-8 file."),
    allow_duplicate_number: bool = ALLOW_DUPLICATE,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Open a new draft for your unit."""
    outcome = _workflow().create_document(
        as_,
        title=title,
        doc_number=number,
        body=_text(body, body_file, _("the policy text")) or "",
        disclosure=disclosure,
        risk_assessment_needed=risk,
        allow_duplicate_number=allow_duplicate_number,
    )
    _done(outcome, json_, _("created"))


@doc_app.command("edit")
@common.command
def edit(
    doc_id: int = typer.Argument(..., help="Document id."),
    title: str | None = typer.Option(None, "--title"),
    number: str | None = typer.Option(None, "--number"),
    disclosure: str | None = typer.Option(None, "--disclosure"),
    risk: bool | None = typer.Option(None, "--risk/--no-risk"),
    body: str | None = typer.Option(None, "--body"),
    body_file: Path | None = typer.Option(None, "--body-file"),
    plan: str | None = typer.Option(None, "--plan", help="The interpretation plan (解读方案)."),
    plan_file: Path | None = typer.Option(None, "--plan-file"),
    risk_assessment: str | None = typer.Option(
        None, "--risk-assessment", help="The public-opinion risk assessment (text)."
    ),
    response_plan: str | None = typer.Option(
        None, "--response-plan", help="The response plan for public opinion (text)."
    ),
    interpreter: str | None = typer.Option(
        None, "--interpreter", help="Login of the interpreter, from the drafting unit."
    ),
    allow_duplicate_number: bool = ALLOW_DUPLICATE,
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Change the text, plan or facts of a document. Any change to the package voids signatures;
    an edit that changes nothing writes nothing and says so."""
    changes: dict[str, Any] = {
        "title": title,
        "doc_number": number,
        "disclosure": disclosure,
        "risk_assessment_needed": risk,
        "body": _text(body, body_file, _("the policy text")),
        "plan": _text(plan, plan_file, _("the plan")),
        "risk_assessment": risk_assessment,
        "response_plan": response_plan,
        "interpreter": interpreter,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        common.fail(_("nothing to change: give at least one option (see --help)"))
    outcome = _workflow().edit_document(
        as_, doc_id, changes, expected_version=if_version, allow_duplicate_number=allow_duplicate_number
    )
    if outcome.details.get("unchanged") and not json_:
        typer.echo(
            Reason("nothing_changed", {"id": doc_id, "version": outcome.version}).text(common.context().lang)
        )
        return
    _done(outcome, json_, _("edited"))


@doc_app.command("attach")
@common.command
def attach(
    doc_id: int = typer.Argument(...),
    form: str = typer.Option(
        ..., "--form", help="text, graphic, video, qa, online_interview, press_conference or other."
    ),
    title: str = typer.Option(..., "--title"),
    body: str | None = typer.Option(None, "--body"),
    file: Path | None = typer.Option(
        None,
        "--file",
        help="Any file: an image, video, PDF, DOCX, XLSX or PPTX "
        "becomes the material's file (streamed, typed by content); a text file its text.",
    ),
    uri: str | None = typer.Option(None, "--uri", help="Where the material lives (http/https)."),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Attach an interpretation material (解读材料): text, a file, or a link."""
    from workflow.entrypoints.cli import material_files

    if file is not None and body is None and uri is None and material_files.is_binary(file):
        outcome = material_files.attach_file(as_, doc_id, form, title, file, if_version)
        return _done(
            outcome,
            json_,
            _(
                "material {id} attached ({type}, {size} bytes)",
                id=outcome.details.get("material_id"),
                type=outcome.details["file"]["type"],
                size=outcome.details["file"]["size"],
            ),
        )
    outcome = _workflow().add_material(
        as_,
        doc_id,
        form=form,
        title=title,
        body=_text(body, file, _("the material")),
        uri=uri,
        expected_version=if_version,
    )
    _done(outcome, json_, _("material {id} attached", id=outcome.details.get("material_id")))


@doc_app.command("detach")
@common.command
def detach(
    doc_id: int = typer.Argument(...),
    material_id: int = typer.Argument(...),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Remove an interpretation material."""
    _done(
        _workflow().remove_material(as_, doc_id, material_id, expected_version=if_version),
        json_,
        _("material removed"),
    )


@doc_app.command("signers")
@common.command
def signers(
    doc_id: int = typer.Argument(...),
    logins: list[str] = typer.Argument(..., help="Logins of the signers."),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Name the people who must sign the package."""
    _done(
        _workflow().set_signers(as_, doc_id, logins, expected_version=if_version), json_, _("signers named")
    )


@doc_app.command("sign")
@common.command
def sign(
    doc_id: int = typer.Argument(...),
    package: str | None = typer.Option(
        None, "--package", help="The package hash you read (doc show); refuses if it changed."
    ),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Sign the package (text, plan and materials) as it is now."""
    outcome = _workflow().sign(as_, doc_id, package=package, expected_version=if_version)
    left = outcome.details.get("remaining") or []
    _done(
        outcome,
        json_,
        _("signed; still to sign: {logins}", logins=", ".join(left))
        if left
        else _("signed; all signers have signed"),
    )


def _fire(trigger: str, doc_id: int, as_: str, json_: bool, if_version: int | None, **kwargs: Any) -> None:
    outcome = _workflow().fire(as_, doc_id, trigger, expected_version=if_version, **kwargs)
    _done(outcome, json_, label("trigger", trigger, common.context().lang))


@doc_app.command("prepare-plan")
@common.command
def prepare_plan(
    doc_id: int = typer.Argument(...), if_version: int | None = IF_VERSION, as_: str = AS, json_: bool = JSON
) -> None:
    """Draft → interpretation plan."""
    _fire("prepare_plan", doc_id, as_, json_, if_version)


@doc_app.command("request-signoff")
@common.command
def request_signoff(
    doc_id: int = typer.Argument(...), if_version: int | None = IF_VERSION, as_: str = AS, json_: bool = JSON
) -> None:
    """Interpretation plan → joint sign-off (emails the signers)."""
    _fire("request_signoff", doc_id, as_, json_, if_version)


@doc_app.command("reject")
@common.command
def reject(
    doc_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    to: str = typer.Option("plan", "--to", help="Send back to 'plan' (default) or 'draft'."),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """As a signer, send the package back with a reason."""
    if to not in REJECT_TO:
        common.fail(_("--to must be 'plan' or 'draft'"))
    outcome = _workflow().reject(as_, doc_id, reason, to=to, expected_version=if_version)
    _done(outcome, json_, label("trigger", outcome.action, common.context().lang))


@doc_app.command("publish")
@common.command
def publish(
    doc_id: int = typer.Argument(...),
    url: str = typer.Option(..., "--url", help="Where the policy text is public on the portal."),
    at: str | None = typer.Option(None, "--at", help="When it went public (ISO 8601; default now)."),
    backdated: bool = typer.Option(
        False,
        "--backdated",
        help="--at really lies more than the grace "
        "window (24 h) in the past; a supervisor confirms it later.",
    ),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Joint sign-off → published; starts the 3-working-day clock."""
    published_at = common.parse_instant(at, what="--at") if at else None
    _fire(
        "publish",
        doc_id,
        as_,
        json_,
        if_version,
        publication_url=url,
        published_at=published_at,
        backdated=backdated,
    )


@doc_app.command("file")
@common.command
def file_undisclosed(
    doc_id: int = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """File a signed document marked not to be disclosed (不予公开), without publication."""
    _fire("file_undisclosed", doc_id, as_, json_, if_version, reason=reason)


@doc_app.command("post")
@common.command
def post(
    doc_id: int = typer.Argument(...),
    channel: str = typer.Option(..., "--channel", help="portal, news_media or new_media."),
    url: str | None = typer.Option(None, "--url"),
    outlet: str | None = typer.Option(None, "--outlet", help="e.g. 福州日报, 微信公众号."),
    evidence: str | None = typer.Option(None, "--evidence", help="Evidence when there is no URL."),
    at: str | None = typer.Option(None, "--at", help="When it went out (ISO 8601; default now)."),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Record an interpretation posting; portal + news media completes the document."""
    posted_at = common.parse_instant(at, what="--at") if at else None
    outcome = _workflow().record_posting(
        as_,
        doc_id,
        channel=channel,
        url=url,
        outlet=outlet,
        evidence=evidence,
        posted_at=posted_at,
        expected_version=if_version,
    )
    extra = ""
    if outcome.state_after == State.INTERPRETATION_POSTED:
        on_time = outcome.details.get("on_time")
        extra = (
            _("; on time")
            if on_time
            else _(
                "; {words}",
                words=overdue_words(outcome.details.get("working_days_late") or 0, common.context().lang),
            )
        )
    lang = common.context().lang
    _done(
        outcome,
        json_,
        _("{channel} posting recorded{extra}", channel=label("channel", channel, lang), extra=extra),
    )


@doc_app.command("withdraw")
@common.command
def withdraw(
    doc_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Withdraw a document before publication (terminal)."""
    _fire("withdraw", doc_id, as_, json_, if_version, reason=reason)


@doc_app.command("fire")
@common.command
def fire(
    doc_id: int = typer.Argument(...),
    trigger: str = typer.Argument(..., help="Any trigger (see: santongbu diagram)."),
    reason: str | None = typer.Option(None, "--reason"),
    if_version: int | None = IF_VERSION,
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """Fire any lifecycle trigger by name."""
    _fire(trigger, doc_id, as_, json_, if_version, reason=reason)


@doc_app.command("show")
@common.command
def show(
    doc_id: int = typer.Argument(...),
    as_: str = AS,
    json_: bool = JSON,
    timeline: bool = typer.Option(True, "--timeline/--no-timeline", help="Include the audit timeline."),
) -> None:
    """Show a document, its package, deadline, what is missing, and its timeline."""
    wf = _workflow()
    view = wf.read_document(as_, doc_id)
    events = wf.timeline(as_, doc_id) if timeline else []
    if json_:
        return common.emit_json({**view.as_dict(), "timeline": [e.as_dict() for e in events]})
    common_ctx = common.context()
    doc_show.render_document(view, events, common_ctx.lang, common_ctx.settings.timezone)


@doc_app.command("list")
@common.command
def list_(
    state: str | None = typer.Option(None, "--state"),
    unit: str | None = typer.Option(None, "--unit"),
    limit: int = typer.Option(200, "--limit", min=1, max=10000),
    offset: int = typer.Option(0, "--offset", min=0),
    as_: str = AS,
    json_: bool = JSON,
) -> None:
    """List the documents you may see, by state and unit."""
    docs = _workflow().list_documents(as_, state=state, unit_code=unit, limit=limit, offset=offset)
    if json_:
        return common.emit_json([d.as_dict() for d in docs])
    common_ctx = common.context()
    doc_show.render_list(docs, common_ctx.lang, common_ctx.settings.timezone)


def register(app: typer.Typer) -> None:
    app.add_typer(doc_app, name="doc")
