"""The blueprint of the data APIs: endpoints refuse query parameters they do not declare.

webargs ignores unknown query parameters by default, so a misspelt filter (``?radus=100``,
``?lmit=5``) gave a plausible but wrong answer. These endpoints answer a 422 validation problem
naming each unknown parameter instead, as they do for a known parameter with a bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import current_app, request

UNKNOWN_PARAMETER = "Unknown query parameter."


class ApiBlueprint(flask_smorest.Blueprint):
    """A flask-smorest ``Blueprint`` whose endpoints accept only their declared query
    parameters (those of their ``arguments(..., location="query")`` schemas; none without)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_unknown_query_parameters)

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable:
        """flask-smorest's ``arguments``, remembering the query parameters a view accepts."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "query":
            return decorator
        instance = schema() if isinstance(schema, type) else schema
        names = frozenset(field.data_key or name for name, field in instance.fields.items()
                          if not field.dump_only)

        def remember(func: Callable) -> Callable:
            wrapped = decorator(func)
            wrapped._query_parameters = query_parameters(func) | names  # type: ignore[attr-defined]
            return wrapped

        return remember


def query_parameters(view: Any) -> frozenset[str]:
    """The query parameters a view function declared (none unless through ``arguments``)."""
    return getattr(view, "_query_parameters", frozenset())


def refuse_unknown_query_parameters() -> None:
    """Abort with a 422 problem listing the request's undeclared query parameters."""
    if request.method == "OPTIONS" or not request.args:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: HEAD is answered by get
        view = getattr(view_class, request.method.lower(), None) or getattr(
            view_class, "get", None)
    unknown = sorted(set(request.args) - query_parameters(view))
    if unknown:
        flask_smorest.abort(422, messages={"query": {name: [UNKNOWN_PARAMETER]
                                                     for name in unknown}})
