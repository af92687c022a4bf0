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
    keyed_by_another = {"invoice_counter"}  # one row per studio, keyed by the studio's id: it hands out none
    forgetful = [name for name, sql in tables if "AUTOINCREMENT" not in sql and name not in keyed_by_another]
    assert len(tables) > 15 and forgetful == []


def test_an_unedited_recommended_welcome_learns_to_read_right_for_late_sign_ups(tmp_path):
    """e3a7c5d91b20 rewrites the recommended welcome only where the studio never edited it."""
    import sqlalchemy as sa
    from flask_migrate import downgrade

    from shutterbell import accounts
    from shutterbell.models import Notification
    from shutterbell.recommended import WELCOME

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        accounts.create_studio(accounts.NewStudio("Studio Łódź", "Europe/Warsaw", "pl_PL", "ola@lodz.example", PASSWORD))
        welcome = sa.select(Notification.body).where(Notification.trigger == "customer_registered")
        assert db.session.scalars(welcome).all() == [WELCOME.body] * 2
        db.session.commit()
        downgrade(revision="b5d1f0c3a9e2")
        old = db.session.scalars(welcome).all()
        assert old[0] == old[1] and "{% if" not in old[0] and "as soon as they are online" in old[0]
        first = db.session.scalars(sa.select(Notification.id).where(Notification.trigger == "customer_registered")).first()
        edited = old[0].replace("Hello", "Dzień dobry")
        db.session.execute(sa.update(Notification).where(Notification.id == first).values(body=edited))
        db.session.commit()
        upgrade()
        assert sorted(db.session.scalars(welcome)) == sorted([edited, WELCOME.body])
        db.session.remove()
        db.engine.dispose()


def test_existing_customers_get_one_contact_per_address(tmp_path):
    """c4e8a2f6b9d3 gives the customers that were there before contacts their contacts."""
    import sqlalchemy as sa
    from flask_migrate import downgrade

    from shutterbell import accounts, jobs
    from shutterbell.models import Contact, Customer, utcnow

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        studio = accounts.create_studio(accounts.NewStudio("Studio Lichtblick", "Europe/Berlin", "de_DE",
                                                           "olivia@lichtblick.example", PASSWORD)).studio
        kita, hort = (jobs.save_job(studio, None, jobs.JobInput(name=n, profile_id=None), None) for n in ("Kita", "Hort"))
        ids = (studio.id, kita.id, hort.id)
        db.session.commit()
        downgrade(revision="f8b2d6e0c4a1")
        customer = sa.table("customer", *(sa.column(c) for c in (
            "studio_id", "job_id", "first_name", "last_name", "email", "registered_at", "unsubscribe_token",
            "created_at")))
        now = utcnow()
        for n, (job_id, first, email) in enumerate([(ids[1], "Jürgen", "j@example.com"), (ids[2], "Jürgen W.", "j@example.com"),
                                                    (ids[1], "Zoë", "zoe@example.com")]):
            db.session.execute(customer.insert().values(studio_id=ids[0], job_id=job_id, first_name=first, last_name="",
                                                        email=email, registered_at=now, unsubscribe_token=f"t{n}",
                                                        created_at=now))
        db.session.commit()
        upgrade()
        made = {c.name: sorted(a.address for a in c.addresses) for c in db.session.scalars(sa.select(Contact))}
        assert made == {"Jürgen W.": ["j@example.com"], "Zoë": ["zoe@example.com"]}  # the latest sign-up's name
        assert None not in set(db.session.scalars(sa.select(Customer.contact_id)))
        db.session.remove()
        db.engine.dispose()


def test_existing_studios_get_the_recommended_mail_templates(tmp_path):
    """df0c1054c195 gives every studio that was there before templates the four a new one gets."""
    import sqlalchemy as sa
    from flask_migrate import downgrade

    from shutterbell import accounts, mail_templates
    from shutterbell.models import MailTemplate

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        accounts.create_studio(accounts.NewStudio("Studio Łódź", "Europe/Warsaw", "pl_PL", "ola@lodz.example", PASSWORD))
        shipped = sorted((t.name, t.subject, t.body) for t in mail_templates.RECOMMENDED)
        rows = sa.select(MailTemplate.name, MailTemplate.subject, MailTemplate.body)
        assert sorted(db.session.execute(rows).tuples()) == shipped
        db.session.commit()
        downgrade(revision="b8d4f2a6c0e1")
        upgrade()
        assert sorted(db.session.execute(rows).tuples()) == shipped  # the same texts, once
        db.session.remove()
        db.engine.dispose()


