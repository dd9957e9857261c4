"""What the web tests share: a real server, a seeded bureau with passwords, Chromium, screenshots.

Nothing is faked: uvicorn serves the app (API and pages) on a loopback port from a thread;
Playwright drives Debian's Chromium (``/usr/bin/chromium``, headless) against it; the services
write a real SQLite (or PostgreSQL) database. If Chromium or Playwright is missing the tests
FAIL with the command that installs them — a browser test that silently skips proves nothing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_support import live_server  # the same loopback server as the API tests
from tests.conftest import shanghai
from tests.factories import seed_bureau
from tests.robot_secrets import key_file
from workflow.entrypoints.api import create_app
from workflow.entrypoints.web import install
from workflow.entrypoints.web.security import SESSION_COOKIE
from workflow.kernel.clock import FixedClock
from workflow.kernel.db import Database
from workflow.kernel.settings import Settings
from workflow.services.accounts import Accounts

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("SANTONGBU_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOC_SHOTS = ROOT / "docs" / "screenshots"
FIX = (
    "run 'bash scripts/browser-deps' (installs Debian's chromium, a Chinese font and the playwright package)"
)
# The flags this machine needs (no sandbox as root, no GPU, no calls home on a closed network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--lang=zh-CN",
]
PASSWORD = "correct horse battery 9"
PEOPLE = ("liu.spc", "chen.spc", "director", "lin.zfc", "xu.kxc", "audit.cs")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def require_browser() -> Any:
    """The Playwright sync API and the Chromium path, or a failure that says how to install them."""
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail(f"the Python package playwright is not installed: {FIX}", pytrace=False)
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: {FIX}", pytrace=False)
    return sync_api


@dataclass
class WebEnv:
    """A served app over a seeded database where the test people have passwords."""

    db: Database
    clock: FixedClock
    settings: Settings
    base_url: str
    secret: str

    def url(self, path: str) -> str:
        return self.base_url + path


def seed_people(db: Database, clock: FixedClock, people: tuple[str, ...] = PEOPLE) -> None:
    """The sample bureau, with a password (set by the administrator) for each of ``people``."""
    seed_bureau(db, clock)
    accounts = Accounts(db, clock)
    for login in people:
        accounts.set_password("admin", login, PASSWORD)


def start_clock() -> FixedClock:
    return FixedClock(shanghai(2024, 2, 5, 10, 0))  # Monday


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the bureau and passwords, made once and copied per test
    (seeding takes a second; the tests that need PostgreSQL seed it themselves)."""
    path = tmp_path_factory.mktemp("web-template") / "santongbu.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    seed_people(db, start_clock())
    db.dispose()
    return path


@pytest.fixture
def web_db(seeded_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "santongbu.db"
    shutil.copy(seeded_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


# The tests move the clock by days between two clicks: sessions that outlive that (the session
# tests ask for the production defaults with ``sessions=None``).
LONG_SESSIONS = {"session_hours": 24 * 30, "session_idle_minutes": 60 * 24 * 30}


@contextmanager
def web_env(
    db: Database,
    tmp: Path,
    *,
    secret: str | None = None,
    people: tuple[str, ...] | None = PEOPLE,
    sessions: dict[str, float] | None = LONG_SESSIONS,
    **overrides: Any,
) -> Iterator[WebEnv]:
    """Serve API and pages over ``db``; seed the bureau and give ``people`` a password first,
    unless ``people`` is ``None`` (``db`` is a copy of :func:`seeded_template`)."""
    clock = start_clock()
    settings = Settings(
        database_url=db.url,
        mail_folder=tmp / "mail",
        blob_folder=tmp / "files",
        language="zh",
        secrets_key_file=key_file(tmp),
        **(sessions or {}),
        **overrides,
    )
    if people is not None:
        seed_people(db, clock, people)
    key = secret if secret is not None else secrets.token_urlsafe(48)
    app = create_app(db, clock, settings)
    install(app, db, clock, settings, secret=key)
    with live_server(app) as url:
        yield WebEnv(db, clock, settings, url, key)


# --------------------------------------------------------------------------- plain HTTP
class Session:
    """A cookie-keeping HTTP client for the pages, without a browser.

    The session cookie is ``Secure``; httpx (rightly) would not send it over http://, so this
    keeps cookies itself — it is a test of the server, not of a browser's cookie rules.
    """

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}
        self.raw_set_cookies: list[str] = []

    def _remember(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            self.raw_set_cookies.append(header)
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self._remember(self.client.get(path, headers=self._headers(), **kw))

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> httpx.Response:
        return self._remember(self.client.post(path, data=data, headers=self._headers(), **kw))

    def csrf(self, path: str) -> str:
        """The CSRF token of the forms on ``path`` (as a browser would find it)."""
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/web/login")
        return self.post(
            "/web/login", {"csrf_token": token, "login": login, "password": password, "next": "/web/"}
        )

    @property
    def session_cookie(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------- browser
# The pictures docs/web.md and the README show; refreshed with SANTONGBU_DOC_SCREENSHOTS=1.
CURATED = {
    "02-document-clerk",
    "03-refused-next-to-the-button",
    "05-signer-package",
    "08-documents-clerk",
    "10-dashboard",
    "13-documents-phone",
    "14-signer-english",
}


@dataclass
class Shots:
    """Screenshots of each page: always under test-artifacts/, and the :data:`CURATED` ones
    under docs/screenshots/ when SANTONGBU_DOC_SCREENSHOTS=1."""

    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 5000, f"screenshot {name} is suspiciously small"
        self.taken.append(path)
        if os.environ.get("SANTONGBU_DOC_SCREENSHOTS") == "1" and name in CURATED:
            DOC_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOC_SHOTS / path.name)
        return path


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@dataclass(frozen=True)
class NoBrowser:
    """Stands in for the browser when it cannot start, so the test itself FAILS (not errors
    in set-up, and never skips) with the command that fixes it."""

    message: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; one per test module."""
    try:
        sync_api = require_browser()
    except pytest.fail.Exception as exc:
        yield NoBrowser(str(exc))
        return
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def sign_in(browser: Any, env: WebEnv, login: str, *, viewport: dict[str, int] | None = None) -> Any:
    """A new browser context (its own cookies) signed in as ``login``, through the form."""
    if isinstance(browser, NoBrowser):
        pytest.fail(browser.message, pytrace=False)
    context = browser.new_context(
        viewport=viewport or DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(env.url("/web/login"))
    page.get_by_label("用户名").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/web/(documents|dashboard)$"))
    return page
