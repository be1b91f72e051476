"""A small threaded HTTP server on 127.0.0.1 for tests, with scriptable routes.

    with LocalServer() as server:
        server.route("/ok.jpg", image(JPEG))
        server.route("/flaky.jpg", sequence(status(500), status(500), image(JPEG)))
        fetch(server.url("/ok.jpg"))
        assert server.hits["/flaky.jpg"] == 3

A route is a *responder*: a callable ``(handler, hit)`` that writes the whole response
(``hit`` is 1 for the first request to that path). The helpers below build the usual
ones. The server counts hits per path and the most requests it had in flight at once,
so tests can check retries and concurrency exactly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Responder = Callable[["_Handler", int], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 would make a burst of 32 connections wait for SYN retries.
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        # Clients that time out and hang up are part of the tests, not errors.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle would hold the body for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        self.server.owner._connected()  # type: ignore[attr-defined]
        super().handle()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        owner: LocalServer = self.server.owner  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        hit = owner._enter(path, dict(self.headers.items()))
        try:
            responder = owner.routes.get(path)
            if responder is None:
                status(404, b"<html><body>not found</body></html>", content_type="text/html")(self, hit)
            else:
                responder(self, hit)
        except (TimeoutError, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        finally:
            owner._leave()

    # Helpers the responders use.
    def send(self, code: int, body: bytes, headers: dict[str, str] | None = None, *, length: bool = True) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            # Without a length the end of the body is the end of the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 and an ephemeral port."""

    def __init__(self) -> None:
        self.routes: dict[str, Responder] = {}
        self.hits: Counter[str] = Counter()
        self.headers: list[tuple[str, dict[str, str]]] = []
        self.max_in_flight = 0
        #: TCP connections accepted (keep-alive reuse shows as fewer than requests).
        self.connections = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, path: str, responder: Responder) -> str:
        """Serve ``path`` with ``responder``; returns the full URL."""
        self.routes[path] = responder
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.headers.clear()
            self.max_in_flight = 0
            self.connections = 0

    def _enter(self, path: str, headers: dict[str, str]) -> int:
        with self._lock:
            self.hits[path] += 1
            self.headers.append((path, headers))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self.hits[path]

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- responders -------------------------------------------------------------------------


def image(body: bytes, content_type: str = "image/jpeg", *, delay: float = 0.0) -> Responder:
    """200 with ``body`` (after ``delay`` seconds)."""

    def respond(handler: _Handler, hit: int) -> None:
        if delay:
            time.sleep(delay)
        handler.send(200, body, {"Content-Type": content_type})

    return respond


def status(code: int, body: bytes = b"", *, content_type: str = "text/plain",
           headers: dict[str, str] | None = None) -> Responder:
    """``code`` with a small body and optional extra headers."""

    def respond(handler: _Handler, hit: int) -> None:
        handler.send(code, body, {"Content-Type": content_type, **(headers or {})})

    return respond


def sequence(*responders: Responder) -> Responder:
    """The n-th request gets the n-th responder; the last one answers all later requests."""

    def respond(handler: _Handler, hit: int) -> None:
        responders[min(hit, len(responders)) - 1](handler, hit)

    return respond


def slow(delay: float, then: Responder) -> Responder:
    """Wait ``delay`` seconds before answering (to trip the client's read timeout)."""

    def respond(handler: _Handler, hit: int) -> None:
        time.sleep(delay)
        then(handler, hit)

    return respond


def no_length(body: bytes, content_type: str = "image/jpeg", *, chunk: int = 64 * 1024) -> Responder:
    """200 without Content-Length: the body is streamed and ends when the server hangs up."""

    def respond(handler: _Handler, hit: int) -> None:
        handler.send(200, b"", {"Content-Type": content_type}, length=False)
        for start in range(0, len(body), chunk):
            handler.wfile.write(body[start : start + chunk])
        handler.wfile.flush()

    return respond


def lying_length(body: bytes, declared: int, content_type: str = "image/jpeg") -> Responder:
    """200 announcing ``declared`` bytes but sending ``body`` (then hanging up)."""

    def respond(handler: _Handler, hit: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(declared))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True

    return respond


def chunked(body: bytes, content_type: str = "image/jpeg", *, chunk: int = 1024) -> Responder:
    """200 with Transfer-Encoding: chunked."""

    def respond(handler: _Handler, hit: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), chunk):
            piece = body[start : start + chunk]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    return respond


def drop_after(body: bytes, content_type: str = "image/jpeg") -> Responder:
    """200 with Content-Length, then the server closes the connection without saying so
    (as a keep-alive timeout on a real server does)."""

    def respond(handler: _Handler, hit: int) -> None:
        handler.send(200, body, {"Content-Type": content_type})
        handler.close_connection = True

    return respond


def redirect(location: str, code: int = 302) -> Responder:
    """``code`` to ``location`` (absolute or relative, sent as given)."""
    return status(code, b"moved", headers={"Location": location})


def retry_after(seconds: str, code: int = 429) -> Responder:
    """``code`` with a Retry-After header (seconds or an HTTP date, as a string)."""
    return status(code, b"slow down", headers={"Retry-After": seconds})
