"""The schema comes from the migrations; they must match the models on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shutterbell.extensions import db


def test_the_migrations_build_exactly_the_models(app, ctx):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
