"""Account services: users, organisations and members, apps, API keys, the product catalogue
and subscriptions. The CLI, the account API, the portal, OAuth and the demo all call these.

Every function that takes the id of something owned by an organisation also takes an
``Actor`` and checks that the actor belongs to that organisation; a foreign id is answered as
if it did not exist (404), so ids of other organisations' objects leak nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from app.accounts.keys import KEY_ID_PATTERN, generate_key, hash_secret
from app.accounts.models import (
    ROLES,
    ApiKey,
    App,
    Membership,
    Organisation,
    Plan,
    Product,
    Subscription,
    User,
)
from app.db import utcnow
from app.errors import Problem

_password_hasher = PasswordHasher()
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MANAGE_APPS = frozenset({"owner", "admin", "developer"})
MANAGE_MEMBERS = frozenset({"owner", "admin"})
ANY_ROLE = frozenset(ROLES)

# The catalogue of billable products (the scopes are OAuth2 scopes, RFC 6749 section 3.3).
PRODUCTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("parking", "MobiHub Parking API", ("parking:read",)),
    ("transit", "MobiHub Transit API", ("transit:read",)),
)
# slug, name, requests/s, burst, monthly quota (None: unlimited), price per 1,000 calls (minor)
PLANS: tuple[tuple[str, str, int, int, int | None, int], ...] = (
    ("free", "Free", 5, 10, 10_000, 0),
    ("standard", "Standard", 50, 100, 1_000_000, 40),
    ("partner", "Partner", 1_000, 2_000, None, 20),
)
DEFAULT_PLAN = "free"


# --- time -------------------------------------------------------------------------------------


def now() -> datetime:
    """The current time; tests inject a clock through the ``CLOCK`` setting."""
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock else utcnow()


# --- actors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, an app credential (acts for its organisation) or the operator.

    The operator is the person at the server's command line (``mobihub …`` without
    ``--as-user``): they own the installation and may act on every organisation.
    """

    user_id: int | None = None
    organisation_id: int | None = None
    operator: bool = False

    @classmethod
    def user(cls, user: User) -> Actor:
        """Act as a signed-in user (membership checked on every call)."""
        return cls(user_id=user.id)

    @classmethod
    def app_credential(cls, organisation_id: int) -> Actor:
        """Act as an app's API key or token: its own organisation, with developer rights."""
        return cls(organisation_id=organisation_id)


OPERATOR = Actor(operator=True)


def authorise(session: Session, actor: Actor, organisation_id: int,
              roles: frozenset[str] = ANY_ROLE, *, what: str = "resource") -> None:
    """Refuse unless ``actor`` belongs to the organisation (404) with one of ``roles`` (403)."""
    if actor.operator:
        return
    if actor.organisation_id is not None:
        if actor.organisation_id != organisation_id:
            raise _not_found(what)
        if "developer" not in roles:
            raise Problem(403, "forbidden", "Forbidden", "An app credential cannot do this.")
        return
    if actor.user_id is None:
        raise _not_found(what)
    role = session.scalar(sa.select(Membership.role).where(
        Membership.organisation_id == organisation_id, Membership.user_id == actor.user_id))
    if role is None:
        raise _not_found(what)
    if role not in roles:
        raise Problem(403, "forbidden", "Forbidden",
                      f"Your role {role!r} in this organisation does not allow this.")


def visible_organisation_ids(session: Session, actor: Actor) -> list[int] | None:
    """The organisations an actor may see (None: all of them, for the operator)."""
    if actor.operator:
        return None
    if actor.organisation_id is not None:
        return [actor.organisation_id]
    if actor.user_id is None:
        return []
    return list(session.scalars(
        sa.select(Membership.organisation_id).where(Membership.user_id == actor.user_id)))


def _not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not Found", f"No such {what}.")


def _invalid(detail: str) -> Problem:
    return Problem(422, "validation-error", "Unprocessable Entity", detail)


# --- users ------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively; store them trimmed and lower-cased."""
    email = (email or "").strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 320:
        raise _invalid(f"{email!r} is not an email address.")
    return email


