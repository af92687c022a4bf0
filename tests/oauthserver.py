"""An OAuth 2 authorization server on loopback, like Microsoft's or Google's for mail: the
authorization endpoint (PKCE S256 checked), the token endpoint (codes, refresh tokens that rotate,
expiry, revocation), and an aiosmtpd handler that signs in with XOAUTH2 against its tokens."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiosmtpd.smtp import AuthResult
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .mailservers import Mailbox, free_port

CLIENT_ID, CLIENT_SECRET = "shutterbell-test-app", "s3cret-of-the-app"


@dataclass
class AuthorizationServer:
    expires_in: int = 3600
    rotate: bool = True  # each refresh gives a new refresh token and ends the old one (Microsoft)
    codes: dict = field(default_factory=dict)  # code -> (challenge, redirect_uri, user)
    refresh_tokens: dict = field(default_factory=dict)  # refresh token -> user
    access_tokens: dict = field(default_factory=dict)  # access token -> (user, expires at)
    refreshes: int = 0
    user: str = "studio@lichtblick.example"  # who signs in at the provider's page
    delay: float = 0.0  # seconds the token endpoint takes (two processes refreshing at once)
    down: bool = False  # the token endpoint answers 503 (the provider has an outage)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def revoke_all(self) -> None:
        """The grant ends (the owner removed the app, an admin revoked it, 90 days unused)."""
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def valid(self, token: str, user: str) -> bool:
        found = self.access_tokens.get(token)
        return bool(found and found[0] == user and found[1] > time.time())

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/authorize":
            response = self._authorize(request)
        elif request.path == "/token" and request.method == "POST":
            response = self._token(request)
        elif request.path == "/introspect" and request.method == "POST":  # RFC 7662, for Dovecot
            found = self.access_tokens.get(request.form.get("token", ""))
            good = bool(found and found[1] > time.time())
            response = Response(json.dumps({"active": True, "username": found[0]} if good else {"active": False}),
                                content_type="application/json")
        else:
            response = Response("not found", 404)
        return response(environ, start_response)

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("code_challenge_method") != "S256":
            return Response("bad request", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = (args["code_challenge"], args["redirect_uri"], self.user)
        query = urlencode({"code": code, "state": args["state"]})
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{query}"})

    def _token(self, request: Request) -> Response:
        if self.down:
            return Response("Service Unavailable", 503)
        if not self._client_ok(request):
            return _error("invalid_client", 401)
        form = request.form
        time.sleep(self.delay)
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                challenge, redirect_uri, user = self.codes.pop(form.get("code"), (None, None, None))
                verifier = form.get("code_verifier", "")
                expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if challenge is None or challenge != expected or redirect_uri != form.get("redirect_uri"):
                    return _error("invalid_grant")
                return self._issue(user, new_refresh=True)
            if form.get("grant_type") == "refresh_token":
                user = self.refresh_tokens.get(form.get("refresh_token"))
                if user is None:
                    return _error("invalid_grant")
                self.refreshes += 1
                if self.rotate:
                    del self.refresh_tokens[form["refresh_token"]]
                return self._issue(user, new_refresh=self.rotate)
        return _error("unsupported_grant_type")

    def _issue(self, user: str, new_refresh: bool) -> Response:
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = (user, time.time() + self.expires_in)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in}
        if new_refresh:
            body["refresh_token"] = refresh = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = user
        return Response(json.dumps(body), content_type="application/json")

    @staticmethod
    def _client_ok(request: Request) -> bool:
        auth = request.authorization
        if auth is not None:
            return (auth.username, auth.password) == (CLIENT_ID, CLIENT_SECRET)
        return (request.form.get("client_id"), request.form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)


def _error(code: str, status: int = 400) -> Response:
    return Response(json.dumps({"error": code, "error_description": f"{code} (test server)"}), status,
                    content_type="application/json")


@contextlib.contextmanager
def authorization_server(server: AuthorizationServer):
    """Serve it on a free loopback port; yields its base URL."""
    port = free_port()
    http = make_server("127.0.0.1", port, server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        http.shutdown()


class OAuthMailbox(Mailbox):
    """A mailbox that signs in with XOAUTH2 only, checking the token with the authorization server
    (as Exchange Online and Gmail do); a refused token gets Gmail's JSON challenge, then 535."""

    def __init__(self, issuer: AuthorizationServer):
        super().__init__()
        self.issuer = issuer
        self.sign_ins = 0

    async def auth_XOAUTH2(self, server, args):
        raw = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        token = fields.get("auth", "").removeprefix("Bearer ")
        if self.issuer.valid(token, fields.get("user", "")):
            self.sign_ins += 1
            return AuthResult(success=True, auth_data=fields["user"])
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}))
        return AuthResult(success=False, message="535 5.7.8 Username and Password not accepted.")
