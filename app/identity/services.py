"""Portal identity services: sign-up with email verification, log-in with throttling, password
reset, team invitations by emailed link.

Nothing here tells a caller whether an email address has an account: sign-up and reset answer
the same way for known and unknown addresses, and say what happened only in the mail sent.
Links are built by the caller (``link_for(token)``), so these services know no portal URLs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Membership, Organisation, User
from app.accounts.services import (
    MANAGE_MEMBERS,
    OPERATOR,
    Actor,
    add_member,
    authenticate_user,
    authorise,
    create_organisation,
    create_user,
    find_user,
    normalise_email,
    now,
    set_password,
    slugify,
)
from app.errors import Problem
from app.identity import throttle
from app.identity.models import EmailToken
from app.mail import send_mail

LinkFor = Callable[[str], str]
TOKEN_LIFETIMES = {
    "verify": timedelta(days=2),
    "reset": timedelta(hours=1),
    "invite": timedelta(days=7),
}
# Throttling: failed log-ins per email and per client address in a 15-minute window; reset
# requests per email and per address in an hour.
LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_LIMIT_PER_EMAIL = 5
LOGIN_LIMIT_PER_ADDRESS = 20
RESET_WINDOW_SECONDS = 3600
RESET_LIMIT_PER_EMAIL = 3
RESET_LIMIT_PER_ADDRESS = 10


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _issue_token(session: Session, purpose: str, email: str, **fields: object) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(EmailToken(purpose=purpose, token_sha256=_digest(raw), email=email,
                           created_at=now(), expires_at=now() + TOKEN_LIFETIMES[purpose],
                           **fields))
    session.flush()
    return raw


def _find_token(session: Session, purpose: str, raw: str) -> EmailToken | None:
    """The unused, unexpired token of this purpose, or None."""
    if not raw or len(raw) > 100:
        return None
    token = session.scalar(sa.select(EmailToken).where(
        EmailToken.token_sha256 == _digest(raw), EmailToken.purpose == purpose))
    if token is None or token.used_at is not None or token.expires_at <= now():
        return None
    return token


def _invalid(detail: str) -> Problem:
    return Problem(422, "validation-error", "Unprocessable Entity", detail)


# --- sign-up and verification -----------------------------------------------------------------


def sign_up(session: Session, email: str, password: str, organisation_name: str,
            link_for: LinkFor) -> None:
    """Register a developer and their organisation and mail a verification link.

    For an address that already has an account, nothing is created and the mail says so,
    so the answer on the page is the same either way (no account enumeration).
    """
    email = normalise_email(email)
    organisation_name = (organisation_name or "").strip()
    if not organisation_name or len(organisation_name) > 200:
        raise _invalid("An organisation needs a name of 1 to 200 characters.")
    if len(password or "") < 10:
        raise _invalid("A password needs at least 10 characters.")
    existing = find_user(session, email)
    if existing is not None and existing.password_hash:
        send_mail(email, "Someone tried to sign up with your address",
                  "Someone (perhaps you) tried to create a MobiHub account with this address,\n"
                  "which already has one. Log in, or reset your password if you forgot it.\n")
        return
    if session.scalar(sa.select(Organisation.id).where(
            Organisation.slug == slugify(organisation_name))) is not None:
        raise Problem(409, "conflict", "Conflict",
                      f"An organisation called {organisation_name!r} exists; choose another name.")
    if existing is None:
        user = create_user(session, email, password)
    else:  # created by an invitation or the CLI without a password: claim it
        user = existing
        set_password(session, user, password)
    create_organisation(session, organisation_name, email)
    send_verification(session, user, link_for)


def send_verification(session: Session, user: User, link_for: LinkFor) -> None:
    """Mail a fresh verification link to a user."""
    raw = _issue_token(session, "verify", user.email, user_id=user.id)
    send_mail(user.email, "Confirm your email address for MobiHub",
              f"Welcome to MobiHub.\n\nConfirm your address to start using the portal:\n\n"
              f"{link_for(raw)}\n\nThe link works once, for 48 hours.\n")


def verify_email(session: Session, raw_token: str) -> User | None:
    """Mark the user's email verified; None when the link is unknown, used or expired."""
    token = _find_token(session, "verify", raw_token)
    if token is None or token.user_id is None:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.email != token.email:
        return None
    token.used_at = now()
    user.email_verified = True
    session.flush()
    return user


