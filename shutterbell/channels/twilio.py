"""An SMS gateway: Twilio's REST API, or any API that speaks it, at ``SMS_API_URL``."""
from __future__ import annotations

import base64
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

from flask_babel import lazy_gettext as _l

from .. import diagnostics
from ..diagnostics import DeliveryFailure

API = "/2010-04-01/Accounts"


class Twilio:
    """One studio's account at the provider. Every call raises DeliveryFailure with its phase."""

    label = _l("Twilio-compatible REST API")
    notice = ""

    def __init__(self, api_url: str, account_sid: str, token: str, timeout: float):
        self.api_url, self.account_sid, self.token, self.timeout = api_url, account_sid, token, timeout

    def account_status(self) -> str:
        return self._call("GET", f"{API}/{self._sid}.json", phase="auth").get("status", "")

    def owns_number(self, number: str) -> bool:
        """Is ``number`` one of the account's own? (An alphanumeric sender id cannot be looked up.)"""
        if not number.startswith("+"):
            return True
        found = self._call("GET", f"{API}/{self._sid}/IncomingPhoneNumbers.json?"
                           + urllib.parse.urlencode({"PhoneNumber": number}), phase="from_number")
        return bool(found.get("incoming_phone_numbers"))

    def send(self, from_number: str, to: str, body: str) -> str:
        """Hand one text to the provider; returns its id for the message."""
        answer = self._call("POST", f"{API}/{self._sid}/Messages.json", phase="send",
                            form={"From": from_number, "To": to, "Body": body})
        return answer.get("sid", "")

    @property
    def _sid(self) -> str:
        return urllib.parse.quote(self.account_sid, safe="")

    def _call(self, method: str, path: str, phase: str, form: dict | None = None) -> dict:
        credentials = base64.b64encode(f"{self.account_sid}:{self.token}".encode()).decode()
        request = urllib.request.Request(
            self.api_url + path, method=method,
            data=urllib.parse.urlencode(form).encode() if form is not None else None,
            headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise DeliveryFailure(_diagnose_answer(error), phase) from None
        except urllib.error.URLError as error:
            reason = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
            host = urllib.parse.urlsplit(self.api_url).hostname or ""
            raise DeliveryFailure(diagnostics.classify_exception(reason, "sms", "connect", host), "connect") from None
        except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as error:
            # The request went out and no answer came back: the provider may have taken the text.
            if phase == "send":
                raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["sms_outcome_unknown"],
                                                            f"{type(error).__name__}: {error}"[:500]), "unknown") from None
            raise DeliveryFailure(diagnostics.classify_exception(error, "sms", "connect"), "connect") from None
        except ValueError:  # not JSON: not a Twilio-compatible API at this address
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["other"],
                                                        "The SMS provider's answer was not JSON."), phase) from None


def _diagnose_answer(error: urllib.error.HTTPError) -> diagnostics.Diagnosis:
    try:
        answer = json.loads(error.read() or b"{}")
    except ValueError:
        answer = {}
    return diagnostics.classify_sms(error.code, answer.get("code"), str(answer.get("message") or error.reason))
