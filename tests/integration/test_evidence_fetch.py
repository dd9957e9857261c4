"""The evidence fetcher against real HTTP servers on loopback: it stays inside the allow-list,
never connects to an address it refused, and no server can hang it or fill its memory
(docs/evidence.md, "What a fetch may do"). Timeouts here are short; no test asserts a duration."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from tests.conftest import shanghai
from tests.evidence_support import TITLE, PageServer, Reply, html, newspaper_page, page_server
from workflow.kernel.allowlist import AllowList
from workflow.services.evidence.checks import Claim, analyse, decode_html
from workflow.services.evidence.fetcher import Fetcher, Limits, system_resolver

LIMITS = Limits(
    connect_timeout=1.0, read_timeout=0.5, total_timeout=2.0, max_bytes=64 * 1024, max_redirects=3
)


@pytest.fixture
def server() -> Iterator[PageServer]:
    with page_server() as s:
        s.routes["/ok"] = html(
            f"<html><head><title>{TITLE}</title></head><body>发布时间:2024-02-19</body></html>"
        )
        yield s


def fetcher_for(*entries: str, resolver=None) -> Fetcher:  # type: ignore[no-untyped-def]
    return Fetcher(AllowList(",".join(entries)), LIMITS, resolver=resolver)


def test_a_listed_host_is_fetched_with_its_status_headers_and_bytes(server: PageServer) -> None:
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/ok"))
    assert got.ok and got.status == 200 and got.final_url == server.url("/ok")
    assert got.body is not None and TITLE.encode() in got.body
    assert got.content_type == "text/html; charset=utf-8" and got.address == "127.0.0.1"


def test_404_is_an_answer_without_a_failure(server: PageServer) -> None:
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/gone"))
    assert got.failure is None and got.status == 404  # the checker records it as unreachable


def test_a_host_not_listed_is_refused_before_any_connection(server: PageServer) -> None:
    got = fetcher_for("portal.example.cn").fetch(server.url("/ok"))
    assert got.failure is not None and got.failure.code == "host_not_allowed"
    assert server.paths() == []


def test_a_listed_name_on_a_loopback_address_needs_its_exact_host_and_port(server: PageServer) -> None:
    """'localhost' admitted on the default port list resolves to loopback: refused; listed with
    its port it is fetched."""
    got = fetcher_for("localhost", f"localhost:{server.port + 1}").fetch(f"http://localhost:{server.port}/ok")
    assert got.failure is not None and got.failure.code == "host_not_allowed"
    on_wildcard_port = Fetcher(AllowList("localhost"), LIMITS).fetch("http://localhost/ok")
    assert on_wildcard_port.failure is not None and on_wildcard_port.failure.code == "address_not_allowed"
    assert server.paths() == []
    listed = fetcher_for(f"localhost:{server.port}").fetch(f"http://localhost:{server.port}/ok")
    assert listed.ok and listed.status == 200


def test_a_redirect_to_a_private_address_is_refused_without_connecting() -> None:
    """Allow-list 127.0.0.1:PORT; the page redirects to 127.0.0.2 (another server listens
    there) and to 10.0.0.1: both refused, and the other server never sees a request."""
    with page_server() as portal, page_server("127.0.0.2") as internal:
        internal.routes["/admin"] = html("<title>内部系统</title>")
        portal.routes["/to-internal"] = Reply(302, headers={"Location": internal.url("/admin")})
        portal.routes["/to-ten"] = Reply(301, headers={"Location": "http://10.0.0.1/"})
        f = fetcher_for(f"127.0.0.1:{portal.port}")
        for path in ("/to-internal", "/to-ten"):
            got = f.fetch(portal.url(path))
            assert got.failure is not None and got.failure.code == "host_not_allowed", path
            assert got.body is None and len(got.hops) == 1
        assert internal.paths() == []


def test_a_public_name_that_resolves_into_the_network_is_refused(server: PageServer) -> None:
    """DNS rebinding: a name admitted by a wildcard resolves to a private address."""
    f = fetcher_for("*.fuzhou.gov.cn", resolver=lambda host, port: ["10.1.2.3"])
    got = f.fetch("http://jtj.fuzhou.gov.cn/zcwj/1.htm")
    assert got.failure is not None and got.failure.code == "address_not_allowed"
    assert got.failure.params == {"host": "jtj.fuzhou.gov.cn", "address": "10.1.2.3"}


def test_the_connection_goes_to_the_checked_address_with_the_name_kept(server: PageServer) -> None:
    """The URL's name is resolved once, here; the request goes to that address and still says
    Host: portal.test:PORT (the name a rebinding DNS would answer differently for next time)."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    f = fetcher_for(f"portal.test:{server.port}", resolver=lambda host, port: next(answers))
    got = f.fetch(f"http://portal.test:{server.port}/ok")
    assert got.ok and got.address == "127.0.0.1"
    assert server.requests == [("/ok", f"portal.test:{server.port}")]


def test_a_slow_server_times_out(server: PageServer) -> None:
    server.routes["/slow"] = Reply(200, b"<title>late</title>", {"Content-Type": "text/html"}, delay=3.0)
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/slow"))
    assert (
        got.failure is not None and got.failure.code == "timeout" and got.failure.params == {"phase": "read"}
    )