# --- log-in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a log-in attempt: ``ok``, ``invalid``, ``unverified`` or ``throttled``."""

    outcome: str
    user: User | None = None


def log_in(session: Session, email: str, password: str, client_address: str) -> LoginResult:
    """Check a password, counting failures per email and per client address (throttling)."""
    email_id = (email or "").strip().lower()
    limits = {f"email:{email_id}": LOGIN_LIMIT_PER_EMAIL,
              f"addr:{client_address}": LOGIN_LIMIT_PER_ADDRESS}
    if throttle.is_throttled("login", limits):
        return LoginResult("throttled")
    user = authenticate_user(session, email, password or "")
    if user is None:
        for ident in limits:
            throttle.count_attempt("login", ident, LOGIN_WINDOW_SECONDS)
        return LoginResult("invalid")
    throttle.clear("login", f"email:{email_id}")
    if not user.email_verified:
        return LoginResult("unverified", user)
    return LoginResult("ok", user)


def resend_verification(session: Session, email: str, link_for: LinkFor) -> None:
    """Mail a new verification link if the address has an unverified account (silently)."""
    try:
        user = find_user(session, email)
    except Problem:
        return
    if user is not None and not user.email_verified:
        send_verification(session, user, link_for)


def get_user(session: Session, user_id: int | None) -> User | None:
    """The signed-in user by the id kept in the session."""
    return session.get(User, user_id) if user_id else None


def user_organisations(session: Session, user: User) -> list[tuple[Organisation, str]]:
    """The organisations a user belongs to, with their role, by name."""
    rows = session.execute(sa.select(Organisation, Membership.role).join(
        Membership, Membership.organisation_id == Organisation.id).where(
        Membership.user_id == user.id).order_by(Organisation.name))
    return [(org, role) for org, role in rows]


# --- password reset ---------------------------------------------------------------------------


def request_password_reset(session: Session, email: str, client_address: str,
                           link_for: LinkFor) -> bool:
    """Mail a reset link if the address has an account; False only when throttled.

    The caller shows the same message whether or not the account exists.
    """
    email_id = (email or "").strip().lower()
    limits = {f"email:{email_id}": RESET_LIMIT_PER_EMAIL,
              f"addr:{client_address}": RESET_LIMIT_PER_ADDRESS}
    if throttle.is_throttled("reset", limits):
        return False
    for ident in limits:
        throttle.count_attempt("reset", ident, RESET_WINDOW_SECONDS)
    try:
        user = find_user(session, email)
    except Problem:
        return True
    if user is None:
        return True
    raw = _issue_token(session, "reset", user.email, user_id=user.id)
    send_mail(user.email, "Reset your MobiHub password",
              f"Someone asked to reset the password of your MobiHub account.\n\n"
              f"Choose a new password here (the link works once, for one hour):\n\n"
              f"{link_for(raw)}\n\nIf it was not you, ignore this message.\n")
    return True


def reset_token_is_valid(session: Session, raw_token: str) -> bool:
    """Whether a reset link can still be used (to show the form or an explanation)."""
    return _find_token(session, "reset", raw_token) is not None


def reset_password(session: Session, raw_token: str, password: str) -> User | None:
    """Set a new password from a reset link; None when the link is unknown, used or expired."""
    token = _find_token(session, "reset", raw_token)
    if token is None or token.user_id is None:
        return None
    user = session.get(User, token.user_id)
    if user is None:
        return None
    set_password(session, user, password)
    token.used_at = now()
    # The mailbox received the link, so the address is proven too.
    user.email_verified = True
    session.flush()
    return user


