"""HTTP endpoints of the authorization server, the session login and the consent page.

Token, revocation and introspection answer in the RFC 6749 section 5.2 error format (Authlib
writes those). Failed client authentications and grants are counted per client id and per
address; past ``OAUTH_MAX_FAILURES`` in ``OAUTH_FAILURE_WINDOW_SECONDS`` the endpoint answers
429 with ``Retry-After`` before checking anything (brute-force throttle).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import redis
from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from app.accounts.models import User
from app.accounts.services import authenticate_user
from app.db import get_db
from app.errors import Problem
from app.oauth.server import server_metadata
from app.oauth.tokens import public_jwks

oauth_blueprint = Blueprint("oauth", __name__, url_prefix="/oauth", template_folder="templates")
well_known = Blueprint("oauth_well_known", __name__)
THROTTLED_ENDPOINTS = {"oauth.token", "oauth.revoke", "oauth.introspect"}
SESSION_USER = "oauth_user_id"


def _server() -> Any:
    return current_app.extensions["mobihub.oauth"]


# --- brute-force throttle ---------------------------------------------------------------------


def _throttle_keys() -> list[str]:
    keys = [f"mobihub:oauth:failures:addr:{request.remote_addr or 'unknown'}"]
    client_id = request.form.get("client_id")
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            client_id = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            client_id = None
    if client_id:
        keys.append(f"mobihub:oauth:failures:client:{client_id[:64]}")
    return keys


@oauth_blueprint.before_request
def _refuse_when_throttled() -> None:
    if request.endpoint not in THROTTLED_ENDPOINTS:
        return
    client = current_app.extensions["mobihub.live"].client
    limit = int(current_app.config.get("OAUTH_MAX_FAILURES", 10))
    try:
        pipe = client.pipeline(transaction=False)
        for key in _throttle_keys():
            pipe.get(key)
            pipe.ttl(key)
        replies = pipe.execute()
    except redis.RedisError:
        return  # fail open: the throttle protects, it must not take the token endpoint down
    for count, ttl in zip(replies[::2], replies[1::2], strict=True):
        if count is not None and int(count) >= limit:
            raise Problem(429, "rate-limited", "Too Many Requests",
                          "Too many failed attempts; wait before trying again.",
                          headers={"Retry-After": str(max(int(ttl), 1))})


@oauth_blueprint.after_request
def _count_failures(response: Response) -> Response:
    if request.endpoint not in THROTTLED_ENDPOINTS or response.status_code not in (400, 401):
        return response
    client = current_app.extensions["mobihub.live"].client
    window = int(current_app.config.get("OAUTH_FAILURE_WINDOW_SECONDS", 60))
    try:
        pipe = client.pipeline(transaction=False)
        for key in _throttle_keys():
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()
    except redis.RedisError:
        pass
    return response


# --- token, revocation, introspection, keys, metadata ----------------------------------------


@oauth_blueprint.post("/token")
def token() -> Response:
    """RFC 6749 section 3.2: the token endpoint."""
    return _server().create_token_response()


@oauth_blueprint.post("/revoke")
def revoke() -> Response:
    """RFC 7009 section 2: token revocation."""
    return _server().create_endpoint_response("revocation")


@oauth_blueprint.post("/introspect")
def introspect() -> Response:
    """RFC 7662 section 2: token introspection."""
    return _server().create_endpoint_response("introspection")


@oauth_blueprint.get("/jwks.json")
def jwks() -> Response:
    """The public keys that verify our access tokens (RFC 7517); private keys are never served."""
    session_ = get_db().session()
    body = public_jwks(session_)
    session_.commit()
    response = jsonify(body)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@well_known.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414 section 3: authorization server metadata."""
    return jsonify(server_metadata())


# --- login and consent ------------------------------------------------------------------------


class LoginForm(FlaskForm):
    """Email and password, with a CSRF token (Flask-WTF)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


class ConsentForm(FlaskForm):
    """Allow or deny, with a CSRF token."""

    allow = SubmitField("Allow")
    deny = SubmitField("Deny")


def _signed_in_user() -> User | None:
    user_id = session.get(SESSION_USER)
    return get_db().session().get(User, user_id) if user_id else None


def _safe_next(target: str | None) -> str:
    # Only back to our own authorization endpoint: no open redirect (RFC 9700 section 4.11).
    if target and not urlsplit(target).netloc and target.startswith("/oauth/authorize"):
        return target
    return url_for("oauth.login_done")


@oauth_blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """A minimal sign-in for the authorization endpoint (the portal brings the full one)."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = authenticate_user(get_db().session(), form.email.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh session on sign-in (session fixation)
            session[SESSION_USER] = user.id
            return redirect(_safe_next(request.args.get("next")))
        error = "Email or password is wrong."
    status = 401 if error else 200
    return render_template("oauth/login.html", form=form, error=error), status


@oauth_blueprint.get("/login/done")
def login_done() -> str:
    """Where a sign-in without a pending authorization lands."""
    user = _signed_in_user()
    return render_template("oauth/signed_in.html", user=user)


@oauth_blueprint.post("/logout")
def logout() -> Any:
    """Sign out."""
    session.pop(SESSION_USER, None)
    return redirect(url_for("oauth.login"))


@oauth_blueprint.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """RFC 6749 section 3.1: ask the signed-in user to allow the client, then redirect back."""
    user = _signed_in_user()
    if user is None:
        return redirect(url_for("oauth.login", next=request.full_path))
    form = ConsentForm()
    try:
        grant = _server().get_consent_grant(end_user=user)
    except OAuth2Error as error:
        # RFC 6749 section 4.1.2.1: a bad client or redirect URI is shown, never redirected to;
        # other errors go back to the client.
        if error.redirect_uri:
            return _server().handle_error_response(None, error)
        return render_template("oauth/error.html", error=error), error.status_code
    if request.method == "POST":
        if not form.validate_on_submit():
            raise Problem(400, "bad-request", "Bad Request", "The consent form expired; reload.")
        grant_user = user if form.allow.data else None
        return _server().create_authorization_response(grant=grant, grant_user=grant_user)
    scopes = (grant.request.payload.scope or "").split() or sorted(
        grant.client.get_allowed_scope(None).split())
    return render_template("oauth/consent.html", form=form, client=grant.client, user=user,
                           scopes=scopes)
