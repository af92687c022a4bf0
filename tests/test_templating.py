"""Message templates: documented placeholders only, sandboxed, plain text in, safe HTML out."""
import pytest

from shutterbell import templating, triggers
from shutterbell.templating import TemplateProblem

ORDER = triggers.get("order_placed")
PUBLISHED = triggers.get("job_published")


def check(source, trigger=PUBLISHED, limit=5000):
    templating.check(source, trigger, limit)


def problem(source, trigger=PUBLISHED, limit=5000) -> str:
    with pytest.raises(TemplateProblem) as info:
        check(source, trigger, limit)
    return str(info.value)


def test_documented_placeholders_pass(bare_ctx):
    check("Hello {{ customer.first_name }}, see {{ job.gallery_url }} before {{ job.archives_at }}. "
          "{{ studio.name }} {{ unsubscribe_url }}")


def test_it_names_an_unknown_placeholder(bare_ctx):
    assert "{{ customer.shoe_size }}" in problem("Hi {{ customer.shoe_size }}")
    assert "{{ cusotmer }}" in problem("Hi {{ cusotmer.first_name }}".replace(".first_name", ""))


def test_it_rejects_attribute_tricks_that_reach_python_internals(bare_ctx):
    for source in ("{{ ''.__class__ }}", "{{ customer.first_name.__class__ }}",
                   "{{ customer['first_name'] }}", "{{ job.name.upper() }}",
                   "{% for x in range(10**9) %}x{% endfor %}", "{{ lipsum() }}"):
        assert problem(source), source


def test_it_explains_a_syntax_error_with_its_line(bare_ctx):
    message = problem("Hello\n{{ customer.first_name ")
    assert message.startswith("Line 2")


def test_order_placeholders_need_an_order_trigger(bare_ctx):
    check("Thanks for order {{ order.number }}", ORDER)
    assert "only available" in problem("Thanks for order {{ order.number }}", PUBLISHED)


def test_it_recognises_gotphoto_placeholders_and_converts_them(bare_ctx):
    message = problem("Hallo [[Customer.firstname]]!")
    assert "{{ customer.first_name }}" in message
    assert templating.convert_gotphoto("Hallo [[Customer.firstname]], [[Mystery.thing]]") == \
        "Hallo {{ customer.first_name }}, [[Mystery.thing]]"


def test_it_caps_the_size(bare_ctx):
    assert "at most 10" in problem("x" * 11, limit=10)


def test_email_html_is_made_from_text_and_escapes_everything(bare_ctx):
    context = templating.sample_context()
    context["customer"]["first_name"] = "<script>alert(1)</script>"
    rendered = templating.render(
        "Hi {{ customer.first_name }}", "Hello {{ customer.first_name }},\n<b>typed</b>\n\nSee https://example.com/g/1.",
        "email", context)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;typed&lt;/b&gt;" in rendered.html
    assert '<a href="https://example.com/g/1">https://example.com/g/1</a>.' in rendered.html
    assert rendered.html.count("<p>") == 2
    assert rendered.subject == "Hi <script>alert(1)</script>"  # the subject is a plain-text header


def test_dates_and_money_follow_the_studio_locale(bare_ctx):
    german = templating.sample_context(locale="de_DE", currency="EUR")
    assert "€" in german["order"]["total"] and "," in german["order"]["total"]
    assert any(month in german["job"]["archives_at"] for month in
               ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                "Oktober", "November", "Dezember"))


@pytest.mark.parametrize("text, segments, encoding", [
    ("a" * 160, 1, "GSM-7"),
    ("a" * 161, 2, "GSM-7"),
    ("€" * 80, 1, "GSM-7"),  # extension characters count twice
    ("€" * 81, 2, "GSM-7"),
    ("ą" * 70, 1, "UCS-2"),
    ("ą" * 71, 2, "UCS-2"),
    ("😀" * 35, 1, "UCS-2"),  # outside the BMP: two UTF-16 units each
])
def test_sms_length_in_segments(text, segments, encoding):
    length = templating.sms_length(text)
    assert (length.segments, length.encoding) == (segments, encoding)


def test_sms_cleaning_keeps_a_text_in_gsm7():
    cleaned = templating.clean_sms("Hallo\u00a0Anna \u201eFotos\u201c \u2013 jetzt online\u2026")
    assert templating.sms_length(cleaned).encoding == "GSM-7"
