"""A local HTTP server for feeds: what the news tests and the news benchmark read instead of the internet.

Serves documents registered by path with ETag/Last-Modified (answering 304 to a matching conditional
request) and optional gzip, plus the hostile cases a real feed can turn into: an error status, a response
that never ends, a huge body, a redirect loop.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Special = Literal["never_ends", "huge", "redirect_loop", "status"]


@dataclass
class Document:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    gzip: bool = False
    validators: bool = True
    version: int = 1
    modified: float = 0.0


@dataclass
class Behaviour:
    kind: Special
    status: int = 500
    size: int = 50_000_000


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up on a hostile response is the expected outcome, not an error."""


class FeedServer:
    """`with FeedServer() as server: server.add("/a.xml", rss); url = server.url("/a.xml")`."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[tuple[str, dict[str, str], int]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="feed-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, path: str, body: bytes | str, **options: object) -> str:
        """Serve `body` at `path` (replacing a previous version, which changes its validators)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            previous = self.documents.get(path)
            document = Document(data, **options)  # type: ignore[arg-type]
            document.version = previous.version + 1 if previous else 1
            document.modified = time.time() if previous else 1_700_000_000.0
            self.documents[path] = document
        return self.url(path)

    def behave(self, path: str, kind: Special, **options: int) -> str:
        self.behaviours[path] = Behaviour(kind, **options)
        return self.url(path)

    def count(self, path: str, status: int | None = None) -> int:
        return sum(
            1 for seen, _, code in self.requests if seen == path and (status is None or code == status)
        )

    # -- serving ---------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        headers = {key.lower(): value for key, value in request.headers.items()}
        behaviour = self.behaviours.get(path)
        if behaviour is not None:
            self._misbehave(request, path, headers, behaviour)
            return
        with self._lock:
            document = self.documents.get(path)
        if document is None:
            self._simple(request, path, headers, 404, b"not found")
            return
        etag = f'"v{document.version}-{len(document.body)}"'
        last_modified = formatdate(document.modified, usegmt=True)
        if document.validators and (
            headers.get("if-none-match") == etag or headers.get("if-modified-since") == last_modified
        ):
            self.requests.append((path, headers, 304))
            request.send_response(304)
            request.send_header("ETag", etag)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        body = document.body
        encoded = document.gzip and "gzip" in headers.get("accept-encoding", "")
        if encoded:
            body = gzip.compress(body)
        self.requests.append((path, headers, 200))
        request.send_response(200)
        request.send_header("Content-Type", document.content_type)
        request.send_header("Content-Length", str(len(body)))
        if encoded:
            request.send_header("Content-Encoding", "gzip")
        if document.validators:
            request.send_header("ETag", etag)
            request.send_header("Last-Modified", last_modified)
        request.end_headers()
        request.wfile.write(body)

    def _simple(
        self, request: BaseHTTPRequestHandler, path: str, headers: dict[str, str], status: int, body: bytes
    ) -> None:
        self.requests.append((path, headers, status))
        request.send_response(status)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _misbehave(
        self, request: BaseHTTPRequestHandler, path: str, headers: dict[str, str], behaviour: Behaviour
    ) -> None:
        if behaviour.kind == "status":
            self._simple(request, path, headers, behaviour.status, b"server error")
            return
        if behaviour.kind == "redirect_loop":
            self.requests.append((path, headers, 302))
            request.send_response(302)
            request.send_header("Location", path)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        self.requests.append((path, headers, 200))
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        if behaviour.kind == "huge":
            request.send_header("Content-Length", str(behaviour.size))
        request.send_header("Connection", "close")
        request.end_headers()
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        try:
            if behaviour.kind == "huge":
                request.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
                sent = 0
                while sent < behaviour.size and not self._closing.is_set():
                    request.wfile.write(chunk)
                    sent += len(chunk)
            else:  # never_ends: a valid start, then one byte now and then, forever
                request.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>slow')
                while not self._closing.is_set():
                    request.wfile.write(b" ")
                    request.wfile.flush()
                    time.sleep(0.05)
        except OSError:  # the client gave up, as it should
            return
