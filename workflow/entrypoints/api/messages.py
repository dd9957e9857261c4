"""Words of the HTTP API that the lifecycle's own reasons (:mod:`states.reasons`) do not have.

Written here once in English and marked for the one gettext catalogue (:mod:`states.i18n`),
whose ``msgstr`` is their Chinese. Kept apart from :data:`states.reasons.MESSAGES` because they
are about HTTP (tokens, routes, request bodies), not about documents; :func:`text` looks here
first and falls back there.
"""

from __future__ import annotations

from typing import Any

from states.i18n import Text, _, gettext
from states.reasons import Reason
from states.text import CONTROL_PROBLEM, LINE_PROBLEM

API_MESSAGES: dict[str, Text] = {
    "unauthenticated": _("a valid API token is required (header Authorization: Bearer <token>)"),
    "token_invalid": _("the API token is unknown, revoked or expired"),
    "no_such_token": _("no token with id {id}"),
    "no_such_route": _("no such address: {path}"),
    "method_not_allowed": _("{method} is not allowed on {path}"),
    "too_large": _("the request body is larger than {limit} bytes"),
    "unavailable": _("the database is unavailable or busy; try again shortly"),
    "internal_error": _("internal error; it has been written to the server log"),
}

# Problem titles: one short phrase per problem type, as RFC 9457 wants.
TITLES: dict[str, Text] = {
    "unauthenticated": _("Unauthenticated"),
    "forbidden": _("Forbidden"),
    "not_found": _("Not found"),
    "method_not_allowed": _("Method not allowed"),
    "refused": _("Refused"),
    "concurrent_change": _("Concurrent change"),
    "invalid_input": _("Invalid input"),
    "too_large": _("Request too large"),
    "unavailable": _("Service unavailable"),
    "throttled": _("Too many attempts"),
    "internal_error": _("Internal error"),
    "error": _("Error"),
}

# What a validation error means, by its type: pydantic's own (English readers read pydantic's
# sentence, which names the values; these are for the catalogue's Chinese), and the API's own
# (schemas.py, deps.py, routes/calendar.py raise them with these very sentences, in every language).
VALIDATION: dict[str, Text] = {
    "missing": _("required"),
    "json_invalid": _("not valid JSON"),
    "json_type": _("not valid JSON"),
    "int_parsing": _("must be an integer"),
    "int_type": _("must be an integer"),
    "int_from_float": _("must be an integer"),
    "string_type": _("must be text"),
    "bool_parsing": _("must be true or false"),
    "bool_type": _("must be true or false"),
    "enum": _("must be one of: {expected}"),
    "literal_error": _("must be one of: {expected}"),
    "less_than_equal": _("must not be greater than {le}"),
    "greater_than_equal": _("must not be less than {ge}"),
    "less_than": _("must be less than {lt}"),
    "greater_than": _("must be greater than {gt}"),
    "string_too_long": _("must not be longer than {max_length} characters"),
    "string_too_short": _("needs at least {min_length} characters"),
    "string_pattern_mismatch": _("is not in the right format"),
    "too_long": _("at most {max_length} items"),
    "too_short": _("at least {min_length} items"),
    "extra_forbidden": _("is not a field here"),
    "list_type": _("must be a list"),
    "dict_type": _("must be a JSON object"),
    "model_type": _("must be a JSON object"),
    "model_attributes_type": _("must be a JSON object"),
    "datetime_parsing": _("not an ISO 8601 date-time (e.g. 2024-02-09T10:30:00+08:00)"),
    "datetime_from_date_parsing": _("not an ISO 8601 date-time (e.g. 2024-02-09T10:30:00+08:00)"),
    "datetime_type": _("not an ISO 8601 date-time (e.g. 2024-02-09T10:30:00+08:00)"),
    "timezone_aware": _("must carry a time zone (e.g. +08:00)"),
    "upload_type": _("must be an uploaded file"),
    # the API's own
    "bad_text": CONTROL_PROBLEM,
    "one_line": LINE_PROBLEM,
    "year_range": _("the year must lie between {low} and {high}"),
    "bad_instant": _("not an ISO 8601 date or date-time (e.g. 2024-02-09 or 2024-02-09T10:30+08:00)"),
    "bad_version": _("must be the document's version (an integer), e.g. If-Match: 3"),
    "year_mismatch": _("the file is for {file_year}, not {year}"),
    "file_too_large": _("larger than {limit} bytes"),
}


def text(reason: Reason, lang: str) -> str:
    """The sentence for one reason: the API's own words, else the lifecycle's."""
    message = API_MESSAGES.get(reason.code)
    if message is None:
        return reason.text(lang)
    template = gettext(message, lang)
    try:
        return template.format(**dict(reason.params))
    except (KeyError, IndexError):
        return template


def render(reasons: tuple[Reason, ...] | list[Reason], lang: str) -> str:
    sep = ";" if lang == "zh" else "; "
    return sep.join(text(r, lang) for r in reasons)


def title(code: str, lang: str) -> str:
    return gettext(TITLES.get(code) or TITLES["error"], lang)


def validation_problem(error_type: str, english: str, ctx: dict[str, Any] | None, lang: str) -> str:
    """One validation error in words, without the offending input: pydantic's English sentence,
    or the catalogue's Chinese for its type (:data:`VALIDATION`)."""
    if lang != "zh":
        return english.removeprefix("Value error, ")
    message = VALIDATION.get(error_type)
    if message is None:
        return english.removeprefix("Value error, ")
    return _fill(gettext(message, lang), ctx)


def own(error_type: str, ctx: dict[str, Any] | None, lang: str) -> str:
    """A validation error of the API's own (:data:`VALIDATION`) in ``lang``, in either language
    the sentence written there."""
    return _fill(gettext(VALIDATION[error_type], lang), ctx)


def _fill(template: str, ctx: dict[str, Any] | None) -> str:
    try:
        return template.format(**(ctx or {}))
    except (KeyError, IndexError):
        return template