def find_user(session: Session, email: str) -> User | None:
    """The user with this email, if any."""
    return session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, email: str, password: str | None = None, *,
                email_verified: bool = False) -> User:
    """A new user; the password (if any) is stored as an argon2id hash only."""
    email = normalise_email(email)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Problem(409, "conflict", "Conflict", f"A user with email {email} exists.")
    user = User(email=email, email_verified=email_verified,
                password_hash=_hash_password(password) if password is not None else None)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password."""
    user.password_hash = _hash_password(password)
    session.flush()


def _hash_password(password: str) -> str:
    if len(password) < 10:
        raise _invalid("A password needs at least 10 characters.")
    return _password_hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal which emails
    exist. Made on the first login (a hash costs ~0.15 s: not at every process start, CLI
    included)."""
    return _password_hasher.hash("not a real password")


def authenticate_user(session: Session, email: str, password: str) -> User | None:
    """The user if the password matches; the same work is done whether or not the user exists."""
    try:
        user = find_user(session, email)
    except Problem:
        user = None
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _password_hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and user.password_hash else None


# --- organisations and members ----------------------------------------------------------------


def slugify(name: str) -> str:
    """A URL-safe lower-case slug of a display name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "org"


def get_or_create_organisation(session: Session, name: str) -> tuple[Organisation, bool]:
    """The organisation with this name's slug, created if missing; ``(org, created)``."""
    slug = slugify(name)
    organisation = session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
    if organisation is not None:
        return organisation, False
    organisation = Organisation(slug=slug, name=name)
    session.add(organisation)
    session.flush()
    return organisation, True


def create_organisation(session: Session, name: str, owner_email: str) -> Organisation:
    """A new organisation owned by the user with ``owner_email`` (created without a password
    if new: they set one later)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise _invalid("An organisation needs a name of 1 to 200 characters.")
    owner_email = normalise_email(owner_email)
    if session.scalar(sa.select(Organisation.id).where(
            Organisation.slug == slugify(name))) is not None:
        raise Problem(409, "conflict", "Conflict", f"An organisation called {name!r} exists.")
    owner = find_user(session, owner_email) or create_user(session, owner_email)
    organisation = Organisation(slug=slugify(name), name=name)
    session.add(organisation)
    session.flush()
    session.add(Membership(organisation_id=organisation.id, user_id=owner.id, role="owner"))
    session.flush()
    return organisation


def find_organisation(session: Session, actor: Actor, ref: str | int) -> Organisation:
    """An organisation by id, slug or name, if the actor belongs to it."""
    organisation = None
    if isinstance(ref, int) or str(ref).isdigit():
        organisation = session.get(Organisation, int(ref))
    if organisation is None:
        organisation = session.scalar(sa.select(Organisation).where(
            sa.or_(Organisation.slug == slugify(str(ref)), Organisation.name == str(ref))))
    if organisation is None:
        raise _not_found("organisation")
    authorise(session, actor, organisation.id, what="organisation")
    return organisation


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise _invalid(f"Unknown role {role!r}; one of {', '.join(ROLES)}.")


def add_member(session: Session, actor: Actor, organisation_id: int, email: str,
               role: str) -> Membership:
    """Add a user (created if new) to an organisation; owners and admins only."""
    _check_role(role)
    authorise(session, actor, organisation_id, MANAGE_MEMBERS, what="organisation")
    if role == "owner":
        authorise(session, actor, organisation_id, frozenset({"owner"}), what="organisation")
    user = find_user(session, email) or create_user(session, email)
    if session.scalar(sa.select(Membership.id).where(
            Membership.organisation_id == organisation_id,
            Membership.user_id == user.id)) is not None:
        raise Problem(409, "conflict", "Conflict", f"{user.email} is already a member.")
    membership = Membership(organisation_id=organisation_id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    return membership


def _membership(session: Session, organisation_id: int, user_id: int) -> Membership:
    membership = session.scalar(sa.select(Membership).where(
        Membership.organisation_id == organisation_id, Membership.user_id == user_id))
    if membership is None:
        raise _not_found("member")
    return membership


def _refuse_last_owner(session: Session, membership: Membership) -> None:
    if membership.role != "owner":
        return
    owners = session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
        Membership.organisation_id == membership.organisation_id, Membership.role == "owner"))
    if owners <= 1:
        raise Problem(409, "last-owner", "Last owner",
                      "An organisation keeps at least one owner; make someone else owner first.")


def change_role(session: Session, actor: Actor, organisation_id: int, user_id: int,
                role: str) -> Membership:
    """Change a member's role; only owners grant or take away ownership."""
    _check_role(role)
    authorise(session, actor, organisation_id, MANAGE_MEMBERS, what="organisation")
    membership = _membership(session, organisation_id, user_id)
    if "owner" in (role, membership.role):
        authorise(session, actor, organisation_id, frozenset({"owner"}), what="organisation")
    if role != "owner":
        _refuse_last_owner(session, membership)
    membership.role = role
    session.flush()
    return membership


