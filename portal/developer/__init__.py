"""The developer portal: sign-up to first call, apps and keys, team, docs, usage.

Views parse the form, call a service in ``app/`` and render; every page that takes an id goes
through an accounts service that checks the signed-in user's membership (foreign ids: 404).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from apis import all_products
from app.accounts import services as accounts
from app.db import db
from app.errors import Problem
from app.identity import apps as app_edits
from app.identity import services as identity
from app.identity.catalog import list_plans, product_coverage
from app.identity.usage import app_usage
from app.oauth import services as oauth_clients

developer = Blueprint("developer", __name__, url_prefix="/developer")


@developer.app_template_filter("utc_time")
def utc_time(epoch: float) -> str:
    """An epoch timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC, for the usage tables."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
F = TypeVar("F", bound=Callable[..., Any])
PUBLIC_ENDPOINTS = {"signup", "login", "verify", "reset_request", "reset_password",
                    "check_email", "resend", "invitation", "product", "reference"}
DATA_PRODUCTS = ("parking", "transit")  # products served from providers' feeds
OVERLAPS = {"0": "at once", "3600": "1 hour", "86400": "24 hours", "604800": "7 days"}


def _db() -> Any:
    return db.session()


def _actor() -> accounts.Actor:
    return accounts.Actor.user(g.user)


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _link(endpoint: str) -> Callable[[str], str]:
    base = current_app.config["BASE_URL"].rstrip("/")
    return lambda token: base + url_for(endpoint, token=token)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("developer.dashboard")


@developer.before_request
def load_user() -> Response | None:
    """Protect forms against CSRF and require a verified, signed-in user on private pages."""
    current_app.extensions["csrf"].protect()
    g.user = identity.get_user(_db(), session.get("uid"))
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if g.user is None and endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("developer.login", next=request.full_path.rstrip("?")))
    return None


@developer.errorhandler(Problem)
def problem_page(problem: Problem) -> tuple[str, int]:
    """Service refusals (404 for foreign ids, 403, 409) as the portal's error page."""
    return render_template("errors/error.html", status=problem.code, title=problem.title,
                           detail=problem.detail), problem.code or 500


def _org_or_404(org_id: int) -> Any:
    return accounts.find_organisation(_db(), _actor(), org_id)


def _role_in(org_id: int) -> str | None:
    return next((role for org, role in identity.user_organisations(_db(), g.user)
                 if org.id == org_id), None)


def _commit() -> None:
    _db().commit()


def _form_error(problem: Problem) -> str:
    return problem.detail or problem.title or "Something went wrong."


