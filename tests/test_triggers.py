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
