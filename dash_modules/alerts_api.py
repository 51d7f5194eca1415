"""The alerts JSON API: rules (create, list, change, delete) and the alert history (query, dismiss).

State-changing requests are JSON only (415 otherwise) and answer 400 `{"error", "field"}` naming the
field that was wrong; reads follow `dash_modules/api.py`'s conventions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, jsonify, request

from dash_modules.api import BadRequest, error_response, query_int
from thebot.alerts.manager import AlertManager
from thebot.alerts.models import AlertStatus, AlertType
from thebot.alerts.rules import RuleError
from thebot.services import Services

MAX_HISTORY_LIMIT = 1000


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise _Status(415, "send application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


class _Status(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def alerts_endpoint(services: Services) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hands the manager to the handler; turns refusals into JSON errors with their status."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(handler)
        def wrapper(**kwargs: Any) -> Any:
            manager = services.alerts
            if manager is None:
                return error_response("alerts are not running", 503)
            try:
                return handler(manager, **kwargs)
            except RuleError as error:
                answer: Response = jsonify({"error": str(error), "field": error.field})
                return answer, 400
            except BadRequest as error:
                return error_response(str(error))
            except _Status as error:
                return error_response(str(error), error.status)

        return wrapper

    return decorate


def _choice(name: str, allowed: list[str]) -> str | None:
    raw = request.args.get(name) or None
    if raw is not None and raw.upper() not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}, got '{raw}'")
    return raw.upper() if raw else None


def _rule_answer(manager: AlertManager, rule_id: str) -> dict[str, Any]:
    rule = manager.rule(rule_id)
    if rule is None:
        raise _Status(404, f"no alert rule '{rule_id}'; GET /api/alerts lists them")
    answer = manager.rule_status(rule)
    evidence = manager.evidence(rule)
    answer["evidence"] = None if evidence is None else evidence.sentence()
    return answer


def register(server: Flask, services: Services) -> None:
    endpoint = alerts_endpoint(services)

    @server.post("/api/alerts")
    @endpoint
    def api_alert_create(manager: AlertManager) -> Any:
        rule = manager.create_rule(_json_body())
        return jsonify(_rule_answer(manager, rule.id)), 201

    @server.get("/api/alerts")
    @endpoint
    def api_alert_rules(manager: AlertManager) -> Any:
        return jsonify([manager.rule_status(rule) for rule in manager.rules()])

    @server.post("/api/alerts/evidence")
    @endpoint
    def api_alert_evidence(manager: AlertManager) -> Any:
        """How often a rule would have fired, without saving it."""
        rule = manager.parse(_json_body())
        evidence = manager.evidence(rule)
        if evidence is None:
            return jsonify({"fired": None, "candles": 0, "evidence": None})
        sentence = evidence.sentence()
        return jsonify({"fired": evidence.fired, "candles": evidence.candles, "evidence": sentence})

    @server.patch("/api/alerts/<rule_id>")
    @endpoint
    def api_alert_update(manager: AlertManager, rule_id: str) -> Any:
        changes = _json_body()
        try:
            manager.update_rule(rule_id, changes)
        except KeyError:
            raise _Status(404, f"no alert rule '{rule_id}'; GET /api/alerts lists them") from None
        return jsonify(_rule_answer(manager, rule_id))

    @server.delete("/api/alerts/<rule_id>")
    @endpoint
    def api_alert_delete(manager: AlertManager, rule_id: str) -> Any:
        if not request.is_json:
            raise _Status(415, "send application/json")
        if not manager.delete_rule(rule_id):
            raise _Status(404, f"no alert rule '{rule_id}'; GET /api/alerts lists them")
        return jsonify({"id": rule_id, "deleted": True})

    @server.get("/api/alerts/history")
    @endpoint
    def api_alert_history(manager: AlertManager) -> Any:
        limit = query_int("limit", 100, 1, MAX_HISTORY_LIMIT)
        since = query_int("since", None, 0, 2**53)
        until = query_int("until", None, 0, 2**53)
        alerts = manager.history(
            symbol=(request.args.get("symbol") or "").upper() or None,
            alert_type=_choice("type", [t.value for t in AlertType]),
            status=_choice("status", [s.value for s in AlertStatus]),
            since=since,
            until=until,
            limit=limit or 100,
        )
        return jsonify([alert.as_dict() for alert in alerts])

    @server.post("/api/alerts/history/<int:alert_id>/dismiss")
    @endpoint
    def api_alert_dismiss(manager: AlertManager, alert_id: int) -> Any:
        _json_body()
        alert = manager.store.get(alert_id)
        if alert is None:
            raise _Status(404, f"no alert {alert_id}")
        if not manager.dismiss(alert_id):
            current = manager.store.get(alert_id)
            status = current.status.value if current else "gone"
            raise _Status(409, f"alert {alert_id} is {status}; only ACTIVE alerts can be dismissed")
        return jsonify({"id": alert_id, "status": AlertStatus.DISMISSED.value})

    @server.post("/api/alerts/history/dismiss")
    @endpoint
    def api_alert_dismiss_all(manager: AlertManager) -> Any:
        _json_body()
        return jsonify({"dismissed": manager.dismiss_all()})