def test_a_server_trickling_bytes_is_cut_by_the_total_deadline(server: PageServer) -> None:
    """Each byte comes within the read timeout, so only the deadline over the whole fetch stops it."""
    server.routes["/trickle"] = Reply(200, b"x" * 100, {"Content-Type": "text/html"}, trickle=True)
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/trickle"))
    assert (
        got.failure is not None and got.failure.code == "timeout" and got.failure.params == {"phase": "total"}
    )


def test_a_redirect_loop_and_too_many_redirects_end_the_fetch(server: PageServer) -> None:
    server.routes["/a"] = Reply(302, headers={"Location": "/b"})
    server.routes["/b"] = Reply(302, headers={"Location": server.url("/a#top")})
    for i in range(5):
        server.routes[f"/hop{i}"] = Reply(307, headers={"Location": f"/hop{i + 1}"})
    f = fetcher_for(f"127.0.0.1:{server.port}")
    loop = f.fetch(server.url("/a"))
    assert loop.failure is not None and loop.failure.code == "redirect_loop"
    chain = f.fetch(server.url("/hop0"))
    assert chain.failure is not None and chain.failure.code == "too_many_redirects"
    assert chain.failure.params == {"limit": 3} and len(chain.hops) == 4


def test_a_page_over_the_size_limit_is_abandoned(server: PageServer) -> None:
    big = b"<html>" + b"a" * (LIMITS.max_bytes + 10)
    server.routes["/declared"] = Reply(200, big, {"Content-Type": "text/html"})
    server.routes["/streamed"] = Reply(200, big, {"Content-Type": "text/html", "Connection": "close"})
    bomb = gzip.compress(b"<html>" + b"\0" * (50 * LIMITS.max_bytes))
    server.routes["/bomb"] = Reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    f = fetcher_for(f"127.0.0.1:{server.port}")
    for path in ("/declared", "/streamed", "/bomb"):
        got = f.fetch(server.url(path))
        assert got.failure is not None and got.failure.code == "too_large", path
        assert got.body is None
    assert len(bomb) < LIMITS.max_bytes  # small on the wire, huge once decoded


def test_gzip_within_the_limit_is_decoded(server: PageServer) -> None:
    page = f"<html><title>{TITLE}</title></html>".encode()
    server.routes["/gz"] = Reply(
        200, gzip.compress(page), {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
    )
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/gz"))
    assert got.ok and got.body == page


def test_a_gbk_page_is_read_by_its_meta_charset_and_by_detection(server: PageServer) -> None:
    server.routes["/gbk"] = newspaper_page(declare=False)
    got = fetcher_for(f"127.0.0.1:{server.port}").fetch(server.url("/gbk"))
    assert got.ok and got.body is not None
    text, charset = decode_html(got.body, got.content_type)
    assert charset == "gb18030" and TITLE in text
    undeclared = got.body.replace(b"charset=gb2312", b"")
    text, _ = decode_html(undeclared, "text/html")  # no declaration at all: detected
    assert TITLE in text
    found = analyse(
        got.body,
        got.content_type,
        got.final_url or "",
        Claim("news_media", TITLE, None, shanghai(2024, 2, 19, 9, 0), None),
        "Asia/Shanghai",
    )
    assert found.status == "verified" and found.page_date == "2024-02-19 08:00:00"


def test_only_http_urls_without_credentials_are_fetched(server: PageServer) -> None:
    f = fetcher_for(f"127.0.0.1:{server.port}")
    for url in (
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{server.port}/",
        f"http://user:pw@127.0.0.1:{server.port}/ok",
        "http://[::1",
        "javascript:alert(1)",
    ):
        got = f.fetch(url)
        assert got.failure is not None and got.failure.code == "bad_url", url
    assert server.paths() == []


def test_the_system_resolver_answers_for_loopback() -> None:
    assert "127.0.0.1" in system_resolver("127.0.0.1", 80)


def _certificate(tmp_path, name: str):  # type: ignore[no-untyped-def]
    """A self-signed certificate for ``name`` (and the client context that trusts it)."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=36500))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cafile=str(cert_file))
    return server_ctx, client_ctx


def test_https_to_the_checked_address_verifies_the_certificate_against_the_name(
    tmp_path, server: PageServer
) -> None:  # type: ignore[no-untyped-def]
    """The request goes to 127.0.0.1, yet TLS sends SNI 'portal.test' and checks the
    certificate against that name; a certificate for another name is refused."""
    server_ctx, client_ctx = _certificate(tmp_path, "portal.test")
    seen_sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment]
    server.httpd.socket = server_ctx.wrap_socket(server.httpd.socket, server_side=True)
    url = f"https://portal.test:{server.port}/ok"
    good = Fetcher(
        AllowList(f"portal.test:{server.port}"),
        LIMITS,
        resolver=lambda h, p: ["127.0.0.1"],
        verify=client_ctx,
    ).fetch(url)
    assert good.ok and good.status == 200 and good.address == "127.0.0.1"
    assert seen_sni == ["portal.test"] and server.requests[-1] == ("/ok", f"portal.test:{server.port}")
    wrong = Fetcher(
        AllowList(f"other.test:{server.port}"), LIMITS, resolver=lambda h, p: ["127.0.0.1"], verify=client_ctx
    ).fetch(f"https://other.test:{server.port}/ok")
    assert wrong.failure is not None and wrong.failure.code == "connect_failed"
    assert wrong.failure.params["problem"].startswith("TLS")
