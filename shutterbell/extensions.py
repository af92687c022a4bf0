"""Flask extensions, created unbound and initialised by ``create_app``."""
from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

from .i18n import RequestBabel

# Named constraints, so Alembic revisions can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = RequestBabel()
mail = Mail()
htmx = Htmx()


class _AppLimiter(Limiter):
    """Flask-Limiter keeps the storage of the app it was last initialised with; the tests, the
    benchmarks and the CLI make several apps in one process, each with its own Redis. Each app
    counts in its own."""

    def init_app(self, app) -> None:
        super().init_app(app)
        app.extensions["shutterbell.rate_limiter"] = self._limiter  # the strategy just made for this app

    @property
    def limiter(self):
        return current_app.extensions.get("shutterbell.rate_limiter") or Limiter.limiter.fget(self)


# Counts in the app's Redis (the embedded one under ./run too); storage set by create_app.
# Fails closed: a limiter that cannot count raises, and the app answers 503 (app.py).
limiter = _AppLimiter(key_func=get_remote_address, key_prefix="shutterbell", strategy="fixed-window")
