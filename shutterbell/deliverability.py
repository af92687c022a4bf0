"""Will the studio's mail arrive? The DNS records receiving servers check for the from-address's
domain: SPF (may this provider send for the domain?), DKIM (the signing key, under a selector the
provider names) and DMARC (the domain's policy). Gmail and Yahoo have required them from bulk
senders since 2024; mail from a domain without them lands in spam. Looked up with dnspython and
a time limit; the findings say in plain words what is missing and what to publish."""
from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
from flask_babel import lazy_gettext as _l

# What each provider's SPF include is, by the SMTP host; and the DKIM selector it signs with
# (where the provider uses a fixed one).
PROVIDERS = {
    "smtp.gmail.com": ("_spf.google.com", "google"),
    "smtp.office365.com": ("spf.protection.outlook.com", "selector1"),
    "smtp-mail.outlook.com": ("spf.protection.outlook.com", "selector1"),
    "smtp.fastmail.com": ("spf.messagingengine.com", "fm1"),
    "smtp.mail.me.com": ("icloud.com", "sig1"),
    "smtp.zoho.com": ("zoho.com", ""),
    "smtp.zoho.eu": ("zoho.eu", ""),
    "smtpout.secureserver.net": ("secureserver.net", ""),
}


def new_resolver() -> dns.resolver.Resolver:
    """The system's resolver (/etc/resolv.conf); the tests point this at their own DNS server."""
    return dns.resolver.Resolver()


@dataclass(frozen=True)
class Finding:
    name: str  # "spf", "dkim" or "dmarc"
    level: str  # "ok", "warning" (works, could be better), "missing" (mail is likely to land in spam)
    record: str  # what DNS answered, or where we looked
    advice: str


def default_selector(smtp_host: str) -> str:
    return PROVIDERS.get(smtp_host.lower(), ("", ""))[1]


def check_domain(domain: str, smtp_host: str, selector: str = "", timeout: float = 5.0,
                 resolver: dns.resolver.Resolver | None = None) -> list[Finding]:
    """SPF, DKIM and DMARC for ``domain``, each with advice. Raises DnsProblem when DNS itself
    cannot answer (no such domain, or no answer in time)."""
    if domain.lower() in MAILBOX_PROVIDERS:
        advice = str(_l("Your from address is at %(domain)s: its provider publishes SPF, DKIM and DMARC for it. "
                        "Nothing to do here.", domain=domain))
        return [Finding(name, "ok", domain, advice) for name in ("spf", "dkim", "dmarc")]
    resolver = resolver or new_resolver()
    resolver.lifetime = timeout
    lookup = _Lookup(resolver)
    records = lookup.txt(domain, "v=spf1")
    included = _included(lookup, records[0], budget=[SPF_LOOKUPS]) if len(records) == 1 else set()
    return [_spf(domain, records, smtp_host, included),
            _dkim(domain, selector, lookup.txt(f"{selector}._domainkey.{domain}", "") if selector else None),
            _dmarc(domain, lookup.txt(f"_dmarc.{domain}", "v=dmarc1"))]


class DnsProblem(Exception):
    pass


