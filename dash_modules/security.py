"""The security floor, one ASGI middleware in front of everything the server answers.

The server will soon place orders and change settings, so every request passes four checks:
1. **Host allow-list** (DNS rebinding): a page on evil.example that resolves its name to 127.0.0.1 sends
   `Host: evil.example`; only loopback names, the bound address and configured hosts are answered.
2. **Token off loopback**: bound to anything but loopback, every HTTP request and websocket upgrade
   carries the token (`Authorization: Bearer …`, or the `thebot_token` cookie a browser gets by opening
   `/?token=…` once); compared in constant time, never logged.
3. **Origin** on state-changing requests and websocket upgrades: a browser's cross-site request names
   its origin (`Origin`, `Sec-Fetch-Site`); anything but this server's own origin is refused. Clients
   that send neither (curl, notebooks) are not browsers and cannot be ridden by a foreign page.
4. **JSON only** for POST/PUT/PATCH/DELETE: an HTML form or a `text/plain` fetch cannot send
   `application/json` cross-site without a preflight, so a forged request fails here even if it got by.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

logger = logging.getLogger(__name__)

TOKEN_COOKIE = "thebot_token"
TOKEN_ENV = "THEBOT_AUTH_TOKEN"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityError(ValueError):
    """The server must not start this way; the message says what to change."""


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    token: str | None
    allowed_hosts: frozenset[str]
    any_host: bool

    @classmethod
    def build(cls, bind_host: str, token: str | None, extra_hosts: Iterable[str] = ()) -> SecurityPolicy:
        """Refuses (SecurityError) to listen off loopback without a token."""
        token = token or None
        if not is_loopback(bind_host) and token is None:
            raise SecurityError(
                f"refusing to listen on {bind_host} without an auth token: anyone who can reach this "
                f"address could place orders. Set {TOKEN_ENV} (e.g. `export {TOKEN_ENV}=$(python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')`) or server.auth_token, or bind "
                "127.0.0.1."
            )
        hosts = {name.lower() for name in LOOPBACK_NAMES} | {host.lower() for host in extra_hosts}
        wildcard = bind_host in ("0.0.0.0", "::", "")
        if not wildcard:
            hosts.add(bind_host.strip("[]").lower())
        # Bound to every interface with no host list, the token is the guard (a rebinding page cannot
        # know it, and the cookie never leaves this host's name).
        return cls(token=token, allowed_hosts=frozenset(hosts), any_host=wildcard and not extra_hosts)

    def host_allowed(self, host_header: str) -> bool:
        if self.any_host:
            return True
        return _host_name(host_header) in self.allowed_hosts

    def token_ok(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        if self.token is None:
            return True
        offered = ""
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        elif "cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:
                cookie = SimpleCookie()
            morsel = cookie.get(TOKEN_COOKIE)
            offered = morsel.value if morsel is not None else ""
        if not offered:
            offered = query.get("token", "")
        return hmac.compare_digest(offered.encode(), self.token.encode())


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(origin: str, scheme: str, host_header: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy
        self.refused: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        problem = self._check(scope, headers, query)
        if problem is not None:
            status, reason = problem
            self.refused[reason] = self.refused.get(reason, 0) + 1
            logger.warning(
                "refused %s %s from %s: %s",
                scope.get("method", "WEBSOCKET"),
                scope.get("path"),
                (scope.get("client") or ("?",))[0],
                reason,
            )
            await _refuse(scope, send, status, reason)
            return
        if self.policy.token is not None and "token" in query and scope["type"] == "http":
            # A browser opened /?token=…: keep the token in an HttpOnly cookie and drop it from the URL.
            await _redirect_with_cookie(scope, send, query, self.policy.token)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope, headers: dict[str, str], query: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if not self.policy.host_allowed(host):
            return 400, f"host {_host_name(host)!r} is not allowed; add it to server.allowed_hosts"
        if not self.policy.token_ok(headers, query):
            return 401, "missing or wrong auth token"
        method = scope.get("method", "GET")
        websocket = scope["type"] == "websocket"
        if websocket or method in STATE_CHANGING:
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, scope.get("scheme", "http"), host):
                return 403, "cross-origin request refused"
            if headers.get("sec-fetch-site") == "cross-site":
                return 403, "cross-site request refused"
        if method in STATE_CHANGING:
            content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if content_type != "application/json":
                return 415, "send application/json"
        return None


async def _refuse(scope: Scope, send: Send, status: int, reason: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    body = json.dumps({"error": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(scope: Scope, send: Send, query: dict[str, str], token: str) -> None:
    rest = urlencode({key: value for key, value in query.items() if key != "token"})
    location = scope.get("path", "/") + (f"?{rest}" if rest else "")
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"set-cookie", cookie.encode()),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