def test_existing_customers_get_their_names_sort_order(tmp_path):
    """e1f3a5c7b9d2 gives the customers that were there before it the stored order of their names;
    going back, SQLite's customer table keeps AUTOINCREMENT."""
    import sqlalchemy as sa
    from flask_migrate import downgrade

    from shutterbell import accounts, customers, jobs
    from shutterbell.models import Job, utcnow

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        studio = accounts.create_studio(accounts.NewStudio("Studio Lichtblick", "Europe/Berlin", "de_DE",
                                                           "olivia@lichtblick.example", PASSWORD)).studio
        ids = studio.id, jobs.save_job(studio, None, jobs.JobInput(name="Kita", profile_id=None), None).id
        db.session.commit()
        downgrade(revision="b7d9f1a3c5e8")
        customer = sa.table("customer", *(sa.column(c) for c in (
            "studio_id", "job_id", "first_name", "last_name", "email", "registered_at", "unsubscribe_token",
            "created_at")))
        now = utcnow()
        for n, (first, last) in enumerate([("Jörg", "Zimmermann"), ("Ayşe", "Öztürk"), ("Hans", "ohm"),
                                           ("Jürgen", "Groß"), ("Zoë", "Łęcka")]):
            db.session.execute(customer.insert().values(studio_id=ids[0], job_id=ids[1], first_name=first,
                                                        last_name=last, email=f"{n}@example.de", registered_at=now,
                                                        unsubscribe_token=f"t{n}", created_at=now))
        db.session.commit()
        created = db.session.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'customer'")).scalar()
        assert "AUTOINCREMENT" in created
        upgrade()
        listed = customers.page_of(db.session.get(Job, ids[1])).rows
        assert [c.last_name for c in listed] == ["Groß", "Łęcka", "ohm", "Öztürk", "Zimmermann"]
        db.session.remove()
        db.engine.dispose()

def test_an_unedited_photos_online_email_names_the_order_deadline_only_when_there_is_one(tmp_path):
    """c7e9a1b3d5f7 rewrites the recommended "photos are online" email in English and German only
    where the studio never edited it; a job without a deadline then reads as a whole sentence."""
    import sqlalchemy as sa
    from flask_migrate import downgrade

    from shutterbell import accounts, templating
    from shutterbell.models import Notification, Studio

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        for name, locale, email in (("Fotostudio Jürgen Weiß", "de_DE", "juergen@weiss.example"),
                                    ("Studio Zoë", "en_GB", "zoe@studio.example")):
            accounts.create_studio(accounts.NewStudio(name, "Europe/Berlin", locale, email, PASSWORD))
        online = (sa.select(Notification.body, Studio.locale, Notification.id).join(Studio, Studio.id == Notification.studio_id)
                  .where(Notification.trigger == "job_published", Notification.channel == "email")
                  .order_by(Notification.id))
        new = db.session.execute(online).all()
        db.session.commit()
        downgrade(revision="b4d6f8a0c2e4")
        old = db.session.execute(online).all()
        assert all("{% if job.order_deadline %}" not in body for body, _, _ in old) and len(old) == 4
        edited = old[0].body.replace("Viel Freude", "Viel Spaß")
        db.session.execute(sa.update(Notification).where(Notification.id == old[0].id).values(body=edited))
        db.session.commit()
        upgrade()
        after = db.session.execute(online).all()
        assert [body for body, _, _ in after] == [edited, new[1].body, new[2].body, new[3].body]
        for body, locale, _ in after[1:]:
            sample = templating.sample_context("Fotostudio Jürgen Weiß", locale)
            with_deadline = templating.render("", body, "email", sample).text
            sample["job"]["order_deadline"] = ""
            without = templating.render("", body, "email", sample).text
            assert sample["job"]["access_code"] in without and "{%" not in without
            if locale == "de_DE":
                assert "bis zum" in with_deadline and "bestellen" in with_deadline
                assert "bis zum" not in without and "Ihr Zugangscode lautet" in without
            else:
                assert "order until" in with_deadline and "order until" not in without
        db.session.remove()
        db.engine.dispose()
