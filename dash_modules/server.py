"""The production server: uvicorn (ASGI) in front of the Dash app, the push channel and the JSON API.

    security middleware ─┬─ GET /api/push   server-sent events (dash_modules/push.py), on uvicorn's loop
                         └─ everything else the Dash/Flask app (pages, callbacks, /api/*) through a
                            WSGI bridge whose worker threads run the callbacks

Flask keeps the JSON API's routes, shapes and errors as they were; the bridge's thread pool means a slow
full-figure callback never stalls the pushed updates.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import uvicorn
from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route

from dash_modules.push import (
    PUSH_PATH,
    PushHub,
    chart_panes_param,
    chart_state_param,
    client_stream,
    shows_param,
)
from dash_modules.security import TOKEN_ENV, SecurityMiddleware, SecurityPolicy

if TYPE_CHECKING:
    from dash import Dash

    from thebot.config import ServerSettings

logger = logging.getLogger(__name__)

WSGI_WORKERS = 16
GRACEFUL_SHUTDOWN_SECONDS = 2


def security_policy(server: ServerSettings) -> SecurityPolicy:
    """From settings and env (env wins); raises SecurityError for a non-loopback bind without a token."""
    token = os.environ.get(TOKEN_ENV) or server.auth_token or None
    return SecurityPolicy.build(server.host, token, server.allowed_hosts)


def build_asgi(app: Dash, hub: PushHub, policy: SecurityPolicy) -> SecurityMiddleware:
    async def push(request: Request) -> Response:
        hub.ensure_started()
        query = request.query_params
        client = hub.connect(
            chart_state_param(query.get("chart")),
            shows_param(query.get("shows")),
            chart_panes_param(query.get("charts")),
        )
        return StreamingResponse(
            client_stream(hub, client),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        hub.stop()

    starlette = Starlette(
        routes=[
            Route(PUSH_PATH, push, methods=["GET"]),
            Mount("/", app=WSGIMiddleware(app.server, workers=WSGI_WORKERS)),
        ],
        lifespan=lifespan,
    )
    return SecurityMiddleware(starlette, policy)


def serve(asgi: Any, host: str, port: int) -> None:
    """Blocks until SIGINT/SIGTERM (uvicorn handles both and closes open streams)."""
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ws="none",
    )
    uvicorn.Server(config).run()
