"""The one error the domain raises for input it refuses."""
from __future__ import annotations


class Invalid(ValueError):
    """Input the domain refuses, with ``problems``: field name → message (a profile's rows use
    ``("notifications", index, field)``). Views put them on the form's fields
    (``blueprints.forms.problems_shown_on``); the API answers them as JSON."""

    def __init__(self, problems: dict):
        super().__init__(problems)
        self.problems = problems