def with_form_errors(template: str) -> Callable[[F], F]:
    """Re-render ``template`` with the service's message when it refuses a form."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except Problem as problem:
                if problem.code in (403, 404):
                    raise
                _db().rollback()
                return render_template(template, error=_form_error(problem),
                                       form=request.form, **_context_for(template, kwargs)), 422
        return wrapper  # type: ignore[return-value]
    return decorate


def _context_for(template: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    if "app_id" in kwargs and template == "developer/oauth.html":
        return _oauth_context(kwargs["app_id"])
    if "app_id" in kwargs:
        return _app_context(kwargs["app_id"])
    if "org_id" in kwargs:
        return _org_context(kwargs["org_id"])
    return {}


# --- sign-up, verification, log-in, log-out, reset -------------------------------------------


@developer.route("/signup", methods=["GET", "POST"])
@with_form_errors("developer/signup.html")
def signup() -> Any:
    """Create an account and organisation; the same answer for known and unknown emails."""
    if request.method == "GET":
        return render_template("developer/signup.html", form={})
    form = request.form
    identity.sign_up(_db(), form.get("email", ""), form.get("password", ""),
                     form.get("organisation", ""), _link("developer.verify"))
    _commit()
    return redirect(url_for("developer.check_email"))


@developer.get("/check-email")
def check_email() -> str:
    """Tell the newcomer to open the link we mailed."""
    return render_template("developer/check_email.html")


@developer.route("/verify/resend", methods=["GET", "POST"])
def resend() -> Any:
    """Mail a new verification link (silently nothing for unknown or verified addresses)."""
    if request.method == "POST":
        identity.resend_verification(_db(), request.form.get("email", ""),
                                     _link("developer.verify"))
        _commit()
        return redirect(url_for("developer.check_email"))
    return render_template("developer/resend.html")


@developer.get("/verify/<token>")
def verify(token: str) -> Any:
    """Confirm the email address from the mailed link."""
    user = identity.verify_email(_db(), token)
    _commit()
    if user is None:
        return render_template("developer/verify_failed.html"), 400
    flash("Your email address is confirmed. Log in to continue.", "success")
    return redirect(url_for("developer.login"))


def _start_session(user: Any) -> None:
    # Session renewal: drop everything from before the log-in (fixation), new CSRF token too.
    session.clear()
    g.pop("csrf_token", None)  # generate_csrf caches the old token in g for the request
    session["uid"] = user.id
    session["sid"] = secrets.token_urlsafe(16)


@developer.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with email and password; failures are counted per email and address."""
    next_url = request.values.get("next")
    if request.method == "GET":
        return render_template("developer/login.html", next=next_url, form={})
    form = request.form
    result = identity.log_in(_db(), form.get("email", ""), form.get("password", ""),
                             _client_address())
    messages = {
        "invalid": "That email and password do not match an account.",
        "throttled": "Too many attempts. Wait 15 minutes, or reset your password.",
        "unverified": "Confirm your email address first: open the link we mailed you.",
    }
    if result.outcome != "ok":
        status = 429 if result.outcome == "throttled" else 401
        return render_template("developer/login.html", next=next_url, form=form,
                               error=messages[result.outcome],
                               unverified=result.outcome == "unverified"), status
    _start_session(result.user)
    return redirect(_safe_next(next_url))


@developer.post("/logout")
def logout() -> Response:
    """End the session."""
    session.clear()
    g.pop("csrf_token", None)
    flash("You are logged out.", "success")
    return redirect(url_for("home.landing"))


@developer.route("/reset", methods=["GET", "POST"])
def reset_request() -> Any:
    """Ask for a reset link; the same answer whether or not the address has an account."""
    if request.method == "GET":
        return render_template("developer/reset_request.html")
    allowed = identity.request_password_reset(_db(), request.form.get("email", ""),
                                              _client_address(),
                                              _link("developer.reset_password"))
    _commit()
    if not allowed:
        return render_template("developer/reset_request.html",
                               error="Too many reset requests. Try again in an hour."), 429
    return render_template("developer/reset_sent.html")


@developer.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    """Choose a new password from a mailed reset link."""
    if not identity.reset_token_is_valid(_db(), token):
        return render_template("developer/verify_failed.html", reset=True), 400
    if request.method == "GET":
        return render_template("developer/reset_password.html", token=token)
    try:
        user = identity.reset_password(_db(), token, request.form.get("password", ""))
    except Problem as problem:
        _db().rollback()
        return render_template("developer/reset_password.html", token=token,
                               error=_form_error(problem)), 422
    _commit()
    session.clear()  # a password change ends every session of this browser
    g.pop("csrf_token", None)
    if user is not None:
        flash("Your password is changed. Log in with the new one.", "success")
    return redirect(url_for("developer.login"))


# --- dashboard, organisations, team -----------------------------------------------------------


@developer.get("/")
def dashboard() -> Any:
    """The developer's organisations; straight to the apps when there is one."""
    organisations = identity.user_organisations(_db(), g.user)
    if len(organisations) == 1:
        return redirect(url_for("developer.organisation", org_id=organisations[0][0].id))
    return render_template("developer/dashboard.html", organisations=organisations)


def _org_context(org_id: int) -> dict[str, Any]:
    organisation = _org_or_404(org_id)
    return {"organisation": organisation, "role": _role_in(org_id),
            "apps": accounts.list_apps(_db(), _actor(), org_id)}


@developer.get("/orgs/<int:org_id>")
def organisation(org_id: int) -> str:
    """An organisation's apps, and the form to create one."""
    return render_template("developer/organisation.html", form={}, **_org_context(org_id))