def remove_member(session: Session, actor: Actor, organisation_id: int, user_id: int) -> None:
    """Remove a member; the last owner cannot be removed."""
    authorise(session, actor, organisation_id, MANAGE_MEMBERS, what="organisation")
    membership = _membership(session, organisation_id, user_id)
    if membership.role == "owner":
        authorise(session, actor, organisation_id, frozenset({"owner"}), what="organisation")
    _refuse_last_owner(session, membership)
    session.delete(membership)
    session.flush()


def list_members(session: Session, actor: Actor, organisation_id: int) -> list[Membership]:
    """The members of an organisation the actor belongs to."""
    authorise(session, actor, organisation_id, what="organisation")
    return list(session.scalars(sa.select(Membership).where(
        Membership.organisation_id == organisation_id).order_by(Membership.id)))


# --- apps -------------------------------------------------------------------------------------


def _check_redirect_uri(uri: str) -> str:
    # RFC 6749 section 3.1.2: absolute URIs without fragment; plain http only on loopback
    # (RFC 8252 section 7.3, native apps).
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.fragment or not parts.netloc or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise _invalid(f"Redirect URI {uri!r} must be https (http only on loopback), "
                       "absolute and without a fragment.")
    return uri


def create_app(session: Session, actor: Actor, organisation_id: int, name: str, *,
               environment: str = "live", client_type: str = "confidential",
               redirect_uris: Iterable[str] = ()) -> App:
    """A new app in an organisation the actor may manage apps in."""
    authorise(session, actor, organisation_id, MANAGE_APPS, what="organisation")
    name = (name or "").strip()
    if not name or len(name) > 200 or name.isdigit():
        raise _invalid("An app needs a name of 1 to 200 characters that is not a number.")
    if environment not in ("live", "test"):
        raise _invalid("environment is 'live' or 'test' (sandbox).")
    if client_type not in ("confidential", "public"):
        raise _invalid("client_type is 'confidential' or 'public'.")
    uris = [_check_redirect_uri(uri) for uri in redirect_uris]
    if session.scalar(sa.select(App.id).where(App.organisation_id == organisation_id,
                                              App.name == name)) is not None:
        raise Problem(409, "conflict", "Conflict", f"The organisation has an app called {name!r}.")
    app = App(organisation_id=organisation_id, name=name, environment=environment,
              client_type=client_type, redirect_uris=uris)
    session.add(app)
    session.flush()
    from app.accounts.resolver import forget_app

    forget_app(app.id)
    return app


def get_app(session: Session, actor: Actor, app_id: int) -> App:
    """One app, if the actor belongs to its organisation."""
    app = session.get(App, app_id)
    if app is None:
        raise _not_found("app")
    authorise(session, actor, app.organisation_id, what="app")
    return app


def find_app(session: Session, actor: Actor, ref: str) -> App:
    """An app by id, or by name where only one visible app has it (the CLI's ``--app``)."""
    ref = (ref or "").strip()
    if ref.isdigit():
        return get_app(session, actor, int(ref))
    query = sa.select(App).where(App.name == ref).order_by(App.id)
    visible = visible_organisation_ids(session, actor)
    if visible is not None:
        query = query.where(App.organisation_id.in_(visible))
    apps = list(session.scalars(query))
    if not apps:
        raise _not_found("app")
    if len(apps) > 1:
        ids = ", ".join(f"{a.id} ({a.organisation.name})" for a in apps)
        raise Problem(409, "ambiguous-app", "Ambiguous app",
                      f"{len(apps)} apps are called {ref!r}: use the id, one of {ids}.")
    return apps[0]


def list_apps(session: Session, actor: Actor, organisation_id: int | None = None) -> list[App]:
    """The apps the actor can see (optionally of one organisation)."""
    query = sa.select(App).order_by(App.id)
    if organisation_id is not None:
        authorise(session, actor, organisation_id, what="organisation")
        query = query.where(App.organisation_id == organisation_id)
    visible = visible_organisation_ids(session, actor)
    if visible is not None:
        query = query.where(App.organisation_id.in_(visible))
    return list(session.scalars(query))


