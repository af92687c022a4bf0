"""The schema comes from the migrations; they must match the models on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flask_migrate import upgrade

from app import create_app
from shutterbell.extensions import db


def test_the_migrations_build_exactly_the_models(app, ctx):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_on_sqlite_no_table_hands_out_an_id_twice(tmp_path):
    """A batch migration rebuilds a SQLite table from reflection, which forgets AUTOINCREMENT:
    each must pass table_kwargs={'sqlite_autoincrement': True} (see 7c2e9a41d0b5)."""
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        with db.engine.connect() as connection:
            tables = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                                "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'").all()
        db.engine.dispose()
    forgetful = [name for name, sql in tables if "AUTOINCREMENT" not in sql]
    assert len(tables) > 15 and forgetful == []
