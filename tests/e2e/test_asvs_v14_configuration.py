"""OWASP ASVS 4.0.3, chapter V14 (configuration): the API documentation page is served from the
installed package under the pages' Content-Security-Policy (or not at all), and every response
carries the HTTP security headers, HSTS when the request came over HTTPS through a trusted proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_support import live_server
from tests.web_support import browser, seeded_template, web_db, web_env  # noqa: F401 (fixtures)
from workflow.entrypoints.api import create_app
from workflow.entrypoints.web.pages import CSP as PAGES_CSP
from workflow.kernel.clock import SystemClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings

HEADERS = ("x-content-type-options", "referrer-policy", "content-security-policy", "x-frame-options")


def test_v14_4_docs_page_loads_nothing_from_elsewhere_and_runs_under_the_pages_csp(
    web_db: Database, tmp_path: Path, browser: Any
) -> None:
    """ASVS V14.2.3 (no assets from a CDN without integrity checks) and V14.4.3 (a CSP that
    stops inline script): ``/docs`` loaded Swagger UI from a public CDN with an inline script and
    no CSP, on the pages' origin. Now Chromium renders it from this site only, with the pages'
    CSP and no violation."""
    from tests.web_support import NoBrowser

    if isinstance(browser, NoBrowser):
        pytest.fail(browser.message, pytrace=False)
    with web_env(web_db, tmp_path, people=None) as env:
        page_html = httpx.get(env.url("/docs"), timeout=30)
        assert page_html.status_code == 200
        assert page_html.headers["content-security-policy"] == PAGES_CSP
        assert "cdn" not in page_html.text.lower() and "<script>" not in page_html.text
        context = browser.new_context()
        page = context.new_page()
        outside: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(env.base_url) else None)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(env.url("/docs"))
        page.locator(".opblock-summary-path", has_text="/documents/{doc_id}").first.wait_for(timeout=15_000)
        assert page.locator(".opblock").count() > 20
        assert outside == [] and not [p for p in problems if "Content Security Policy" in p], problems
        context.close()


def test_v14_4_docs_can_be_switched_off(sqlite_db: Database) -> None:
    """ASVS V14.3.x (no unneeded surface in production): SANTONGBU_API_DOCS=false serves no
    documentation page; the OpenAPI document, the contract programs read, stays."""
    app = create_app(sqlite_db, SystemClock(), Settings(database_url=sqlite_db.url, api_docs=False))
    with live_server(app) as url:
        assert httpx.get(url + "/docs").status_code == 404
        assert httpx.get(url + "/docs/assets/swagger-ui-bundle.js").status_code == 404
        assert httpx.get(url + "/openapi.json").status_code == 200


def test_v14_4_security_headers_on_every_response_and_hsts_behind_a_trusted_proxy(
    web_db: Database, tmp_path: Path
) -> None:
    """ASVS V14.4.1-V14.4.7: X-Content-Type-Options, Referrer-Policy, X-Frame-Options and a CSP on
    API answers, problems, pages, static files and the docs; Strict-Transport-Security when the
    request came over HTTPS (X-Forwarded-Proto from a proxy in SANTONGBU_TRUSTED_PROXIES), never
    over plain HTTP nor on the word of an untrusted client."""
    with web_env(web_db, tmp_path, people=None, trusted_proxies="10.9.9.9") as untrusted:
        answer = httpx.get(untrusted.url("/health"), headers={"X-Forwarded-Proto": "https"}, timeout=30)
        assert "strict-transport-security" not in answer.headers  # 127.0.0.1 is not the proxy
    with web_env(web_db, tmp_path, people=None, trusted_proxies="127.0.0.1") as env:
        paths = [
            "/health",
            "/documents",
            "/no/such/route",
            "/web/login",
            "/web/static/app.css",
            "/docs",
            "/docs/assets/swagger-ui.css",
            "/openapi.json",
        ]
        for path in paths:
            plain = httpx.get(env.url(path), timeout=30)
            assert all(h in plain.headers for h in HEADERS), (path, plain.headers)
            assert plain.headers["x-content-type-options"] == "nosniff"
            assert plain.headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in plain.headers, path
            tls = httpx.get(env.url(path), headers={"X-Forwarded-Proto": "https"}, timeout=30)
            assert tls.headers["strict-transport-security"].startswith("max-age=31536000"), path
        assert (
            httpx.get(env.url("/documents"), timeout=30)
            .headers["content-security-policy"]
            .startswith("default-src 'none'")
        )