# --- invitations ------------------------------------------------------------------------------


def invite_member(session: Session, actor: Actor, organisation_id: int, email: str, role: str,
                  link_for: LinkFor) -> EmailToken:
    """Mail an invitation link to join an organisation with a role; owners and admins only."""
    authorise(session, actor, organisation_id, MANAGE_MEMBERS, what="organisation")
    if role == "owner":
        authorise(session, actor, organisation_id, frozenset({"owner"}), what="organisation")
    if role not in ("owner", "admin", "developer", "billing"):
        raise _invalid(f"Unknown role {role!r}.")
    email = normalise_email(email)
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None  # noqa: S101 - authorise found the membership
    member = session.scalar(sa.select(Membership.id).join(User).where(
        Membership.organisation_id == organisation_id, User.email == email))
    if member is not None:
        raise Problem(409, "conflict", "Conflict", f"{email} is already a member.")
    raw = _issue_token(session, "invite", email, organisation_id=organisation_id, role=role,
                       invited_by_user_id=actor.user_id)
    send_mail(email, f"You are invited to {organisation.name} on MobiHub",
              f"You are invited to join {organisation.name} on MobiHub as {role}.\n\n"
              f"Accept the invitation here (the link works once, for 7 days):\n\n"
              f"{link_for(raw)}\n")
    token = session.scalar(sa.select(EmailToken).where(EmailToken.token_sha256 == _digest(raw)))
    assert token is not None  # noqa: S101 - just flushed
    return token


def list_invitations(session: Session, actor: Actor, organisation_id: int) -> list[EmailToken]:
    """Open invitations of an organisation."""
    authorise(session, actor, organisation_id, what="organisation")
    return list(session.scalars(sa.select(EmailToken).where(
        EmailToken.purpose == "invite", EmailToken.organisation_id == organisation_id,
        EmailToken.used_at.is_(None), EmailToken.expires_at > now()).order_by(EmailToken.id)))


def cancel_invitation(session: Session, actor: Actor, organisation_id: int,
                      invitation_id: int) -> None:
    """Withdraw an open invitation; owners and admins only."""
    authorise(session, actor, organisation_id, MANAGE_MEMBERS, what="organisation")
    token = session.get(EmailToken, invitation_id)
    if token is None or token.purpose != "invite" or token.organisation_id != organisation_id:
        raise Problem(404, "not-found", "Not Found", "No such invitation.")
    token.used_at = now()
    session.flush()


@dataclass(frozen=True)
class InvitationView:
    """What the invitee sees before accepting."""

    organisation_name: str
    role: str
    email: str


def describe_invitation(session: Session, raw_token: str) -> InvitationView | None:
    """The invitation behind a link, or None when unknown, used or expired."""
    token = _find_token(session, "invite", raw_token)
    if token is None or token.organisation_id is None:
        return None
    organisation = session.get(Organisation, token.organisation_id)
    if organisation is None:
        return None
    return InvitationView(organisation.name, token.role or "developer", token.email)


def accept_invitation(session: Session, user: User, raw_token: str) -> Membership:
    """Join the organisation of an invitation addressed to this user's email."""
    token = _find_token(session, "invite", raw_token)
    if token is None or token.organisation_id is None:
        raise Problem(404, "not-found", "Not Found", "This invitation is unknown or expired.")
    if token.email != user.email:
        raise Problem(403, "forbidden", "Forbidden",
                      f"This invitation is for {token.email}; log in with that address.")
    token.used_at = now()
    # The inviter's right was checked when the invitation was made.
    membership = add_member(session, OPERATOR, token.organisation_id, user.email,
                            token.role or "developer")
    user.email_verified = True  # the link reached this mailbox
    session.flush()
    return membership