@developer.post("/orgs/<int:org_id>/apps")
@with_form_errors("developer/organisation.html")
def create_app(org_id: int) -> Response:
    """Create an app (subscribed to every product on the free plan, so a key works at once)."""
    form = request.form
    app = accounts.create_app(_db(), _actor(), org_id, form.get("name", ""),
                              environment=form.get("environment", "live"))
    accounts.subscribe_to_all(_db(), _actor(), app.id)
    _commit()
    flash(f"App {app.name} created. Create a key to call the APIs.", "success")
    return redirect(url_for("developer.keys", app_id=app.id))


def _team_context(org_id: int) -> dict[str, Any]:
    context = _org_context(org_id)
    context.update(members=accounts.list_members(_db(), _actor(), org_id),
                   invitations=identity.list_invitations(_db(), _actor(), org_id),
                   roles=accounts.ROLES)
    return context


@developer.get("/orgs/<int:org_id>/team")
def team(org_id: int) -> str:
    """Members, their roles, and open invitations."""
    return render_template("developer/team.html", form={}, **_team_context(org_id))


@developer.post("/orgs/<int:org_id>/invitations")
def invite(org_id: int) -> Any:
    """Invite someone by an emailed link."""
    form = request.form
    try:
        identity.invite_member(_db(), _actor(), org_id, form.get("email", ""),
                               form.get("role", "developer"), _link("developer.invitation"))
    except Problem as problem:
        if problem.code == 404:
            raise
        _db().rollback()
        return render_template("developer/team.html", form=form, error=_form_error(problem),
                               **_team_context(org_id)), problem.code or 422
    _commit()
    flash(f"Invitation sent to {form.get('email', '').strip().lower()}.", "success")
    return redirect(url_for("developer.team", org_id=org_id))


@developer.post("/orgs/<int:org_id>/invitations/<int:invitation_id>/cancel")
def cancel_invitation(org_id: int, invitation_id: int) -> Response:
    """Withdraw an open invitation."""
    identity.cancel_invitation(_db(), _actor(), org_id, invitation_id)
    _commit()
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("developer.team", org_id=org_id))


@developer.post("/orgs/<int:org_id>/members/<int:user_id>/role")
def change_role(org_id: int, user_id: int) -> Any:
    """Give a member another role."""
    try:
        accounts.change_role(_db(), _actor(), org_id, user_id, request.form.get("role", ""))
    except Problem as problem:
        if problem.code == 404:
            raise
        _db().rollback()
        return render_template("developer/team.html", form={}, error=_form_error(problem),
                               **_team_context(org_id)), problem.code or 422
    _commit()
    flash("Role changed.", "success")
    return redirect(url_for("developer.team", org_id=org_id))


@developer.post("/orgs/<int:org_id>/members/<int:user_id>/remove")
def remove_member(org_id: int, user_id: int) -> Any:
    """Remove a member from the organisation."""
    try:
        accounts.remove_member(_db(), _actor(), org_id, user_id)
    except Problem as problem:
        if problem.code == 404:
            raise
        _db().rollback()
        return render_template("developer/team.html", form={}, error=_form_error(problem),
                               **_team_context(org_id)), problem.code or 422
    _commit()
    flash("Member removed.", "success")
    if user_id == g.user.id:
        return redirect(url_for("developer.dashboard"))
    return redirect(url_for("developer.team", org_id=org_id))


@developer.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    """Show an invitation; a signed-in user with the invited address accepts it."""
    view = identity.describe_invitation(_db(), token)
    if view is None:
        return render_template("developer/verify_failed.html", invitation=True), 400
    if request.method == "POST":
        if g.user is None:
            abort(401)
        membership = identity.accept_invitation(_db(), g.user, token)
        _commit()
        flash(f"You joined {view.organisation_name}.", "success")
        return redirect(url_for("developer.organisation", org_id=membership.organisation_id))
    return render_template("developer/invitation.html", invitation=view, token=token)


# --- apps, keys, subscriptions ----------------------------------------------------------------


