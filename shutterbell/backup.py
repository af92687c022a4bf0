"""A consistent copy of the database, and putting one back.

SQLite (the embedded default) is copied with its online backup API: the copy is consistent even
while the web app and the worker write. PostgreSQL is copied with its own tool (``pg_dump``), which
the command names. Either way the copy is useless without the instance's keys: the secret key
signs sessions and links, the encryption keys open the stored mail passwords.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from .extensions import db


class BackupProblem(Exception):
    pass


def sqlite_path() -> Path:
    """The SQLite database file, or BackupProblem for another database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupProblem(
            "This database is PostgreSQL: copy it with its own tool, for example\n"
            f"  pg_dump --format=custom --file=shutterbell.dump {url.render_as_string(hide_password=True)}\n"
            "and put it back with pg_restore --clean --dbname=... shutterbell.dump.")
    return Path(url.database)


def back_up(target: Path) -> int:
    """Copy the live SQLite database to ``target`` (a new file); returns its size in bytes."""
    source = sqlite_path()
    if target.exists():
        raise BackupProblem(f"{target} exists already: choose a new file, nothing is overwritten.")
    try:
        _copy(source, target)
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)  # (no half copy left to be mistaken for one)
        raise BackupProblem(f"The copy failed: {error}") from None
    return target.stat().st_size


def restore(copy: Path, known_versions: set[str], now: datetime) -> Path:
    """Put a copy made by ``back_up`` in place of the live database (stop the app and the worker
    first). The copy must be a sound Shutterbell database of a version this code knows (an older
    one is upgraded afterwards, a newer one would break it). The database it replaces is kept
    beside it first; returns where."""
    target = sqlite_path()
    if not copy.is_file():
        raise BackupProblem(f"No file at {copy}.")
    version = _version_of(copy)
    if version not in known_versions:
        raise BackupProblem(f"{copy} is of schema {version}, which this version of Shutterbell does not know "
                            "(a copy made by a newer version?).")
    kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}")
    db.session.remove()
    db.engine.dispose()  # (this process holds no connection while the file is replaced)
    _copy(target, kept)
    _copy(copy, target)
    return kept


def _version_of(copy: Path) -> str:
    try:
        connection = sqlite3.connect(_read_only(copy), uri=True)
        try:
            if connection.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupProblem(f"{copy} is damaged (SQLite's quick_check failed).")
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            connection.execute("SELECT count(*) FROM studio").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        version = None
    if version is None:
        raise BackupProblem(f"{copy} is no Shutterbell database.")
    return version[0]


def _read_only(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: consistent while others write. The source is opened read-only,
    so a wrong path is an error, not a new empty database."""
    reading, writing = sqlite3.connect(_read_only(source), uri=True), sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


def schema_version() -> str:
    return db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) or ""
