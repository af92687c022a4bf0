"""``flask backup`` and ``flask restore`` on the embedded SQLite database, as a self-hoster runs
them: the copy is a working database (while the app has it open), the reminder names the keys,
restoring brings back what the copy holds and refuses a file that is no Shutterbell database;
on PostgreSQL the command says how to use pg_dump instead."""
import sqlite3

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from shutterbell import accounts, contacts
from shutterbell.extensions import db
from shutterbell.models import Contact

from .conftest import PASSWORD


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shutterbell.db'}"})
    with app.app_context():
        upgrade()
        owner = accounts.create_studio(accounts.NewStudio("Studio Łódź", "Europe/Warsaw", "pl_PL",
                                                          "ola@lodz.example", PASSWORD))
        contacts.save(owner.studio, None, contacts.ContactInput("Zoë Wójcik", emails=["zoe@example.pl"]))
        yield app
        db.session.remove()
        db.engine.dispose()


def contact_names(app):
    with app.app_context():
        return sorted(db.session.scalars(sa.select(Contact.name)))


def test_a_backup_is_a_working_copy_and_a_restore_brings_it_back(embedded, tmp_path):
    copy = tmp_path / "copy.db"
    runner = embedded.test_cli_runner()
    with embedded.app_context():
        db.session.execute(sa.select(1))  # the app holds the database open meanwhile
        made = runner.invoke(args=["backup", str(copy)])
        assert made.exit_code == 0, made.output
        assert "Wrote" in made.output and "ENCRYPTION_KEYS" in made.stderr and "encryption_key" in made.stderr
        assert runner.invoke(args=["backup", str(copy)]).exit_code != 0  # never overwrites
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT name FROM contact").fetchall() == [("Zoë Wójcik",)]

    with embedded.app_context():
        studio = db.session.scalar(sa.select(Contact)).studio_id
        db.session.add(Contact(studio_id=studio, name="Written after the copy"))
        db.session.commit()
    assert contact_names(embedded) == ["Written after the copy", "Zoë Wójcik"]
    with embedded.app_context():
        restored = runner.invoke(args=["restore", "--yes", str(copy)])
    assert restored.exit_code == 0, restored.output
    assert contact_names(embedded) == ["Zoë Wójcik"]
    kept = next(tmp_path.glob("shutterbell.db.before-restore-*"))  # what it replaced, kept
    with sqlite3.connect(kept) as connection:
        assert len(connection.execute("SELECT name FROM contact").fetchall()) == 2


def test_restore_refuses_what_is_no_shutterbell_database_and_asks_first(embedded, tmp_path):
    runner = embedded.test_cli_runner()
    stranger = tmp_path / "other.db"
    with sqlite3.connect(stranger) as connection:
        connection.execute("CREATE TABLE notes (text)")
    with embedded.app_context():
        refused = runner.invoke(args=["restore", "--yes", str(stranger)])
        assert refused.exit_code != 0 and "no Shutterbell database" in refused.stderr
        copy = tmp_path / "copy.db"
        runner.invoke(args=["backup", str(copy)])
        with sqlite3.connect(copy) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
        newer = runner.invoke(args=["restore", "--yes", str(copy)])
        assert newer.exit_code != 0 and "does not know" in newer.stderr
        asked = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert asked.exit_code != 0 and "Everything written since that copy is lost" in asked.output
    assert contact_names(embedded) == ["Zoë Wójcik"]


def test_each_database_is_backed_up_its_own_way(app, database_url, tmp_path):
    """SQLite by the command itself; PostgreSQL by pg_dump, which the command names."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "copy.db")])
    if database_url.startswith("postgresql"):
        assert result.exit_code != 0 and "pg_dump --format=custom" in result.stderr
        assert not (tmp_path / "copy.db").exists()
    else:
        assert result.exit_code == 0 and (tmp_path / "copy.db").stat().st_size > 0
