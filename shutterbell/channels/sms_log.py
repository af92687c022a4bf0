"""An SMS gateway for development (``SMS_BACKEND=log``): texts are written to the worker's log
and nothing is sent; every account and number is accepted."""
from __future__ import annotations

import logging
import secrets

from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)


class LogOnly:
    label = _l("The log (development)")
    notice = _l("This instance only writes texts to its log (SMS_BACKEND=log): nothing is sent.")

    def __init__(self, api_url: str, account_sid: str, token: str, timeout: float):
        self.account_sid = account_sid

    def account_status(self) -> str:
        return "active (log only: nothing is sent)"

    def owns_number(self, number: str) -> bool:
        return True

    def send(self, from_number: str, to: str, body: str) -> str:
        log.info("SMS (log only) from %s to %s: %s", from_number, to, body)
        return f"LOG{secrets.token_hex(8)}"