# --- API keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """A key just issued: its record and the raw key, which is shown this once only."""

    key: ApiKey
    raw: str

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key.key_id!r}, raw='…')"


def _scopes_known(scopes: Sequence[str]) -> list[str]:
    known = {scope for _, _, product_scopes in PRODUCTS for scope in product_scopes}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise _invalid(f"Unknown scopes {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    return sorted(set(scopes))


def issue_api_key(session: Session, actor: Actor, app_id: int, *, label: str = "",
                  scopes: Sequence[str] = (), expires_at: datetime | None = None) -> IssuedKey:
    """Issue a new key for an app; the raw key is returned once and never stored."""
    app = get_app(session, actor, app_id)
    authorise(session, actor, app.organisation_id, MANAGE_APPS, what="app")
    if expires_at is not None and expires_at <= now():
        raise _invalid("expires_at must be in the future.")
    if len(label) > 200:
        raise _invalid("A label has at most 200 characters.")
    raw, parsed = generate_key(app.environment)
    key = ApiKey(key_id=parsed.key_id, app_id=app.id, secret_sha256=hash_secret(parsed.secret),
                 environment=app.environment, label=label, scopes=_scopes_known(scopes),
                 expires_at=expires_at, created_at=now())
    session.add(key)
    session.flush()
    return IssuedKey(key, raw)


def get_api_key(session: Session, actor: Actor, key_id: str, app_id: int | None = None
                ) -> ApiKey:
    """One key by its id (``mob_live_…``), if the actor belongs to its app's organisation
    (and, when ``app_id`` is given, if it belongs to that app)."""
    if not KEY_ID_PATTERN.match(key_id or ""):
        raise _invalid(f"{key_id!r} is not a key id (mob_live_… or mob_test_…, no secret).")
    key = session.scalar(sa.select(ApiKey).where(ApiKey.key_id == key_id))
    if key is None or (app_id is not None and key.app_id != app_id):
        raise _not_found("API key")
    authorise(session, actor, key.app.organisation_id, what="API key")
    return key


def list_api_keys(session: Session, actor: Actor, app_id: int) -> list[ApiKey]:
    """An app's keys (ids and metadata, never secrets)."""
    get_app(session, actor, app_id)
    return list(session.scalars(sa.select(ApiKey).where(ApiKey.app_id == app_id)
                                .order_by(ApiKey.id)))


def rotate_api_key(session: Session, actor: Actor, key_id: str, *,
                   overlap_seconds: int = 86_400) -> IssuedKey:
    """Issue a successor key; the old one keeps working until the overlap window ends."""
    if overlap_seconds < 0 or overlap_seconds > 30 * 86_400:
        raise _invalid("The overlap is between 0 seconds and 30 days.")
    old = get_api_key(session, actor, key_id)
    authorise(session, actor, old.app.organisation_id, MANAGE_APPS, what="API key")
    current = now()
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= current):
        raise Problem(409, "key-inactive", "Key inactive",
                      f"{key_id} is revoked or expired; issue a new key instead.")
    issued = issue_api_key(session, actor, old.app_id, label=old.label, scopes=old.scopes,
                           expires_at=old.expires_at)
    issued.key.replaces_key_id = old.key_id
    overlap_end = current + timedelta(seconds=overlap_seconds)
    old.expires_at = min(old.expires_at, overlap_end) if old.expires_at else overlap_end
    session.flush()
    _after_commit_bump_epoch(session)
    return issued


def revoke_api_key(session: Session, actor: Actor, key_id: str) -> ApiKey:
    """Revoke a key at once; every worker stops accepting it within the cache bound."""
    key = get_api_key(session, actor, key_id)
    authorise(session, actor, key.app.organisation_id, MANAGE_APPS, what="API key")
    if key.revoked_at is None:
        key.revoked_at = now()
        session.flush()
    _after_commit_bump_epoch(session)
    return key


def app_summary(app: App) -> dict[str, Any]:
    """An app as the CLI and the account API show it."""
    return {"id": app.id, "name": app.name, "organisation": app.organisation.name,
            "organisation_id": app.organisation_id, "environment": app.environment,
            "client_type": app.client_type, "redirect_uris": list(app.redirect_uris or []),
            "created_at": app.created_at}


