"""Every link and form on the lists leads somewhere: a list writes its rows' addresses from its own
(the list's address and the row's id, one url_for instead of fifty), so a route that moves must
fail here, not on a studio's tablet."""
from html.parser import HTMLParser

import pytest
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
    """A job with a customer Zoë and a failed message to her, beside the recommended profiles."""
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Löwenzahn", profile_id=(
        profiles.list_profiles(olivia.studio)[0].id)), None)
    customer, _ = customers.register(job, customers.CustomerInput("Zoë", "Łęcka", "zoe@example.com", email_consent=True),
                                     "staff", {"email": "Ja, per E-Mail", "sms": ""}, utcnow())
    db.session.add(Message(studio_id=olivia.studio_id, job_id=job.id, customer_id=customer.id, key="x:1",
                           channel="email", recipient=customer.email, subject="Eure Fotos – schön geworden",
                           body="Grüße", due_at=utcnow(), status="failed"))
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
        assert as_olivia.get(url).status_code in (200, 302), url
    # The rows' own: each profile's edit, results, duplicate and delete, the message's page, Zoë's
    profile_id = profiles.list_profiles(olivia.studio)[0].id
    message_id = db.session.query(Message.id).scalar()
    assert {f"/settings/profiles/{profile_id}", f"/settings/profiles/{profile_id}/results",
            f"/settings/profiles/{profile_id}/delete", f"/outbox/{message_id}"} <= set(links)
    assert ("POST", f"/settings/profiles/{profile_id}/duplicate") in found
    assert any(url.startswith(f"/jobs/{a_busy_studio.id}/customers/") for url in links)
