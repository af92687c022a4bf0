"""gunicorn's access log without the secrets some URLs carry: invitation, confirmation,
unsubscribe and password-reset links hold a token that works for whoever reads the log.
Used by the Procfile and the systemd unit: ``gunicorn --logger-class shutterbell.access_log.AccessLog``."""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

# The path segment after one of these prefixes is a token (blueprints auth and public).
_TOKEN_IN_PATH = re.compile(r"(/(?:invite|reset|c|u)/)[^/?#\s\"]+")


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1[token]", text)


class AccessLog(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and ("/" in value) and (key in ("r", "U", "f") or key.endswith("}i")):
                atoms[key] = redact(value)
        return atoms
