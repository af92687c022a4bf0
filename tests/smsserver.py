"""A stand-in for a Twilio-compatible SMS API on loopback, for the one outside service that cannot
run here: it checks Basic auth, knows the account's numbers, answers with the provider's error
codes for numbers told to fail, and records every text it accepts."""
from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SID = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-123"
NUMBER = "+15017122661"


class Provider:
    """What the fake knows and what it got. ``failures`` maps a recipient to (status, code, message)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.token = TOKEN
        self.numbers = {NUMBER}
        self.failures: dict[str, tuple[int, int, str]] = {}
        self.sent: list[dict[str, str]] = []
        self.down = False  # answer 503 to everything
        self.slow: set[str] = set()  # recipients whose text is taken but answered too late


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if not self._authorised():
            return
        if url.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json":
            return self._answer(200, {"sid": ACCOUNT_SID, "status": "active", "friendly_name": "Lichtblick"})
        if url.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json":
            wanted = urllib.parse.parse_qs(url.query).get("PhoneNumber", [""])[0]
            found = [{"phone_number": wanted}] if wanted in self.provider.numbers else []
            return self._answer(200, {"incoming_phone_numbers": found})
        self._answer(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        form = {k: v[0] for k, v in urllib.parse.parse_qs(
            self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
        if form.get("From") not in self.provider.numbers:
            return self._answer(400, {"code": 21606, "status": 400, "message":
                                      f"The From phone number {form.get('From')} is not a valid, SMS-capable "
                                      "inbound phone number or short code for your account."})
        if form["To"] in self.provider.failures:
            status, code, message = self.provider.failures[form["To"]]
            return self._answer(status, {"code": code, "message": message, "status": status})
        self.provider.sent.append(form)
        if form["To"] in self.provider.slow:
            time.sleep(1.5)
        self._answer(201, {"sid": f"SM{len(self.provider.sent):032x}", "status": "queued", "to": form["To"]})

    def _authorised(self) -> bool:
        if self.provider.down:
            self._answer(503, {"message": "Service Unavailable", "status": 503})
            return False
        expected = base64.b64encode(f"{ACCOUNT_SID}:{self.provider.token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return False
        return True

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def sms_api():
    """Yields (provider, base_url)."""
    provider = Provider()
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
