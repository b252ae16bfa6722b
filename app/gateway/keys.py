"""The Redis key layout shared by the gateway (writes) and the metering flush (reads).

Every key of one app carries the hash tag ``{app:ID}``, so the admission script and the flush
touch a single Redis Cluster slot per app (https://redis.io/docs/latest/operate/oss_and_stack/
reference/cluster-spec/#hash-tags).
"""

from __future__ import annotations

PREFIX = "mh"
# Fields of a usage bucket hash: "<product>|<status class>|a" (admitted) and
# "<product>|<status class>|r" (rejected), plus "org" (the app's organisation id).
ADMITTED = "a"
REJECTED = "r"
UNKNOWN_CLASS = "unknown"  # admitted, response status not reported (worker died mid-request)
ORG_FIELD = "org"
BUCKET_PATTERN = PREFIX + ":{app:*}:u:*"
CLAIMED_PATTERN = PREFIX + ":{app:*}:claimed:*"


def tag(app_id: int) -> str:
    """The hash-tagged prefix of every key of one app."""
    return f"{PREFIX}:{{app:{app_id}}}"


def rate_key(app_id: int, product: str) -> str:
    """GCRA theoretical arrival time of an app's calls to one product."""
    return f"{tag(app_id)}:rl:{product}"


def quota_key(app_id: int, product: str, month: str) -> str:
    """Admitted calls of an app to one product in one UTC month (``YYYYMM``)."""
    return f"{tag(app_id)}:q:{product}:{month}"


def bucket_key(app_id: int, minute: int) -> str:
    """The usage bucket (a hash) of an app for one minute (Unix minutes)."""
    return f"{tag(app_id)}:u:{minute}"


def token_key(app_id: int, token: str) -> str:
    """Marks a batch of deferred increments as applied, so a retried batch applies once."""
    return f"{tag(app_id)}:tok:{token}"


def recent_key(app_id: int) -> str:
    """The list of an app's last calls (newest first), shown on the portal's usage page."""
    return f"{PREFIX}:{tag(app_id)}:recent"


def claimed_key(app_id: int, flush_id: str, claimed_at: int, minute: int) -> str:
    """Where a flush moves a bucket it claims (same slot as the bucket, so RENAME works)."""
    return f"{tag(app_id)}:claimed:{flush_id}:{claimed_at}:{minute}"


def field(product: str, status_class: str, kind: str) -> str:
    """A bucket hash field."""
    return f"{product}|{status_class}|{kind}"


def parse_key(key: str) -> tuple[int, list[str]]:
    """``(app_id, rest)`` of a key, ``rest`` being the parts after the hash tag."""
    head, _, rest = key.partition("}:")
    return int(head.rsplit(":", 1)[1]), rest.split(":")


def status_class(status: int) -> str:
    """``2xx`` … ``5xx`` for an HTTP status code."""
    return f"{min(max(status // 100, 1), 5)}xx"