def key_summary(key: ApiKey) -> dict[str, Any]:
    """A key's metadata as the CLI and the account API show it (never its secret)."""
    return {"key_id": key.key_id, "app_id": key.app_id, "environment": key.environment,
            "label": key.label, "scopes": list(key.scopes or []), "status": key_status(key),
            "created_at": key.created_at, "expires_at": key.expires_at,
            "revoked_at": key.revoked_at, "last_used_at": key.last_used_at,
            "replaces_key_id": key.replaces_key_id}


def key_status(key: ApiKey, at: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (at or now()):
        return "expired"
    return "active"


def _after_commit_bump_epoch(session: Session) -> None:
    # Caches must not reload before the change is visible to other connections, so the epoch
    # moves after the commit (and once more now, for callers that never commit: tests).
    from app.accounts.resolver import bump_revocation_epoch

    bump_revocation_epoch()
    if not session.info.get("mobihub.bump_after_commit"):
        session.info["mobihub.bump_after_commit"] = True
        sa.event.listen(session, "after_commit", _bump_once, once=True)


def _bump_once(session: Session) -> None:
    from app.accounts.resolver import bump_revocation_epoch

    session.info.pop("mobihub.bump_after_commit", None)
    bump_revocation_epoch()


# --- products, plans and subscriptions --------------------------------------------------------


def ensure_catalog(session: Session) -> None:
    """Create the products and plans that do not exist yet (idempotent; keeps edits)."""
    products = set(session.scalars(sa.select(Product.slug)))
    for slug, name, scopes in PRODUCTS:
        if slug not in products:
            session.add(Product(slug=slug, name=name, scopes=list(scopes)))
    plans = set(session.scalars(sa.select(Plan.slug)))
    for slug, name, rps, burst, quota, price in PLANS:
        if slug not in plans:
            session.add(Plan(slug=slug, name=name, requests_per_second=rps, burst=burst,
                             monthly_quota=quota, price_per_1000_calls_minor=price,
                             currency="EUR", is_default=slug == DEFAULT_PLAN))
    session.flush()


def get_plan(session: Session, slug: str | None = None) -> Plan:
    """A plan by slug, or the default plan."""
    ensure_catalog(session)
    query = sa.select(Plan).where(Plan.slug == slug if slug else Plan.is_default.is_(True))
    plan = session.scalars(query.order_by(Plan.id)).first()
    if plan is None:
        names = ", ".join(session.scalars(sa.select(Plan.slug).order_by(Plan.id)))
        raise Problem(404, "not-found", "Not Found", f"No plan {slug!r}; plans: {names}.")
    return plan


def list_products(session: Session) -> list[Product]:
    """Every billable product."""
    ensure_catalog(session)
    return list(session.scalars(sa.select(Product).order_by(Product.id)))


def subscribe(session: Session, actor: Actor, app_id: int, product_slug: str,
              plan_slug: str | None = None) -> Subscription:
    """Subscribe an app to a product under a plan (default: the free plan), or change plan."""
    app = get_app(session, actor, app_id)
    authorise(session, actor, app.organisation_id, MANAGE_APPS, what="app")
    ensure_catalog(session)
    product = session.scalar(sa.select(Product).where(Product.slug == product_slug))
    if product is None:
        raise _not_found("product")
    plan = get_plan(session, plan_slug)
    subscription = session.scalar(sa.select(Subscription).where(
        Subscription.app_id == app.id, Subscription.product_id == product.id))
    if subscription is None:
        subscription = Subscription(app_id=app.id, product_id=product.id, plan_id=plan.id)
        session.add(subscription)
    elif subscription.plan_id != plan.id:
        subscription.plan_id = plan.id
    session.flush()
    session.refresh(subscription)
    _after_commit_bump_epoch(session)
    return subscription


def subscribe_to_all(session: Session, actor: Actor, app_id: int,
                     plan_slug: str | None = None) -> list[Subscription]:
    """Subscribe an app to every product: under ``plan_slug`` if given (changing existing
    subscriptions), else the default plan for products it is not subscribed to yet."""
    existing = {s.product.slug: s for s in list_subscriptions(session, actor, app_id)}
    result = []
    for product in list_products(session):
        if plan_slug is None and product.slug in existing:
            result.append(existing[product.slug])
        else:
            result.append(subscribe(session, actor, app_id, product.slug, plan_slug))
    return result


def list_subscriptions(session: Session, actor: Actor, app_id: int) -> list[Subscription]:
    """An app's subscriptions."""
    get_app(session, actor, app_id)
    return list(session.scalars(sa.select(Subscription).where(Subscription.app_id == app_id)
                                .order_by(Subscription.id)))
