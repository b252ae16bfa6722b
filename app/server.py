"""Production serving with gunicorn, started from the ``mobihub serve`` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class HubServer(BaseApplication):
    """Gunicorn running the app the factory builds in each worker."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def run_gunicorn(factory: Callable[[], Any], *, host: str, port: int, workers: int,
                 threads: int) -> None:
    """Serve until interrupted; access lines come from the app's own JSON log."""
    HubServer(factory, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "mobihub",
    }).run()