class _Lookup:
    def __init__(self, resolver: dns.resolver.Resolver):
        self.resolver = resolver

    def txt(self, name: str, prefix: str) -> list[str]:
        """The TXT records at ``name`` that start with ``prefix`` (case-insensitive)."""
        try:
            answer = self.resolver.resolve(name, "TXT")
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN) as exc:
            if isinstance(exc, dns.resolver.NXDOMAIN) and "_" not in name:
                raise DnsProblem(str(_l("The domain %(domain)s does not exist in DNS.", domain=name))) from None
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsProblem(str(_l("DNS did not answer for %(name)s in time (%(error)s).", name=name,
                                    error=type(exc).__name__))) from None
        records = [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
        return [r for r in records if r.lower().startswith(prefix)]


# Addresses at these domains are the provider's own: it publishes their records.
MAILBOX_PROVIDERS = {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
                     "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.com",
                     "web.de", "t-online.de", "fastmail.com", "zohomail.com", "proton.me", "protonmail.com"}
SPF_LOOKUPS = 10  # RFC 7208's limit on the DNS lookups one SPF check may make


def _included(lookup: _Lookup, record: str, budget: list[int]) -> set[str]:
    """Every domain an SPF record includes or redirects to, nested ones too, within the lookup limit."""
    found: set[str] = set()
    for term in record.lower().split():
        term = term.lstrip("+-~?")
        target = term[8:] if term.startswith("include:") else term[9:] if term.startswith("redirect=") else ""
        if not target or target in found:
            continue
        found.add(target)
        if budget[0] <= 0:
            continue
        budget[0] -= 1
        try:
            nested = lookup.txt(target, "v=spf1")
        except DnsProblem:
            continue
        if nested:
            found |= _included(lookup, nested[0], budget)
    return found


def _spf(domain: str, records: list[str], smtp_host: str, included: set[str]) -> Finding:
    if not records:
        include = PROVIDERS.get(smtp_host.lower(), ("", ""))[0]
        example = f"v=spf1 include:{include} ~all" if include else "v=spf1 include:<your provider> ~all"
        return Finding("spf", "missing", domain, str(_l(
            "No SPF record: receiving servers cannot tell that your mail provider may send for %(domain)s. "
            "Add a TXT record at %(domain)s: “%(example)s” (your provider's help pages name the include).",
            domain=domain, example=example)))
    if len(records) > 1:
        return Finding("spf", "missing", " | ".join(records), str(_l(
            "%(domain)s has %(count)d SPF records; receivers then ignore them all. Merge them into one.",
            domain=domain, count=len(records))))
    record = records[0]
    terms = record.lower().split()
    if "+all" in terms or "all" in terms:
        return Finding("spf", "warning", record, str(_l(
            "This SPF record allows every server in the world to send as %(domain)s. End it with “~all” "
            "or “-all” instead.", domain=domain)))
    include = PROVIDERS.get(smtp_host.lower(), ("", ""))[0]
    if include and include not in included:
        return Finding("spf", "missing", record, str(_l(
            "The SPF record does not include your mail provider: add “include:%(include)s” before the "
            "“all” at the end.", include=include)))
    if not include:
        return Finding("spf", "ok", record, str(_l(
            "An SPF record exists. Make sure it includes your mail provider (its help pages name the "
            "include to add).")))
    return Finding("spf", "ok", record, str(_l("SPF allows your mail provider to send for %(domain)s.",
                                               domain=domain)))


def _dkim(domain: str, selector: str, records: list[str] | None) -> Finding:
    if records is None:
        return Finding("dkim", "warning", f"?._domainkey.{domain}", str(_l(
            "Enter the DKIM selector your provider signs with (its admin console shows it, e.g. “google” "
            "for Google Workspace) to check the signing key.")))
    where = f"{selector}._domainkey.{domain}"
    keys = [_tags(r) for r in records if "p" in _tags(r)]
    if not keys:
        return Finding("dkim", "missing", where, str(_l(
            "No DKIM key at %(where)s: your mail is not signed for this domain. Turn on DKIM signing in your "
            "provider's admin console and publish the TXT record it gives you.", where=where)))
    if not keys[0]["p"]:
        return Finding("dkim", "missing", where, str(_l(
            "The DKIM key at %(where)s is revoked (empty): publish the current key from your provider.",
            where=where)))
    return Finding("dkim", "ok", where, str(_l("A DKIM key is published at %(where)s.", where=where)))


def _dmarc(domain: str, records: list[str]) -> Finding:
    where = f"_dmarc.{domain}"
    if not records:
        return Finding("dmarc", "missing", where, str(_l(
            "No DMARC record: Gmail and Yahoo require one from senders of many messages. Add a TXT record "
            "at %(where)s: “v=DMARC1; p=none; rua=mailto:you@%(domain)s” (you get reports; nothing is "
            "blocked yet).", where=where, domain=domain)))
    policy = _tags(records[0]).get("p", "").lower()
    if policy == "none":
        return Finding("dmarc", "ok", records[0], str(_l(
            "DMARC is published with policy “none”: enough for Gmail and Yahoo. Once SPF and DKIM pass, "
            "“quarantine” protects your domain from forgery.")))
    return Finding("dmarc", "ok", records[0], str(_l("DMARC is published (policy “%(policy)s”).",
                                                     policy=policy or "?")))


def _tags(record: str) -> dict[str, str]:
    """"v=DKIM1; k=rsa; p=MIGf…" → {"v": "DKIM1", "k": "rsa", "p": "MIGf…"} (RFC 6376 tag lists)."""
    pairs = (part.split("=", 1) for part in record.split(";") if "=" in part)
    return {name.strip().lower(): "".join(value.split()) for name, value in pairs}
