"""Every link and form on the lists leads somewhere: a list writes its rows' addresses from its own
(the list's address and the row's id, one url_for instead of fifty), so a route that moves must
fail here, not on a studio's tablet."""
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from shutterbell import customers, jobs, profiles
from shutterbell.extensions import db
from shutterbell.models import Message, utcnow

from .conftest import text_of


class _Addresses(HTMLParser):
    """(method, path) of every link, form and htmx request on a page that stays in the app."""

    def __init__(self):
        super().__init__()
        self.found = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        wanted = [("GET", attrs.get("href") if tag == "a" else None), ("GET", attrs.get("hx-get")),
                  ("POST", attrs.get("hx-post")),
                  ((attrs.get("method") or "get").upper(), attrs.get("action") if tag == "form" else None)]
        self.found |= {(method, url.split("#")[0]) for method, url in wanted if url and url.startswith("/")}


def addresses_on(html: str) -> set[tuple[str, str]]:
    parser = _Addresses()
    parser.feed(html)
    return parser.found


@pytest.fixture
def a_busy_studio(olivia):
    """A job with a customer Zoë and a failed message to her, a message of no job (written to a
    contact), beside the recommended profiles."""
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Löwenzahn", profile_id=(
        profiles.list_profiles(olivia.studio)[0].id)), None)
    customer, _ = customers.register(job, customers.CustomerInput("Zoë", "Łęcka", "zoe@example.com", email_consent=True),
                                     "staff", {"email": "Ja, per E-Mail", "sms": ""}, utcnow())
    db.session.add(Message(studio_id=olivia.studio_id, job_id=job.id, customer_id=customer.id, key="x:1",
                           channel="email", recipient=customer.email, subject="Eure Fotos – schön geworden",
                           body="Grüße", due_at=utcnow(), status="failed"))
    db.session.add(Message(studio_id=olivia.studio_id, key="oneoff:1", channel="email", recipient="łucja@example.pl",
                           subject="Angebot für Łucja", body="Grüße", due_at=utcnow(), status="sent"))
    db.session.commit()
    return job


def test_every_address_on_the_lists_is_a_route_and_every_link_opens(app, olivia, as_olivia, a_busy_studio):
    adapter = app.url_map.bind("localhost")
    pages = ["/", "/settings/profiles/", "/outbox/", f"/outbox/?job={a_busy_studio.id}", "/jobs/",
             f"/jobs/{a_busy_studio.id}"]
    found = set().union(*(addresses_on(text_of(as_olivia.get(page))) for page in pages))
    for method, url in sorted(found):
        try:
            adapter.match(url.split("?")[0], method=method)
        except RequestRedirect:  # a folder without its slash: Werkzeug redirects, as a browser follows
            pass
        except (NotFound, MethodNotAllowed) as error:
            pytest.fail(f"{method} {url}: {error.__class__.__name__}")
    links = sorted(url for method, url in found if method == "GET")
    for url in links:
        response = as_olivia.get(url)
        assert response.status_code in (200, 302) and "/login" not in response.headers.get("Location", ""), url
    # The rows' own, as the app builds them: each profile's edit, results, duplicate and delete,
    # each message's page
    profile_id = profiles.list_profiles(olivia.studio)[0].id
    with app.test_request_context():
        built = {("GET", url_for(endpoint, profile_id=profile_id)) for endpoint in (
            "profiles.edit", "profiles.results", "profiles.delete")}
        built |= {("POST", url_for("profiles.duplicate", profile_id=profile_id))}
        built |= {("GET", url_for("outbox.show", message_id=m)) for m in db.session.scalars(sa.select(Message.id))}
    assert built <= found
    assert any(url.startswith(f"/jobs/{a_busy_studio.id}/customers/") for url in links)


def test_the_outbox_names_each_messages_job(as_olivia, a_busy_studio):
    page = text_of(as_olivia.get("/outbox/"))
    assert "Kita Löwenzahn" in page and "Eure Fotos – schön geworden" in page
    assert "Angebot für Łucja" in page  # a message of no job is listed too
