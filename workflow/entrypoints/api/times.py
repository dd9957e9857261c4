"""How the API writes instants: ISO 8601 in the working zone with its offset
(``2024-02-20T23:59:59+08:00``), the one convention of README "Times" and docs/api.md.

The database holds UTC; a reader in Fuzhou should not have to add eight hours to read a
deadline. The instant is the same, only the offset differs, so any ISO 8601 parser reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import PlainSerializer, WithJsonSchema

from states.deadline import zone
from states.instants import localise

WORKING_ZONE = "Asia/Shanghai"
"""The zone instants are written in (the default ``SANTONGBU_TIMEZONE``; China has one zone)."""


def _local(value: datetime) -> str:
    return value.astimezone(zone(WORKING_ZONE)).isoformat()


Shown = Annotated[
    datetime,
    PlainSerializer(_local, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An instant the API returns."""


class LocalTimesJSON(JSONResponse):
    """Every response's JSON with its instants in the working zone, including the UTC ISO
    strings of outcome and audit ``details`` (:func:`states.instants.localise`)."""

    def render(self, content: Any) -> bytes:
        return super().render(localise(content, WORKING_ZONE))
