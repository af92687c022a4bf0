"""The audit log: who changed which mail setting, profile, user, token or template, and when,
in words and without secrets; the owner reads it, staff do not, and no studio sees another's."""
import sqlalchemy as sa

from shutterbell.extensions import db
from shutterbell.models import AuditEntry

from .conftest import text_of
from .test_email_settings import form as smtp_form
from .test_profile_pages import profile_form, row


def test_each_settings_change_is_logged_with_who_and_what_but_no_secret(
        olivia, otto, as_olivia, as_sam, as_otto, smtp_port, configure, certificate):
    configure(mail_ca_file=str(certificate[0]), mail_private_hosts="allow")
    assert as_olivia.post("/settings/email/smtp", smtp_form(smtp_port)).status_code == 302
    assert as_olivia.post("/settings/profiles/new", profile_form("Schulfotos Grünwald 2026", row(0))).status_code in (302, 200)
    assert as_olivia.post("/settings/users/", {"email": "lukasz@lichtblick.example", "name": "Łukasz"}).status_code == 200
    assert as_olivia.post("/settings/api-tokens/", {"name": "Shop für Abzüge"}).status_code == 200
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.what, e.user_email) for e in entries] == [
        ("smtp_saved", "olivia@lichtblick.example"), ("profile_saved", "olivia@lichtblick.example"),
        ("user_invited", "olivia@lichtblick.example"), ("token_created", "olivia@lichtblick.example")]
    smtp = entries[0].subject
    assert "127.0.0.1" in smtp and "new password" in smtp and smtp_form(smtp_port)["password"] not in smtp
    page = text_of(as_olivia.get("/settings/studio/audit"))
    for shown in ("Sending account saved", "Schulfotos Grünwald 2026", "lukasz@lichtblick.example", "Shop für Abzüge"):
        assert shown in page
    assert as_sam.get("/settings/studio/audit").status_code == 403
    assert "Grünwald" not in text_of(as_otto.get("/settings/studio/audit"))