def _app_context(app_id: int) -> dict[str, Any]:
    app = accounts.get_app(_db(), _actor(), app_id)
    return {"app": app, "organisation": app.organisation,
            "role": _role_in(app.organisation_id),
            "keys": accounts.list_api_keys(_db(), _actor(), app_id),
            "key_status": accounts.key_status,
            "subscriptions": accounts.list_subscriptions(_db(), _actor(), app_id),
            "products": accounts.list_products(_db()), "plans": list_plans(_db()),
            "overlaps": OVERLAPS}


@developer.route("/apps/<int:app_id>", methods=["GET", "POST"])
@with_form_errors("developer/app.html")
def app_settings(app_id: int) -> Any:
    """Rename an app, set its OAuth redirect URIs, see and change its subscriptions."""
    if request.method == "POST":
        form = request.form
        uris = [line.strip() for line in form.get("redirect_uris", "").splitlines()]
        app_edits.update_app(_db(), _actor(), app_id, name=form.get("name", ""),
                             redirect_uris=uris)
        _commit()
        flash("App saved.", "success")
        return redirect(url_for("developer.app_settings", app_id=app_id))
    return render_template("developer/app.html", form={}, **_app_context(app_id))


@developer.post("/apps/<int:app_id>/delete")
def delete_app(app_id: int) -> Response:
    """Delete an app; its keys stop working."""
    app = accounts.get_app(_db(), _actor(), app_id)
    org_id, name = app.organisation_id, app.name
    app_edits.delete_app(_db(), _actor(), app_id)
    _commit()
    flash(f"App {name} deleted; its keys no longer work.", "success")
    return redirect(url_for("developer.organisation", org_id=org_id))


@developer.post("/apps/<int:app_id>/subscriptions")
@with_form_errors("developer/app.html")
def subscribe(app_id: int) -> Response:
    """Subscribe the app to a product under a plan (or change the plan)."""
    subscription = accounts.subscribe(_db(), _actor(), app_id, request.form.get("product", ""),
                                      request.form.get("plan") or None)
    _commit()
    flash(f"Subscribed to {subscription.product.name} on the {subscription.plan.name} plan.",
          "success")
    return redirect(url_for("developer.app_settings", app_id=app_id))


@developer.get("/apps/<int:app_id>/keys")
def keys(app_id: int) -> str:
    """An app's keys: status, last use, rotate and revoke."""
    return render_template("developer/keys.html", form={}, **_app_context(app_id))


@developer.post("/apps/<int:app_id>/keys")
@with_form_errors("developer/keys.html")
def create_key(app_id: int) -> str:
    """Issue a key and show its secret this once (rendered, never kept in the session)."""
    issued = accounts.issue_api_key(_db(), _actor(), app_id,
                                    label=request.form.get("label", "").strip())
    _commit()
    return render_template("developer/keys.html", form={}, new_key=issued.raw,
                           new_key_id=issued.key.key_id, **_app_context(app_id))


@developer.post("/apps/<int:app_id>/keys/<key_id>/rotate")
@with_form_errors("developer/keys.html")
def rotate_key(app_id: int, key_id: str) -> str:
    """Issue a successor key; the old one works until the overlap ends."""
    _key_of_app(app_id, key_id)
    overlap = request.form.get("overlap", "86400")
    if overlap not in OVERLAPS:
        overlap = "86400"
    issued = accounts.rotate_api_key(_db(), _actor(), key_id, overlap_seconds=int(overlap))
    _commit()
    return render_template("developer/keys.html", form={}, new_key=issued.raw,
                           new_key_id=issued.key.key_id, rotated=key_id,
                           overlap=OVERLAPS[overlap], **_app_context(app_id))


@developer.post("/apps/<int:app_id>/keys/<key_id>/revoke")
def revoke_key(app_id: int, key_id: str) -> Response:
    """Revoke a key at once."""
    _key_of_app(app_id, key_id)
    accounts.revoke_api_key(_db(), _actor(), key_id)
    _commit()
    flash(f"Key {key_id} revoked.", "success")
    return redirect(url_for("developer.keys", app_id=app_id))


def _key_of_app(app_id: int, key_id: str) -> Any:
    key = accounts.get_api_key(_db(), _actor(), key_id)
    if key.app_id != app_id:
        raise Problem(404, "not-found", "Not Found", "No such API key.")
    return key


