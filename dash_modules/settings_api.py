"""The settings API: read, change (validated, all or nothing), history, revert, reset.

State-changing routes take JSON only (415 otherwise) and answer 400 with {"error", "errors": [{"key",
"reason"}]} naming every bad field; nothing is applied then. Secrets are never sent back: {"set": bool}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from dash_modules.api import BadRequest, error_response, json_endpoint, query_int
from thebot.settings_schema import json_schema, schema_fields
from thebot.settings_store import ApplyResult, SettingsRejected, SettingsStore

if TYPE_CHECKING:
    from thebot.services import Services

MAX_SYMBOL_MATCHES = 50


def settings_answer(store: SettingsStore, result: ApplyResult | None = None) -> dict[str, Any]:
    """The saved settings (same sections and keys as the TOML) plus the key lists the page needs."""
    answer = store.document()
    answer["live"] = [info.key for info in schema_fields() if info.mark == "live"]
    answer["pending_restart"] = store.pending_restart()
    answer["warnings"] = list(store.warnings)
    answer["version"] = store.version
    if result is not None:
        answer.update(result.as_dict())
    return answer


def rejected_response(error: SettingsRejected) -> tuple[Response, int]:
    return jsonify({"error": str(error), "errors": [item.as_dict() for item in error.errors]}), 400


def json_object() -> dict[str, Any] | tuple[Response, int]:
    """The request's JSON object, or the 415/400 answer to send instead."""
    if not request.is_json:
        return error_response("send application/json", 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response('the body must be a JSON object, e.g. {"ui": {"chart_candles": 500}}')
    return body


def register(server: Flask, services: Services) -> None:
    store = services.settings_store

    @server.get("/api/settings")
    def api_settings() -> Any:
        return jsonify(settings_answer(store))

    @server.patch("/api/settings")
    def api_settings_patch() -> Any:
        body = json_object()
        if not isinstance(body, dict):
            return body
        try:
            result = store.apply(body, origin="api")
        except SettingsRejected as error:
            return rejected_response(error)
        return jsonify(settings_answer(store, result))

    @server.get("/api/settings/history")
    @json_endpoint
    def api_settings_history() -> Any:
        limit = query_int("limit", 200, 1, 1000)
        assert limit is not None
        return jsonify([entry.as_dict() for entry in store.history(limit)])

    @server.post("/api/settings/revert/<int:entry_id>")
    def api_settings_revert(entry_id: int) -> Any:
        body = json_object()
        if not isinstance(body, dict):
            return body
        try:
            result = store.revert(entry_id)
        except KeyError:
            return error_response(f"no history entry {entry_id}; see GET /api/settings/history", 404)
        except SettingsRejected as error:
            return rejected_response(error)
        return jsonify(settings_answer(store, result))

    @server.post("/api/settings/reset/<section>")
    def api_settings_reset(section: str) -> Any:
        body = json_object()
        if not isinstance(body, dict):
            return body
        try:
            result = store.reset_section(section)
        except SettingsRejected as error:
            return rejected_response(error)
        return jsonify(settings_answer(store, result))

    @server.get("/api/settings/schema")
    def api_settings_schema() -> Any:
        return jsonify({"json_schema": json_schema(), "fields": [info.as_dict() for info in schema_fields()]})

    @server.get("/api/settings/symbols")
    @json_endpoint
    def api_settings_symbols() -> Any:
        """The venue's TRADING symbols containing `q` (case-insensitive), for the symbol picker."""
        query = (request.args.get("q") or "").strip().upper()
        if query and not query.isalnum():
            raise BadRequest(f"'q' must be letters and digits, got '{query}'")
        symbols = [symbol for symbol in store.trading_symbols() if query in symbol]
        return jsonify({"symbols": symbols[:MAX_SYMBOL_MATCHES], "total": len(symbols)})
