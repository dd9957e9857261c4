"""Real HTTP servers on loopback serving real-shaped pages for the evidence checker's tests:
a municipal portal (policy page with 发布日期 and 成文日期, an interpretation with 发布时间 and a
相关链接 block), a newspaper in GBK, and the misbehaving ones (404, slow, loops, huge, redirect
into the internal network). Each server runs in a thread (``http.server``); pages can be
swapped or removed while it runs, and every request is logged so a test can assert that a
refused URL was never connected to."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TITLE = "福州市道路运输管理办法"
NUMBER = "榕交〔2024〕1号"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: bool = False


Route = Reply | Callable[[], Reply]


class PageServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a mutable table of routes."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append((self.path, self.headers.get("Host", "")))
                    route = server.routes.get(self.path)
                reply = route() if callable(route) else route
                if reply is None:
                    reply = Reply(
                        404,
                        "<html><head><title>404 页面不存在</title></head><body>页面不存在</body></html>".encode(),
                        {"Content-Type": "text/html; charset=utf-8"},
                    )
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    unbounded = reply.headers.get("Connection") == "close"  # body until the socket closes
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if "Content-Length" not in reply.headers and not unbounded:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.trickle:
                        for i in range(len(reply.body)):
                            self.wfile.write(reply.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.2)
                    else:
                        self.wfile.write(reply.body)
                    if unbounded:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = host

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def paths(self) -> list[str]:
        with self._lock:
            return [p for p, _ in self.requests]

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, name=f"pages-{self.port}", daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def page_server(host: str = "127.0.0.1") -> Iterator[PageServer]:
    server = PageServer(host)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def html(body: str, *, charset: str = "utf-8", declare: bool = True) -> Reply:
    ctype = f"text/html; charset={charset}" if declare else "text/html"
    return Reply(200, body.encode(charset), {"Content-Type": ctype})


def policy_page(
    server: PageServer, *, back_to: str | None = "/jd/1.htm", published: str = "2024-02-09"
) -> Reply:
    related = (
        f'<div class="xgjd"><h3>相关解读</h3><a href="{back_to}">《{TITLE}》政策解读</a></div>'
        if back_to
        else ""
    )
    return html(f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="{TITLE}"><meta name="PubDate" content="{published} 10:00">
<title>{TITLE}_政策文件_福州市交通运输局</title></head><body>
<table class="xxgk"><tr><td>索引号:</td><td>FZ00104-0200-2024-00001</td><td>文号:</td><td>{NUMBER}</td></tr>
<tr><td>成文日期:</td><td>2024-02-01</td><td>发布日期:</td><td>{published}</td></tr></table>
<h1>{TITLE}</h1><div class="article">第一条 为了规范道路运输管理……</div>{related}</body></html>""")


def interpretation_page(
    server: PageServer, *, link: bool = True, title: str = TITLE, posted: str = "2024-02-19 10:00:00"
) -> Reply:
    block = (
        (
            f'<div class="xglj"><h3>相关链接</h3><ul><li><a href="{server.url("/zcwj/1.htm")}" target="_blank">'
            f"{title}</a></li></ul></div>"
        )
        if link
        else ""
    )
    return html(f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>《{title}》政策解读_政策解读_福州市交通运输局</title></head><body>
<div class="title">《{title}》政策解读</div>
<div class="info"><span>发布时间:{posted}</span><span>来源:福州市交通运输局</span><span>浏览次数:128</span></div>
<div class="content"><p>一、制定背景</p><p>为进一步规范我市道路运输市场秩序……</p></div>{block}</body></html>""")


def newspaper_page(*, declare: bool = False, date: str = "2024-02-19") -> Reply:
    """A GBK page whose charset only its <meta> tag gives (the server says text/html)."""
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<meta name="PubDate" content="{date} 08:00"><title>我市出台道路运输管理新规 - 福州日报</title></head>
<body><div class="info">福州日报 {date} 第2版</div><p>日前,市交通运输局印发《{TITLE}》({NUMBER}),
明确……記者 林某某</p></body></html>"""
    return html(page, charset="gbk", declare=declare)