# --- OAuth clients ----------------------------------------------------------------------------


def _oauth_context(app_id: int) -> dict[str, Any]:
    context = _app_context(app_id)
    context.update(clients=oauth_clients.list_clients(_db(), _actor(), app_id),
                   token_url=current_app.config["BASE_URL"].rstrip("/") + url_for("oauth.token"))
    return context


def _client_of_app(app_id: int, client_id: str) -> Any:
    client = next((c for c in oauth_clients.list_clients(_db(), _actor(), app_id)
                   if c.client_id == client_id), None)
    if client is None:
        raise Problem(404, "not-found", "Not Found", "No such OAuth client.")
    return client


@developer.get("/apps/<int:app_id>/oauth")
def oauth(app_id: int) -> str:
    """An app's OAuth2 clients: client ids, status, redirect URIs, revoke."""
    return render_template("developer/oauth.html", **_oauth_context(app_id))


@developer.post("/apps/<int:app_id>/oauth")
@with_form_errors("developer/oauth.html")
def create_oauth_client(app_id: int) -> str:
    """Register a client and show its secret this once (rendered, never kept in the session)."""
    registered = oauth_clients.create_client(_db(), _actor(), app_id)
    _commit()
    return render_template("developer/oauth.html", new_client=registered.client,
                           new_secret=registered.secret, **_oauth_context(app_id))


@developer.post("/apps/<int:app_id>/oauth/<client_id>/revoke")
def revoke_oauth_client(app_id: int, client_id: str) -> Response:
    """Revoke a client: it gets no more tokens (those it holds expire on their own)."""
    _client_of_app(app_id, client_id)
    oauth_clients.revoke_client(_db(), _actor(), client_id)
    _commit()
    flash(f"OAuth client {client_id} revoked.", "success")
    return redirect(url_for("developer.oauth", app_id=app_id))


@developer.get("/apps/<int:app_id>/usage")
def usage(app_id: int) -> str:
    """Calls by hour and day, errors and 429s, quota used, recent calls."""
    context = _app_context(app_id)
    return render_template("developer/usage.html", usage=app_usage(_db(), _actor(), app_id),
                           **context)


# --- catalogue, docs, quickstart --------------------------------------------------------------


def _product_or_404(slug: str) -> Any:
    product = next((p for p in all_products() if p.slug == slug), None)
    if product is None:
        abort(404)
    return product


def _spec_paths(slug: str) -> list[str]:
    apis = current_app.extensions["mobihub.apis"]
    spec = apis[slug].spec.to_dict()
    return [path for path, item in spec.get("paths", {}).items() if "get" in item]


@developer.get("/products/<slug>")
def product(slug: str) -> str:
    """A product's description, coverage, plans and a quickstart filled in with the developer's
    key."""
    api_product = _product_or_404(slug)
    key_prefix = None
    if g.user is not None:
        for app in accounts.list_apps(_db(), _actor()):
            active = [k for k in accounts.list_api_keys(_db(), _actor(), app.id)
                      if accounts.key_status(k) == "active"]
            if active:
                key_prefix = active[-1].key_id
                break
    paths = [p for p in _spec_paths(slug) if "{" not in p] or _spec_paths(slug)
    return render_template("developer/product.html", product=api_product,
                           plans=list_plans(_db()), paths=paths,
                           example_path=paths[0] if paths else f"/{slug}/v1/",
                           base_url=current_app.config["BASE_URL"].rstrip("/"),
                           key_prefix=key_prefix,
                           coverage=product_coverage(_db(), slug)
                           if slug in DATA_PRODUCTS else None)


@developer.get("/reference")
def reference() -> str:
    """Interactive reference: Swagger UI that sends the developer's key with "Try it out"."""
    specs = [{"name": f"{p.title} ({p.version})", "slug": p.slug,
              "url": url_for(f"{p.slug}-api-docs.openapi_json")} for p in all_products()]
    return render_template("developer/reference.html", specs=specs,
                           wanted=request.args.get("product", ""))
