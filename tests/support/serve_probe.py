"""Serve the probe hub with the production server: ``python -m tests.support.serve_probe PORT``.

Settings come from ``MOBIHUB_*`` variables (database, Redis, instance folder).
"""

import sys

from app.server import run_gunicorn
from tests.support.gateway import create_probe_app

if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2
    run_gunicorn(create_probe_app, host="127.0.0.1", port=port, workers=workers, threads=4)
