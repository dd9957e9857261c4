"""``/health``: is the database reachable, and the broker (Redis ping, or "embedded")? And is the
audit trail keyed (``audit``: ``ok`` with the key id, or ``unkeyed``: still healthy, but said)?

Open without a token, because load balancers and monitors probe it without one; it names no
host, user or URL, only whether each part answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from workflow.entrypoints.api.deps import ServicesDep
from workflow.entrypoints.api.schemas import Health
from workflow.kernel import audit

router = APIRouter(tags=["health"])


def _database(svc: Any) -> dict[str, Any]:
    try:
        with svc.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "detail": svc.db.dialect}
    except Exception as exc:
        return {"status": "error", "detail": type(exc).__name__}


def _broker(url: str | None) -> dict[str, Any]:
    if not url:
        return {"status": "embedded", "detail": "in-process worker"}
    if not url.startswith(("redis://", "rediss://")):
        return {"status": "unchecked", "detail": url.split(":", 1)[0]}
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return {"status": "ok", "detail": "redis"}
    except Exception as exc:
        return {"status": "error", "detail": type(exc).__name__}


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Degraded."}})
def health(svc: ServicesDep) -> JSONResponse:
    """200 when the database (and the Redis broker, if one is configured) answer; 503 otherwise."""
    database = _database(svc)
    broker = _broker(svc.settings.broker_url)
    ok = database["status"] == "ok" and broker["status"] in ("ok", "embedded", "unchecked")
    keyed = audit.keyed_status()
    trail = (
        {"status": "ok", "detail": keyed["detail"]}
        if keyed["keyed"]
        else {"status": "unkeyed", "detail": "the audit trail is not keyed (SANTONGBU_AUDIT_KEY_FILE unset)"}
    )
    body = {"status": "ok" if ok else "degraded", "database": database, "broker": broker, "audit": trail}
    return JSONResponse(Health.model_validate(body).model_dump(), status_code=200 if ok else 503)
