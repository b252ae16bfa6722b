"""RFC 9457 problem details for every error the APIs return.

Each error kind has a stable ``type`` URI (listed in ``docs/errors.md``); validation errors
carry one entry per field in ``errors``. A 500 never shows internals: only the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, json, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://mobihub.eu/problems/"

# HTTP status -> stable problem type slug for errors raised without a specific kind.
STATUS_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    500: "internal-error",
    502: "upstream-error",
    503: "unavailable",
}

log = logging.getLogger("mobihub.errors")


class Problem(HTTPException):
    """An HTTP error with a specific problem type, raised by services and views alike."""

    def __init__(
        self,
        status: int,
        type_slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.type_slug = type_slug
        self.title = title
        self.detail = detail
        self.extra_headers = headers or {}
        self.extensions = extensions


def problem_type(slug: str) -> str:
    """The absolute ``type`` URI of a problem kind."""
    return PROBLEM_TYPE_BASE + slug


def problem_response(
    status: int,
    type_slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """Build an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": problem_type(type_slug),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request:
        body["instance"] = request.path
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_errors(messages: Any) -> list[dict[str, str]]:
    """Flatten webargs messages ``{location: {field: [msg]}}`` to one entry per field."""
    errors: list[dict[str, str]] = []

    def walk(node: Any, path: list[str], location: str | None) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)], location)
        elif isinstance(node, list | tuple) and all(isinstance(i, str) for i in node):
            for message in node:
                errors.append(
                    {"field": ".".join(path) or "_schema", "in": location or "body",
                     "message": message}
                )
        elif isinstance(node, list | tuple):
            for index, item in enumerate(node):
                walk(item, [*path, str(index)], location)
        else:
            errors.append({"field": ".".join(path) or "_schema", "in": location or "body",
                           "message": str(node)})

    if isinstance(messages, dict):
        for location, fields in messages.items():
            if location in {"query", "json", "path", "headers", "form", "files", "cookies"}:
                walk(fields, [], "body" if location == "json" else location)
            else:
                walk({location: fields}, [], None)
    else:
        walk(messages, [], None)
    return errors


def _wants_html() -> bool:
    if request.path.startswith(API_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "application/json"]


# Paths that always answer problem+json, whatever the client accepts.
API_PREFIXES = ("/transit/", "/parking/", "/catalog/", "/account/", "/oauth/", "/openapi/",
                "/healthz", "/readyz")


def handle_http_exception(error: HTTPException) -> Response | tuple[str, int]:
    """Turn any HTTP error into problem+json (APIs) or an HTML page (portal browsers)."""
    status = error.code or 500
    if isinstance(error, Problem):
        response = problem_response(status, error.type_slug, error.title, error.detail,
                                    error.extra_headers, **error.extensions)
        return response
    data = getattr(error, "data", None) or {}
    extensions: dict[str, Any] = {}
    detail = error.description if status < 500 else None
    if status == 422 and "messages" in data:
        extensions["errors"] = validation_errors(data["messages"])
        detail = "The request has invalid fields; see errors."
    elif "message" in data:
        detail = data["message"]
    if status >= 500:
        detail = "An unexpected error occurred. Quote the request id when reporting it."
    headers = dict(data.get("headers") or {})
    if status == 405 and error.get_response().headers.get("Allow"):
        headers["Allow"] = error.get_response().headers["Allow"]
    if _wants_html():
        try:
            html = render_template("errors/error.html", status=status, title=error.name,
                                   detail=detail)
            return html, status
        except Exception:  # a broken template must not hide the original error
            log.exception("error page failed to render")
    return problem_response(status, STATUS_TYPES.get(status, "http-error"), error.name,
                            detail, headers, **extensions)


def handle_unexpected_exception(error: Exception) -> Response | tuple[str, int]:
    """Log the traceback with the request id and answer a 500 that leaks nothing."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error", extra={"error_type": type(error).__name__})
    return handle_http_exception(InternalServerError())


def refuse_oversized_bodies() -> None:
    """413 as soon as a declared body exceeds ``MAX_CONTENT_LENGTH``, read by the view or not."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        raise RequestEntityTooLarge(
            f"The request body is {request.content_length:,} bytes; the limit is {limit:,}.")


def configure_errors(app: Flask) -> None:
    """Register the handlers last so they win over the ones flask-smorest registers."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized_bodies)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_exception)
