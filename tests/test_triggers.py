"""The trigger catalogue is the one place forms, validation and the scheduler read."""
from shutterbell import triggers
from shutterbell.triggers import Audience, Occurrence

DESIGN_TRIGGERS = {
    "customer_registered", "job_published", "days_after_published", "days_before_archived",
    "days_before_order_deadline", "order_placed", "days_after_order", "days_after_order_unpaid",
    "days_before_voucher_expires", "days_before_shoot", "days_after_shoot",
}


def test_it_holds_every_trigger_the_design_lists():
    assert DESIGN_TRIGGERS <= set(triggers.CATALOGUE)


def test_registration_only_reaches_potential_buyers_and_orders_only_buyers():
    assert triggers.get("customer_registered").audiences == (Audience.POTENTIAL_BUYERS,)
    for key in ("order_placed", "days_after_order", "days_after_order_unpaid"):
        assert triggers.get(key).audiences == (Audience.BUYERS,)
        assert triggers.get(key).occurrence is Occurrence.ORDER


def test_every_trigger_says_what_one_occurrence_is_and_when_it_sends():
    for trigger in triggers.CATALOGUE.values():
        assert trigger.audiences and trigger.occurrence in Occurrence
        assert trigger.takes_days == (trigger.direction != 0)
        assert trigger.has_send_time == (trigger.is_date or trigger.takes_days)
    assert triggers.get("days_before_voucher_expires").occurrence is Occurrence.VOUCHER
    assert triggers.get("days_before_archived").occurrence is Occurrence.DATE_VALUE


def test_a_summary_reads_as_a_sentence(bare_ctx):
    assert triggers.get("days_before_archived").summary(7) == "7 days before the job is archived"
    assert triggers.get("days_before_archived").summary(1) == "1 day before the job is archived"
    assert triggers.get("order_placed").summary(None) == "After an order was placed"


def test_every_trigger_tells_customers_in_their_own_words(bare_ctx):
    """The sign-up page's "What you will receive": no editor's wording, no "0 days". (An invoice's
    triggers reach its client, never a job's customers, and are not on that page.)"""
    for trigger in triggers.CATALOGUE.values():
        if not trigger.reaches_customers:
            assert not set(trigger.audiences) & set(triggers.CUSTOMER_GROUPS), trigger.key
            continue
        assert trigger.for_customers or (trigger.takes_days and trigger.customer_event), trigger.key
        for days in (0, 1, 3) if trigger.takes_days else (None,):
            said = trigger.customer_summary(days)
            assert said and "0 days" not in said and "still unpaid" not in said, (trigger.key, days)
    assert triggers.get("days_after_order_unpaid").customer_summary(0) == "A reminder if an order stays unpaid"
    assert triggers.get("days_before_archived").customer_summary(3) == "3 days before the photos leave the gallery"
    assert triggers.get("days_before_archived").customer_summary(1) == "1 day before the photos leave the gallery"
    assert triggers.get("days_before_archived").customer_summary(0) == "On the day the photos leave the gallery"
