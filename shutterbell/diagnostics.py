"""What went wrong with a studio's mail server, and what the studio can do about it.

One place maps exceptions and server replies (smtplib, ssl, socket, IMAP errors; reply codes,
enhanced status codes and wording) to a small set of causes. The settings page, the worker and the
inbox sync all ask it. Rules are general (codes, status classes, phrases providers share), never
one provider's exact sentence; the host name only settles what a provider means by a plain
"authentication failed".
"""
from __future__ import annotations

import ast
import imaplib
import smtplib
import re
import socket
import ssl
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from . import netguard


@dataclass(frozen=True)
class Cause:
    key: str
    hint: str
    retry: bool  # worth trying again later (the worker retries with backoff)
    concerns: str  # "account": pause the studio's sending; "recipient": fail this message only
    hints: dict = field(default_factory=dict)  # protocol -> the hint in that protocol's terms (ports, folders)

    def hint_for(self, protocol: str):
        return self.hints.get(protocol, self.hint)


@dataclass(frozen=True)
class Diagnosis:
    cause: Cause
    detail: str  # the server's words or the exception, for the diagnostics page (never a secret)
    protocol: str = ""  # "smtp", "imap" or "sms": which hint fits
    note: str = ""  # a hint for this very case, where it says more than the cause's
    named: str = ""  # a deferral's (4xx) reason in its words, where waiting may not cure it: the hint's subject

    @property
    def key(self) -> str:
        return self.cause.key

    @property
    def hint(self):
        return self.note or hint_for(self.key, self.protocol, self.named)


class DeliveryFailure(Exception):
    """A step of a conversation with a mail server or the SMS provider failed: which one
    (``phase``), and what this module makes of it."""

    def __init__(self, diagnosis: Diagnosis, phase: str):
        super().__init__(diagnosis.detail)
        self.diagnosis, self.phase = diagnosis, phase


def hint_for(key: str, protocol: str, named: str = "", unknown: str = ""):
    """What to do about a cause: for a key that is no cause of a server's (e.g. "render_error"),
    ``unknown``'s hint, or "". A deferral whose words name a reason that waiting may not cure says
    that reason's fix: Gmail defers mail from a domain without SPF or DKIM for days before it
    refuses it."""
    if named in CAUSES:  # (retried meanwhile, as every deferral is: the status beside it says so)
        return _l("Deferred, and waiting may not help: %(hint)s", hint=CAUSES[named].hint_for(protocol))
    key = key if key in CAUSES else unknown
    return CAUSES[key].hint_for(protocol) if key in CAUSES else ""


def mended_in_settings(key: str, named: str = "") -> bool:
    """Is this cause (or what a deferral's words named) mended in the studio's settings, which
    only the owner opens? Not a recipient's address or a message's content, not words we do not
    know, not what passes by itself, not what only the installation's admin can mend."""
    cause = CAUSES.get(named or key)
    return cause is not None and cause.concerns == "account" and cause.key not in _NOT_MENDED_IN_SETTINGS


def _cause(key: str, hint, retry: bool = False, concerns: str = "account", **hints) -> Cause:
    return Cause(key, hint, retry, concerns, hints)


CAUSES = {c.key: c for c in (
    _cause("wrong_password", _l("The server refused the username or password. Check both (the username is often "
                                "the whole email address). If you changed your password, the app passwords "
                                "made before stopped working: create a new one.")),
    _cause("app_password_required", _l("This account uses 2-step verification: create an app password in your "
                                       "provider's security settings and enter it here instead of your "
                                       "normal password.")),
    _cause("auth_method_disabled", _l("Your provider has switched off password sign-in for mail programs. Microsoft "
                                      "365 does this by default (\u201cAuthenticated SMTP\u201d off): ask whoever runs "
                                      "your Microsoft 365 to turn on Authenticated SMTP for this mailbox, or send "
                                      "through another SMTP service for now.")),
    _cause("account_locked_or_web_login_required", _l("Your provider blocked this sign-in. Sign in to your mail in a "
                                                      "browser, confirm the security prompt, then try again.")),
    _cause("oauth_grant_revoked", _l("Your sign-in with the provider has ended: it was revoked, the password "
                                     "changed, or it went unused too long (90 days at Microsoft; 7 days for a "
                                     "Google app left in Testing mode). Sign in again: everything waiting goes out "
                                     "then, once.")),
    _cause("oauth_client_invalid", _l("The provider does not accept this installation's app registration (its "
                                      "client secret may have expired). Signing in again does not help: ask "
                                      "whoever runs this installation to renew it.")),
    _cause("imap_disabled", _l("IMAP is switched off for this account. Turn it on in your webmail's settings "
                               "(Gmail: Settings \u2192 Forwarding and POP/IMAP), then try again.")),
    _cause("private_address", _l("This server's address is on a private network or this machine, which this "
                                 "instance does not allow (it hosts several studios). Use your provider's public "
                                 "server name.")),
    _cause("host_not_found", _l("This server name does not exist. Check the spelling of the host, or pick your "
                                "provider from the list.")),
    _cause("connection_refused", _l("Nothing answers on this port. Check the host and port; providers sometimes "
                                    "move to new servers."),
           smtp=_l("Nothing answers on this port. Check the host and port (587 with STARTTLS or 465 with SSL/TLS); "
                   "providers sometimes move to new servers."),
           imap=_l("Nothing answers on this port. Check the host and port (993 with SSL/TLS, or 143 with "
                   "STARTTLS); providers sometimes move to new servers.")),
    _cause("timeout", _l("The server did not answer in time. A firewall on the way may block the port."), retry=True,
           smtp=_l("The server did not answer in time. A firewall may block the port: many hosting providers block "
                   "outgoing port 25, so use 587 (STARTTLS) or 465 (SSL/TLS); your server's own firewall must "
                   "let the port out too."),
           imap=_l("The server did not answer in time. A firewall may block the port: your server's firewall must "
                   "let port 993 (or 143) out.")),
    _cause("tls_mode_mismatch", _l("The security setting does not fit the port."),
           smtp=_l("The security setting does not fit the port: 465 is SSL/TLS, 587 (and 25) STARTTLS."),
           imap=_l("The security setting does not fit the port: 993 is SSL/TLS, 143 STARTTLS.")),
    _cause("wrong_service", _l("Another kind of mail server answers on this port."),
           smtp=_l("An inbox server (IMAP or POP3) answers on this port, not a sending (SMTP) server. Use your "
                   "provider's SMTP server and port: 587 with STARTTLS or 465 with SSL/TLS."),
           imap=_l("A sending (SMTP) or POP3 server answers on this port, not an inbox (IMAP) server. Use your "
                   "provider's IMAP server and port: 993 with SSL/TLS, or 143 with STARTTLS.")),
    _cause("certificate_untrusted", _l("The server's certificate is self-signed or expired, so the connection cannot "
                                       "be trusted. Ask your provider, or use the host name from their help pages.")),
    _cause("certificate_hostname_mismatch", _l("The server's certificate is for another name. Use the exact host "
                                               "name your provider documents (not an IP address or an alias).")),
    _cause("starttls_required", _l("The server only takes sign-ins and mail over an encrypted connection: choose "
                                   "STARTTLS or SSL/TLS."),
           smtp=_l("The server only takes sign-ins and mail over an encrypted connection: choose STARTTLS (port 587) "
                   "or SSL/TLS (port 465)."),
           imap=_l("The server only accepts a sign-in over an encrypted connection: choose SSL/TLS (port 993) or "
                   "STARTTLS (port 143).")),
    _cause("auth_not_offered", _l("The server does not offer sign-in on this connection. Use your provider's "
                                  "submission server on port 587 with STARTTLS, and enter a username."),
           imap=_l("The server does not offer sign-in on this connection: choose SSL/TLS (port 993) or STARTTLS "
                   "(port 143), and check the username.")),
    _cause("sender_rejected", _l("The server will not send from this address. The from address must be your "
                                 "account's own address or an alias your provider allows; with a domain of your own, "
                                 "its DNS must allow your provider to send for it (the SPF and DKIM records from "
                                 "your provider's help pages).")),
    _cause("relay_denied", _l("The server will not pass mail on for you. Sign in with username and password, or "
                              "use your provider's SMTP server.")),
    _cause("client_blocked", _l("The server refuses mail from this machine's internet address: it is on a block "
                                "list, or the provider takes no mail from servers like it. Trying again does not "
                                "help. Send through your own provider's SMTP server (port 587 or 465, with your "
                                "username and password), or ask the list named in the reply to remove the "
                                "address.")),
    _cause("rate_limited", _l("The provider is limiting how fast or how many connections you use. Sending "
                              "slows down and tries again."), retry=True,
           imap=_l("The server limits how many connections are open at once or how often they are made (phones "
                   "and other mail programs on this mailbox count too). The inbox sync tries again later.")),
    _cause("quota_or_daily_limit", _l("The account reached its sending limit for today. Sending pauses and goes on "
                                      "tomorrow; lower the daily limit in the settings to spread messages out."),
           retry=True),
    _cause("mailbox_unavailable", _l("That mailbox or folder does not exist. Check the address or the folder name."),
           concerns="recipient",
           smtp=_l("The recipient's mailbox does not exist or takes no mail (unknown, disabled or full). Check the "
                   "address with the customer."),
           imap=_l("That folder does not exist or cannot be opened. Check the folder name (it is case-sensitive).")),
    _cause("folder_not_found", _l("A folder to sync does not exist on the server. Use the names the test lists "
                                  "(they are case-sensitive; Gmail's sent folder is \u201c[Gmail]/Sent Mail\u201d, or "
                                  "\u201c[Google Mail]/Sent Mail\u201d in some countries).")),
    _cause("address_not_sendable", _l("This address has letters such as ü or ß before the @, which few mail servers "
                                      "take and this app cannot send to yet. Ask the person for another address."),
           concerns="recipient"),
    _cause("message_refused", _l("The server refused this one message for what it holds: its content (words or "
                                 "links a spam filter distrusts), its size, or a missing subject. Your other "
                                 "messages still go out. Sent again unchanged, it would be refused again: change "
                                 "the text in its profile, or write to the customer yourself."),
           concerns="recipient"),  # this message fails alone, wherever it is refused (MAIL FROM too: SIZE)
    _cause("refused_in_a_row", _l("The server refused messages to two different people in a row with the same "
                                  "words, which we cannot read. Such a refusal is often about your account or "
                                  "domain (its SPF, DKIM or DMARC records, a block list), so sending paused and "
                                  "both messages wait: nothing "
                                  "is lost. Find out what the server's words mean (your provider's help pages, or "
                                  "ask them) and mend that first: Test connection sends no message, so it cannot "
                                  "see this refusal; it only resumes sending. Refused again in the same words, "
                                  "messages then fail one at a time instead of pausing sending (the words may be "
                                  "about those people or the message).")),
    _cause("temporary_server_error", _l("The server had a temporary problem. It is tried again automatically."),
           retry=True),
    _cause("sms_host_not_found", _l("The SMS provider's server name cannot be found from this machine. Try again "
                                    "in a few minutes; if it lasts, the instance's SMS_API_URL may be wrong (ask "
                                    "whoever runs this installation).")),
    _cause("sms_unreachable", _l("The SMS provider's server does not answer from this machine. It is tried again "
                                 "automatically; if it lasts, a firewall may block outgoing HTTPS, or the instance's "
                                 "SMS_API_URL may be wrong (ask whoever runs this installation)."), retry=True),
    _cause("sms_auth_failed", _l("The SMS provider refused the account SID or the auth token. Copy both again from "
                                 "your provider's console (the auth token, not an API key).")),
    _cause("sms_sender_invalid", _l("The SMS provider will not send from this number. It must be a number of this "
                                    "account that can send text messages, in international format (+4915…).")),
    _cause("sms_recipient_unsubscribed", _l("This customer replied STOP to your texts: your provider blocks texts "
                                            "to them, and the number is on your studio's suppression list."),
           concerns="recipient"),
    _cause("sms_outcome_unknown", _l("The SMS provider did not answer whether it took this text. Look in your "
                                     "provider's message log before sending it again, so the customer does not get "
                                     "it twice."), concerns="recipient"),
    _cause("sms_recipient_invalid", _l("This phone number cannot receive text messages: a wrong number, a landline, or "
                                       "a country your provider account may not text (check its geographic "
                                       "permissions)."), concerns="recipient"),
    _cause("other", _l("The server answered with an error we do not know. Your provider's help pages can explain "
                       "what it said."), retry=False),
)}

# What a refusal says next when it is for want of an encrypted connection (then STARTTLS is the fix).
_FOR_WANT_OF_TLS = r"(?![^.;]{0,40}\b(over|without|unencrypted|insecure|non-?secure|plain-?text|tls|ssl|starttls)\b)"
_IMAP_PASSING = r"\[(unavailable|inuse|serverbug|tempfail)\]"  # IMAP's response codes for a passing trouble
# A filter's verdict on a message's content, unless it names something of ours (then it is ours);
# the domain block lists (which list a message's links, or a sender's domain).
_FILTER_VERDICT = re.compile(r"\b(spam|virus|malware|phishing)\b", re.IGNORECASE)
_NAMES_US = re.compile(r"\b(ip|domain|sender|account|client)\b", re.IGNORECASE)
_DOMAIN_LISTS = re.compile(r"\b(dbl|uribl|surbl)\b", re.IGNORECASE)
# A server's own passing trouble, in words that hold even in a permanent (5xx) reply.
_TEMPORARY_WORDS = (r"temporar(y|ily)|auth process broken|greylist|system error|\bi/o error|"
                    r"\b(connection|server|mail|smtp|delivery) queue (is )?full\b|"
                    r"queue file write error|insufficient system|unexpected (exception|error)|"
                    r"(?<!alert )internal (\w+ )?(error|failure)|"
                    r"\bback-?end\b[^.;]{0,20}\b(not running|down|unavailable)|\btransaction (timeout|timed out)\b|"
                    r"\b(server|service|process)\b[^.;]{0,20}\b(died|crashed)\b|"
                    r"lost to (the )?auth\w* server|"  # Dovecot's sign-in service gone, behind Postfix
                    r"(?<!permanently )shutting down(?![^.;]{0,30}\b(permanently|for good))|"
                    r"(server|service) (is )?(restarting|going down)")

# (cause, pattern) checked in order against the server's words; the first match wins. Words,
# not status codes: a provider uses one enhanced code for several causes, and only the words
# tell them apart (Microsoft's 5.7.139: a wrong password, or password sign-in switched off).
# Patterns allow the small changes of wording a provider makes over the years.
_WORDING = [
    ("host_not_found", r"name or service not known|getaddrinfo failed|name resolution|nodename nor servname|"
                       r"no address associated"),
    ("oauth_grant_revoked", r"\binvalid_grant\b|(refresh|oauth2?) token (has )?(expired|been revoked)|"
                            r"\"status\": ?\"40[01]\", ?\"schemes\": ?\"bearer|invalid xoauth2"),  # Google's XOAUTH2 refusal
    # The token endpoint refusing the installation's own registration (OAuth 2.0, RFC 6749 5.2).
    ("oauth_client_invalid", r"\binvalid_client\b|\bunauthorized_client\b|invalid client secret|"
                             r"client secret (has )?expired|aadsts65001|administrator has not consented|\bconsent_required\b|"
                             r"(could not|cannot|unable to) (determine|identify|find) (the )?client id"),
    # IMAP's response codes for a passing trouble (RFC 5530) say more than the words beside them.
    ("temporary_server_error", _IMAP_PASSING + r"|\b(my)?sql (server )?error\b|\bdatabase (error|failure|unavailable)\b|"
                               r"^(?![\s\S]*\b(user|account|login|password)\b)[\s\S]*?"  # a database of sign-ins: the password's
                               r"\b(cannot|can't|could not|unable to|failed to) \w+\b((?!\.\s)[^;]){0,40}?\b(from|in) (the )?database\b|"
                               r"\bmailbox (is )?(currently (reserved|locked|in use|busy)|(reserved|in use|busy)\b)"),
    # Postfix names whom it refuses before saying why: the sender, whatever the why's words.
    ("sender_rejected", r"sender address rejected:\s*+(?!not logged in|not authenticated|auth\w* required)"),
    # The studio's From domain fails its own SPF/DKIM/DMARC (the words say "authentication" too), or
    # Exim's callout could not verify our sender (its reply lists block lists among the maybes).
    ("sender_rejected", r"sender verif(y|ication) failed|dmarc policy|(rejected|refused|blocked) (due to|because of|by) dmarc|"
                        r"\banti-?spoofing\b|\bspoofed (message|mail|e-?mail|sender|from)\b|\b(envelope )?sender mismatch|\bheader (from )?mismatch|"
                        r"\b(sender(?!'s| ip| host| (mail )?server)|mailfrom|(mail ?from|sender|from) (address|domain))\b"
                        r"((?!\.\s)[^;]){0,30}?\b(is )?(listed|"
                        r"blacklisted|(on|in) (the |a )?(\S+'s )?(black|block) ?list)|"  # not our address ("mail from 10.1.2.3 is listed")
                        r"\b(spf|dkim|dmarc) (verification|check|validation|evaluation) (has )?fail|"
                        r"v[ée]rification (spf|dkim|dmarc) en [ée]chec|(does not|doesn't) have authentication information|"
                        r"fails? to pass (\S+ ){0,3}authentication checks|"
                        r"(sending|sender'?s?) domain\b[^,;]{0,60}?\b(doesn't|does not|fails? to) meet|"
                        r"\b(spf|dkim|dmarc)\b((?!pass)[^.;,]){0,30}\b(does not|doesn't|did not|didn't|fails? to) pass|"
                        r"\bfail(s|ed|ing)? (both |the )?(spf|dkim|dmarc)\b|"
                        r"from (an? )?unregistered (\w+ )?domains?"),  # not one of the account's
    ("auth_method_disabled",
     r"smtpclientauthentication is disabled|unrecognized authentication type|user has no permission|"
     r"\bsmtp( relay| access| auth\w*)? (access )?(is )?(not (enabled|activated)|disabled) for (this|your|the) "
     r"(account|mailbox|user)|"
     r"basic auth\w* (is )?(disabled|not supported|blocked)|"
     r"invalid authentication mechanism|security defaults|did not meet the criteria|"
     r"(legacy|basic) authentication|authentication mechanism is too weak|"
     r"unsupported authentication mechanism" + _FOR_WANT_OF_TLS + "|"
     # A sign-in mechanism not (or no longer) supported: the password sign-in we use, unless for
     # want of TLS or in favour of an app password.
     r"(auth(entication)? (plain|login|cram-md5|xoauth2?)|(plain|login|cram-md5) (auth\w*|mechanism)|xoauth2?|"
     r"(sasl |authentication )?mechanism)\b[^.;]{0,20}\bno longer (supported|available|allowed)"
     + _FOR_WANT_OF_TLS + r"(?![^.;]{0,60}\bapp(lication)?[- ]password)|"
     r"(authentication |sasl )?mechanism (is )?(not supported|unsupported)" + _FOR_WANT_OF_TLS),
    # One message refused for what it says (Gmail's 5.7.0, which otherwise names a blocked account), or
    # for a link in it on a domain block list (Spamhaus's DBL, SURBL, URIBL): not where the words name
    # the sender, our HELO name or our host, which such lists may hold too.
    ("message_refused", r"(blocked|rejected) because (of )?(its|the message'?s?) content|content presents a potential security|"
                        r"^(?![\s\S]*\b(sender|helo|client|reverse)\b)[\s\S]*?\b(link|url|uri|message|e-?mail)\b[^;]{0,80}?"
                        r"\b(dbl|uribl|surbl)\b|"
                        r"\bsubject (is )?(mandatory|required|missing|empty)|\b(missing|empty|no) subject\b|"
                        # a verdict on the message itself, where the reply names nothing of ours (an IP, save
                        # as a field "IP:" beside the verdict, an account, a reputation or a list)
                        r"^(?![\s\S]*\b(reputation|listed|black ?list|block ?list|account|konto|domain|sender)\b)"
                        r"(?![\s\S]*\bip\b(?!:))[\s\S]*?(\b(message|mail|e-?mail)\b (was |is |has been )?(considered|classified|"
                        r"identified|detected|flagged|recogni[sz]ed|rated) as (spam|virus|malware|phishing)\b|"
                        r"\b(nachricht|e-?mail)\b[^.;]{0,40}\bals (spam|virus)( oder (spam|virus))? eingestuft)|"
                        r"^(?![\s\S]*\b(mailbox|quota|full)\b)[\s\S]*?(\bmessage (file |size )?(is )?too (large|big|long)\b|"
                        r"\bmessage size\b[^.;]{0,30}\bexceed|\b(size of|maximum size)\b[^.;]{0,30}\bmessage\b[^.;]{0,30}\bexceeded)"),
    ("imap_disabled", r"imap4?[\s-]*(access |feature )?(is )?(disabled|not enabled)|imap4? service (is )?disabled for\b|enable imap|not enabled for imap|imap use|"
                      r"(not|n't) have imap4? (access )?(enabled|turned on)|"
                      r"access (is )?disabled (for|via|over) imap"),
    ("account_locked_or_web_login_required",
     r"web ?login ?required|log ?in (to (your|the) (\w+ )?account )?(with|via|through|using|from|in) (your |a |the )?(web )?browser|"
     r"\bwebalert\b|"
     r"spam abuse(?! detected from (your )?ip)|\b(account|user|mailbox) (is |has been )?(locked|disabled|suspended|blocked)|"
     r"\b(e-?mail|mail) (outgoing|outbound) blocked|(outgoing|outbound) (e-?mail|mail) (is |has been )?blocked"
     r"(?! because| for (this|the) message)|"
     r"\b(account|login|user) access (is |has been )?disabled|\b(rejected|denied)[:,]? access disabled|"
     r"(has been|is) suspended|bad outbound sender|outboundspam|"
     r"\[contactadmin\]|banned sender|sender address blocked|originating from your (address|account)|"
     r"use (the )?web(mail)? (for sending|to send)|password is too (simple|weak)|"
     r"(account|access)\b[^.]{0,40}\b(temporarily )?restricted|may have been hacked|"
     r"activate your \w+ account|account (is )?not (yet )?(active|activated)|"
     r"(unusual|suspicious) (\w+ ){0,2}activity(?! (detected )?from (your |the )?ip)|sending suspended|"
     r"suspended for (this|your) account|"
     r"password transition (is )?needed|"  # RFC 4954's 432
     r"\b(invalid|no|missing|expired) licen[cs]e (errors?|for (this|the|your) (mailbox|user|account))\b|"  # Microsoft's 5.2.253
     r"\b(mailbox|user|account) (has )?(no|an invalid|an expired) licen[cs]e\b|"
     r"password (must|needs to|has to) be (changed|reset|renewed)|(?<!app )(?<!application )pass(word|phrase) (has )?expired"),
    ("app_password_required", r"application[- ]specific password|invalidsecondfactor|app(lication)? password|"
                              r"missing (\w+ )?(totp|two[- ]factor|2fa)|(totp|two[- ]factor|2fa)( token| code)? (is )?(missing|required)|"
                              r"(?<!invalid )authori[sz](ation|ed) code(?! is (incorrect|wrong|invalid))|授权码"),  # QQ's and NetEase's app passwords
    ("starttls_required", r"privacyrequired|\b(issue|use|try) (a |the )?starttls|starttls (is )?required|"
                          r"requires? (an? )?(encryption|encrypted connection|tls|ssl|starttls)\b|"
                          r"(not|n't) (been )?sent over (a |an )?(tls|secure|encrypted)\b|plain ?-?text (password )?authentication "
                          r"(is )?(disallowed|not allowed)|encryption required|tls required|cleartext logins? disabled|"
                          r"logging in is disabled|logindisabled|transport layer security (is )?required|"
                          r"(only be accessed|accessible only) (using|over|with) a secure|"
                          r"(log ?in|sign-?in|auth\w*) (is )?(disabled|not allowed) (on|over) (the |a |this )?"
                          r"(clear-?text|plain-?text|unencrypted)|without (ssl|tls|ssl/tls|starttls)( encryption)? (is )?not allowed|"
                          r"smtp auth extension not supported|\b(ssl|tls)(/tls)?[- ](connection|layer|session) (is )?required|"
                          r"plain(text)? (login|auth\w*)( ?/ ?(login|auth\w*))? (is |are )?(disabled|not allowed)|"
                          r"only (available|allowed|possible) (under|with|over|after) (a )?(security )?(layer|tls|ssl|starttls|encryption)"),
    ("tls_mode_mismatch", r"starttls extension not supported|wrong[_ ]version[_ ]number|record layer failure|"
                          r"\b(ssl|tls) attempted (over|on) a non-?(ssl|tls)\b|"
                          r"(not (been )?(configured to )?support|does(n't| not) support|no support for) (the )?starttls|"
                          r"\b(start)?tls( support)? (is )?not (supported|offered|enabled)|"
                          r"starttls\b[^.;]{0,20}\bnot advertised|tls (is )?already (active|enabled|started|negotiated)|"
                          r"already (speaking|using|in|running|talking) (tls|ssl|starttls)\b|"
                          r"(not permitted|not allowed) (when|while|after) tls|"
                          r"unknown protocol|http_request|unexpected eof while reading"),
    ("client_blocked", r"(blocked|deferred|rejected) using|\bip reputation\b(?![^.;]{0,20}\b(rate ?limit|throttl))|client host (\[[^\]]*\] )?(rejected|blocked)|(?<!may be )black ?list|block ?list|"
                       r"country (is )?blocked|intrusion prevention|"
                       r"spamhaus|spamcop|uceprotect|dnsbl|\brbls?\b|listed (at|on|in) |helo command rejected:\s*access denied|banned sending ip|"
                       r"not accepted from (this )?ip|\b(ip|address)\b[^.;]{0,40} (is )?(blocked|bloquee|bloquée)|"
                       r"\bip (address )?\[?(?=[\d.:a-f]*\d)[\d.:a-f]+\]? (is |has been )?(blocked|blacklisted|listed)|"
                       r"messages from \S* ?weren't sent|permanently deferred|not allowed to connect|"
                       r"unusual rate of\s+(\S+\s+)?unsolicited mail|poor reputation|"
                       r"\b(ip|ip address|mta|sending server)\b((?!\.\s)[^;]){0,30}?\b(poor|bad|low|insufficient) reputation|"
                       r"\b(sender|sending|client) ip( address)? (is )?(rejected|refused|blocked)\b|\bdns ptr\b|\bptr (record|resource)|junkmail rejected|"
                       r"reverse dns|(?<![\w.-])rdns(?![\w.-])|"  # our address's own name (not a host's: rdns.example.net)
                       r"(?<![\w.@-])ip( address)?(?![\w.-])((?!\.\s)[^;]){0,40}?\b(does not|doesn't|did not|cannot|can't|could "
                       r"not) (be )?resolved?\b|"  # our address has no name (not a domain such as ip-net.example)
                       r"use (the )?(smtp|mail|outgoing) (server|relay) of your (isp|provider)|"
                       r"\bip\b[^.;]{0,40}not authori[sz]ed to (deliver|connect|send (e-?)?mail directly)|"
                       r"\bip( address)? not (authori[sz]ed|allowed|permitted)\b(?![^.;]{0,40}\brecipient)|\bfcrdns\b|forward[- ]confirmed reverse|"
                       r"not allowed from this (ip )?(range|network)|spam abuse detected from (your )?ip|"
                       r"\b(access|connections?) (is |are )?(denied|refused|rejected|blocked) (from|for) (your|this|the) "
                       r"(ip|host)\b"),
    ("relay_denied", r"relay(ing)? (access )?(is )?(denied|not permitted|prohibited|disabled|not allowed|refused)|unable to relay|relais refus|"
                     r"\bden(y|ies|ied) (the )?relay|\b(use|using) (me|this (server|host)|us)\b((?!\.\s)[^;]){0,60}?\bas a relay\b|"
                     r"\b(do|does|will) not relay\b|\b(don't|doesn't|won't) relay\b|"
                     r"\brelay(ing)? from\b((?!\.\s)[^;]){0,60}?\b(is |was )?(denied|not permitted|prohibited|refused)\b|"
                     r"\brelay(ing)? (nur|only) (an|to|f(ü|ue)r|for)\b|"  # German providers: "nur an interne Empfänger"
                     r"\b(nur|only) (an|to) (interne|lokale|internal|local) (empf(ä|ae)nger|recipients|benutzer|users)\b|"
                     r"\bto local (domains|recipients|users|addresses) only\b|"
                     r"(not|n't) (allowed|permitted) to (be )?relay|non-?local (e-?mail )?address|"
                     r"\b(no|not have|n't have) (the )?permission to send (to the )?(internet|external|outside)\b|"
                     r"allowed rcpthosts|"  # qmail's relay refusal
                     r"unauthori[sz]ed (\w+ )?relay|unauthenticated (e-?mail|mail|sender)s?\b[^;]{0,60}?\b(is |are )?restricted|check your (e-?)?mail (with|via) (a )?(valid )?pop"),  # POP before SMTP
    ("auth_not_offered", r"authentication not enabled|auth\w* command used when not advertised|"
                         r"auth\w* (is )?(not (supported|available|recognized)|unrecognized)|\bauth\w* (is )?not enabled\b|"
                         r"unknown (authentication|auth|sasl) (method|mechanism)|"  # not SPF's "Unknown mechanism found"
                         r"\b(authenticate|auth)\b[^.;]{0,20}\b(xoauth2?|oauthbearer) method (is )?(not supported|unsupported)|"
                         r"command \"?auth\"? not recognized|not authenticated|"
                         r"auth(entication|entification)? (is )?requi|authori[sz]ation (is )?required(?! (to|for|from)\b)|"
                         r"sender address rejected:\s*not logged in|"
                         r"must (first )?(authenticate|sign in|log ?in)|(authenticate|log ?in|sign in) first|"
                         r"server requires authentication|unauthenticated senders? (are )?not allowed|"
                         r"auth(entication)? (is )?not allowed|command unrecognized: \"?auth"),
    ("sender_rejected", r"sender address rejected|not owned by|send ?as ?denied|not allowed to send (as|on behalf)|"
                        r"\baccount('s)? (is )?not (allowed|permitted|authori[sz]ed) to send\b(?! to\b)|"
                        r"^(?![\s\S]*empf(ä|ae)nger)[\s\S]*?"  # (a recipient who blocks our sender: that customer's)
                        r"\babsender(adresse|dom(ä|ae)ne)?\b((?!\.\s)[^;]){0,60}?\bnicht (zugelassen|zul(ä|ae)ssig|erlaubt|berechtigt)|"
                        r"permissions? to send as|relaying disallowed|sender .* not allowed|"
                        r"not (a )?verified (sender|identity|address|email)|verified sender identity|"
                        r"(address|identity|domain) (is )?not verified|identities failed|not authorized to perform|"
                        r"bad sender address|sender address (must|syntax)|missing final '?@domain|"
                        r"(from|sender) address and the (authenticated|login) user|"
                        r"(from|sender)( address| name|/sender name)? (is )?(not valid|invalid)|\binvalid (sender|from)\b|"
                        r"same as (the )?(smtp )?(authori[sz]ation|authenticated?|login) user|not one of your addresses|"
                        r"unconfigured sending domain|(unable to|cannot|could not) verify (the )?sender|"
                        r"sandbox subdomains?|"
                        r"(from address|sender) (does not|doesn't|do not|don't) match|"
                        r"\benvelope (domain|sender)\b((?!\.\s)[^;]){0,40}?\b(does not|doesn't|do not|don't) match|"
                        r"unresolvable (\S+ ){0,2}(from|sender|envelope) domain|(from|sender) domain (is )?unresolvable|"
                        r"\bsender\b(?! ip)((?!\.\s)[^;]){0,60}?\b(does not|doesn't|did not|cannot|can't|could not) (be )?resolved?\b|"
                        r"\bfqdn required in (the )?(envelope )?sender|\bsender\b((?!\.\s)[^;]){0,40}?\bmust be (a )?(fqdn|fully[- ]qualified)|"
                        r"not (authori[sz]ed|allowed|permitted) to send (mail |e-?mail )?from (this|that|the|your) (e-?mail )?address|"
                        r"unauthori[sz]ed (use of )?(the )?(envelope )?sender|envelope sender not allowed|(blank|empty|null) sender|"
                        r"check (your )?spf|spf or dkim|spf policy|\bspf[_-](invalid|fail(ed|ure)?)\b|spf (check |hard |soft)?fail|(prohibited|rejected|refused) by spf|"
                        r"spf perm(anent)? ?error|\bspf\b((?!\.\s)[^;,]){0,40}?\bauthentication\s+fail|"  # the sender domain's own record is broken
                        r"\[spf\]|not allowed in\s+(the )?(header )?from\b|"  # the From domain's own SPF record
                        r"unknown sender address|\b(incorrect|wrong) (sender|from) (address|header)|\bsender (was )?rejected\b|"
                        r"(from|sender|sending)[ -]domain\b[^;]{0,40}?\bnot (trusted|confirmed)|"
                        r"(sending|mail) from (this|your|the) domain (is )?(paused|not allowed|not permitted)"),
    ("mailbox_unavailable", r"exceeded storage allocation|"  # RFC 5321's 552: the recipient's mailbox is full
                            r"\b(user|account|recipient|mailbox|inbox)\b[^.;]{0,30}?\b(has|holds) too many (messages|e-?mails|mails)|"
                            r"too many (messages|e-?mails|mails) in (the |their |his |her )?(mailbox|inbox)|"
                            r"\b(benutzer|empf(ä|ae)nger|postfach) hat zu ?viele (e-?mails|mails|nachrichten)|"
                            r"zu ?viele (e-?mails|mails|nachrichten) im postfach"),
    # A limit per second, minute, hour or connection is a pace, whatever it is called (before quotas);
    # a rate of so many a day is a quota (below), wherever the reply says the day.
    ("rate_limited", r"\bper (second|minute|hour|connection|session)\b|(?<!required )for this (second|minute|hour|connection|session)|"
                     r"\brecipients?'?s? domain'?s? hourly (quota|limit)|\bhourly (quota|limit) (of|for) (the |this )?recipient|"
                     r"(concurrent|simultaneous|parallel) (connections|sessions)|\bconcurrency (limit|exceeded)|"
                     r"\bper[- ]\d+[- ](second|minute)s?\b|"
                     r"^(?![\s\S]*(\b(daily|(per|a|each) (day|week|month)|24 ?h|weekly|monthly)|/ ?(day|week|month)\b))[\s\S]*?"
                     r"\b((connection|submission|sending|login|message) rate|rate ?limit|this (second|minute|hour))\b"),
    ("quota_or_daily_limit", r"daily (\w+ ){0,2}(limit|quota)|\bsend(ing)? (limit|quota)|"
                             r"(e?-?mail|message|sending) limit (has been |was )?(reached|exceeded)|message count quota|per (24 hours|day)|submission ?quota|"
                             r"relay quota|outgoing (limits|messages was exceeded)|quota (of|for) (outgoing|sending)|"
                             r"messages per day|\b(messages|e-?mails|mails|recipients) (a|per|each) day\b|(exceeded|reached) (your |its |the )?(\w+ ){0,2}(limits?|quota|credits)|"
                             r"(quota|credit) limit|credits? (exceeded|exhausted|used up)|"
                             r"too many (\w+ ){0,2}(recipients|messages|e-?mails|mails)\b[^.;]{0,40}\btoday\b|5\.4\.5\b|5\.1\.90|\[overquota\]|bandwidth limit"),
    ("rate_limited", r"too many (\w+ ){0,2}(connections|sessions)|too many (connected |concurrent |simultaneous )clients|too many (mail |smtp )?transactions|(you are|you're) sending too (fast|quickly)|too many (login|auth\w*) attempts|"
                     r"thread limit|rate ?limit|throttl|too many (e-?mails|messages)|per session exceeded|"
                     r"too much (e-?)?mail\b(?! data)|too many recipients|"
                     r"max(imum)? (number of )?recipients (reached|exceeded)|"
                     r"maximum number of connections|trop de connexions|\[limit\]|unexpected volume|"
                     r"temporarily (deferred|refused)|\bper (second|minute|hour)\b|receiving mail at a rate|"
                     r"\b(receiving|sending|getting) (\w+ )?(mail|messages|e-?mails) too (quickly|fast)\b|"
                     r"too many (\w+ ){0,2}(requests|failures|errors)|"
                     r"too many (?!(bad|invalid|unknown|wrong|unrecogni[sz]ed|failed|syntax)\b)(\w+ )?commands|"  # bad ones: ours
                     r"too many (?!(bad|failed|invalid|wrong)\b)(\w+ )?attempts|"  # failed sign-ins: a lockout
                     r"concurrent connections|(ip|connection|sending) frequency|too (frequent|often)\b|"
                     r"number of (\w+ ){0,2}(connections|sessions)\b[^.;]{0,20}\b(exceed|reached)"),
    ("mailbox_unavailable", r"nonexistent|no valid recipients|unknown mailbox|no such (mailbox|folder|user)|mailbox unavailable|"
                            r"no mailbox (here )?by that name|"  # qmail's
                            r"mailbox (does not|doesn't|isn't|is not) (exist|selectable|a valid)|"
                            r"(doesn't|does not) exist|user unknown|recipient (not found|unknown)|unknown user|"
                            r"\b(mailbox|recipient)( address)? (was )?not found|"
                            r"\b(mailbox|recipient)( address)? (is )?no longer (valid|active|in use)|"
                            # an address no longer valid, not one "of" or "for" something (a password's)
                            r"(?<!\bof )(?<!\bfor )(?<!address )(?<![^\s<])[^\s<>]+@[\w.-]+>? is no longer (valid|active|in use)|"
                            r"mailbox (\S+ ){0,2}(is )?full|over quota|size limit exceeded|mailbox size|"
                            r"\b(inbox|mailbox)\b[^;]{0,40}?\bout of (storage|space)\b|"
                            r"account .*disabled|recipient (is )?over ?quota|bo[iî]te (du destinataire )?pleine|"
                            r"invalid mailbox|mailbox \S+ is unavailable|destinatario sconosciuto|destinataire inconnu|"
                            r"empf(ä|ae)nger unbekannt|unbekannter empf(ä|ae)nger|nieznany (odbiorca|adresat)|"
                            r"recipient address rejected|(user|recipient|address) (does not|doesn't) have an? (\S+ )?account|"
                            r"\b(mailbox|folder)\b[^.;]{0,60}\b(has been|was) (\(re\))?(re)?moved"),
    ("temporary_server_error", r"\bunavailable\b|\bservice (is )?(currently |temporarily )?not available\b|" + _TEMPORARY_WORDS),
    # A policy deferral (x.7: security and policy) asks us to slow down; one that says the service
    # is unavailable ("Recipient address rejected: Service temporarily unavailable") is the server's.
    ("rate_limited", r"\b4\.7\.\d+\b(?!.*\bunavailable\b).*try (again )?later"),
    ("temporary_server_error", r"try (again )?later"),
    ("certificate_hostname_mismatch", r"hostname mismatch|doesn't match|not valid for|ip address mismatch"),
    ("certificate_untrusted", r"certificate verify failed|certificate verification failed|self[- ]signed|"
                              r"certificate has expired|unable to get local issuer|certificate verify|"
                              r"unknown ca\b|unable to verify the first certificate|unknown ?issuer|"
                              r"pkix path|certification path|certificate could not be (validated|verified)"),
    ("connection_refused", r"connection refused|actively refused|errno 111|winerror 10061"),
    ("timeout", r"timed out|did not properly respond|winerror 10060|greeting never received"),
    ("wrong_password", r"authenticationfailed|authorizationfailed|invalid (?!client\b)(\w+ )?credentials|"
                       r"authenti(cation|fication) (has )?(failed|failure|unsuccessful|rejected)|"
                       r"(username|user name|login) (and|or|&) password|incorrect (username|password)|"
                       r"(login|authenticate|logon) failed|\blog ?in (rejected|refused)\b|\bauth(entication)? error\b|failed to (authenticate|log ?in|sign in)|\blogin incorrect\b|bad credentials|credentials (were |are )?(incorrect|invalid)|"
                       r"invalid (user|login|password)|authentication credentials invalid|"
                       r"code d'authentification invalide|authenticated but not connected|"
                       r"user \S+ not found|password (incorrect|wrong|invalid)|code is (incorrect|wrong|invalid)|"
                       r"invalid authori[sz]ation code|user ?name[^.]{0,30}\bnot (a )?valid"),
    # A server's own trouble in the plainest words: only when nothing more telling was said.
    ("temporary_server_error", r"\bserver error\b"),
]
_COMPILED = [(key, re.compile(pattern, re.IGNORECASE)) for key, pattern in _WORDING]

# Enhanced status codes (RFC 3463, and what the big providers give theirs), for replies whose words
# say nothing this module knows. By subject: x.1 addresses, x.2 the mailbox, x.7 security.
_ENHANCED = [
    (r"5\.7\.8", "wrong_password"), (r"5\.7\.(139|30)", "auth_method_disabled"), (r"5\.7\.9", "app_password_required"),
    (r"5\.7\.(0|14)", "account_locked_or_web_login_required"), (r"5\.7\.57", "auth_not_offered"),
    (r"5\.7\.60", "sender_rejected"), (r"5\.7\.(708|6[0-4]\d|511)", "client_blocked"),
    (r"5\.2\.[12]", "mailbox_unavailable"), (r"5\.1\.(1|2|3|6|10)", "mailbox_unavailable"),  # x.1: the address
    (r"5\.7\.(10|11)", "starttls_required"), (r"5\.7\.50[0-9]", "account_locked_or_web_login_required"),
    # RFC 7372: the sender's SPF, DMARC or null MX failed (the studio's domain), or our reverse DNS.
    (r"5\.7\.2[0-467]", "sender_rejected"), (r"5\.7\.25", "client_blocked"),
]
_ENHANCED_COMPILED = [(re.compile(rf"(?<![\d.])\b{pattern}\b"), key) for pattern, key in _ENHANCED]  # not in 10.5.1.3

# Causes no setting of the studio's mends: they pass, or only the installation's admin can act.
_NOT_MENDED_IN_SETTINGS = {"other", "temporary_server_error", "rate_limited", "quota_or_daily_limit", "timeout",
                           "oauth_client_invalid", "sms_unreachable", "sms_host_not_found", "sms_outcome_unknown"}

# Which causes a step can have: after a sign-in that worked, a refusal is no password problem.
_SIGN_IN = {"wrong_password", "app_password_required", "auth_method_disabled"}
_SIGNED_IN_PHASES = {"mail_from", "rcpt", "data", "send", "select", "folders", "inbox", "sync_folders"}
# Causes a step's words cannot mean, read again without them: our TLS is settled once we signed
# in (a TLS mix-up then is another hop's), and before MAIL FROM there is no sender yet.
_NOT_AT = {"tls_mode_mismatch": _SIGNED_IN_PHASES, "certificate_hostname_mismatch": _SIGNED_IN_PHASES,
           "certificate_untrusted": _SIGNED_IN_PHASES, "sender_rejected": {"connect", "ehlo", "tls", "auth"},
           "message_refused": {"connect", "ehlo", "tls", "auth"}}  # no message is on its way yet
# What the network (not a server) does; a server's reply in such words is a refusal.
_NETWORK = {"host_not_found", "connection_refused", "timeout"}
# Replies that clear up by themselves: what a 4xx reply is, whatever its words (RFC 5321 4.2.1).
_PASSING = {"rate_limited", "temporary_server_error", "quota_or_daily_limit"}

# Providers whose plain "authentication failed" means something more specific.
_ICLOUD = re.compile(r"(^|\.)(mail\.me\.com|icloud\.com)$")
_MICROSOFT_CLOUD = re.compile(r"(^|\.)(office365\.com|outlook\.com|hotmail\.com|live\.com)$")
# Ports where a server speaks TLS from the first byte (and never greets in plain text).
_TLS_PORTS = {465, 993, 995}

_HUNG_UP_AT_SIGN_IN = _l(
    "The server closed the connection at sign-in without saying why. Most often the username or password is wrong "
    "(some servers hang up instead of answering), or the provider switched password sign-in off for mail "
    "programs, or it blocks sign-ins after too many failed tries (wait an hour, then test once).")


# Courier's limit of connections per address, for one: it closes the connection instead of greeting.
_HUNG_UP_AT_IMAP_GREETING = _l(
    "The server closed the connection as soon as it opened, without saying why. Most often it limits how many "
    "connections one IP address or mailbox may have open at once (phones and other mail programs count too), or it "
    "is restarting. The inbox sync tries again; if this lasts, close some of them or ask your provider.")


def classify(protocol: str, phase: str, text: str, code: int | None = None, host: str = "",
             port: int | None = None, security: str = "") -> Diagnosis:
    """Diagnose a server reply (or an exception's text) seen at ``phase`` of ``protocol``, with
    the server as the studio entered it (host, port, security), where known."""
    text = readable(str(text))
    if code is None and protocol == "smtp":  # IMAP has none (Dovecot's "(0.512 secs)" is no 512)
        code = _reply_code(text)
    quiet = _quiet(text) if code is None else None
    if quiet:
        return _quiet_server(quiet, protocol, phase, text, port, security)
    words = _CONTINUATION.sub(" ", text)  # a multi-line reply's sentence runs on across its lines
    key = _by_wording(words) or _by_enhanced(text) or _by_code(code, phase, text)
    if key == "temporary_server_error" and code is not None and code >= 500 and not _SAYS_TEMPORARY.search(words):
        key = _permanently_unavailable(code, phase, words)
    if key in _NETWORK and code is not None:  # "550 5.7.1 Connection refused": an answer, so no network failure
        key = _by_enhanced(text) or _by_code(code, phase, text)
    if key in _SIGN_IN and phase in _SIGNED_IN_PHASES:
        key = _by_enhanced(text, skip=_SIGN_IN) or _by_code(code, phase, text)
    if phase in _NOT_AT.get(key, ()):
        key = _by_wording(words, skip=key) or _by_enhanced(text) or _by_code(code, phase, text)
    if key == "mailbox_unavailable" and phase == "mail_from":
        key = "sender_rejected"  # the mailbox in question is the sender's
    if key == "mailbox_unavailable" and phase == "auth" and _UNKNOWN_USER.search(words):
        key = "wrong_password"  # signing in, the user unknown is the name we sign in with
    if phase == "rcpt" or _MAILBOX_STATUS.search(text):
        key = _about_the_recipient(key, text)
    if key == "wrong_password":
        key = _provider_meaning(protocol, host) or key
    if key == "other" and protocol == "imap":
        key = _imap_refusal(phase, security, text)
    if key == "account_locked_or_web_login_required" and protocol == "imap" and phase in _SIGNED_IN_PHASES \
            and _FOLDER_LOCKED.search(words):
        key = "temporary_server_error"  # signed in, a locked mailbox is a folder another session holds for now
    if key == "other" and phase == "data" and _FILTER_VERDICT.search(words) and not _NAMES_US.search(words):
        key = "message_refused"  # a filter's verdict on the message just sent, naming nothing of ours
    if key == "message_refused" and phase != "data" and _DOMAIN_LISTS.search(words):
        key = "sender_rejected"  # before the message is sent, a domain block list can list only our sender's
    if key == "starttls_required" and _NO_AUTH.search(text) and (security in ("starttls", "ssl") or port == 25):
        key = "auth_not_offered"  # no sign-in even when encrypted, or on the port between servers
    if key == "message_refused" and protocol == "imap":
        key = "other"  # the inbox sync sends no message (its hint speaks of sending)
    named = ""
    if _temporary(code, text) and key not in _PASSING:  # a 4xx never pauses the studio (RFC 5321 4.2.1)
        named = "" if key == "other" or _PASSING_TROUBLE.search(words) else key  # but the studio hears what it says
        key = "rate_limited" if _says("rate_limited", words) else "temporary_server_error"
    if key == "temporary_server_error" and protocol == "imap" and _says("rate_limited", words):
        key = "rate_limited"  # an [UNAVAILABLE] that is our pace (Dovecot's "Maximum number of connections")
    if key == "starttls_required" and phase in ("rcpt", "data") and security in ("ssl", "starttls"):
        key = "other"  # our connection is encrypted: it is this recipient's route that wants more (one fails)
    return Diagnosis(CAUSES[key], text.strip()[:500], protocol, named=named)


def classify_exception(exc: BaseException, protocol: str, phase: str, host: str = "",
                       port: int | None = None, security: str = "") -> Diagnosis:
    """Diagnose what a connection attempt raised."""
    text = _exception_text(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        mismatch = "mismatch" in text.lower() or "not valid for" in text.lower()
        key = "certificate_hostname_mismatch" if mismatch else "certificate_untrusted"
        return Diagnosis(CAUSES[key], text[:500], protocol)
    if isinstance(exc, netguard.ForbiddenAddress):
        return Diagnosis(CAUSES["private_address"], str(exc)[:500], protocol)
    if isinstance(exc, socket.gaierror):
        return Diagnosis(CAUSES["sms_host_not_found" if protocol == "sms" else "host_not_found"], text[:500], protocol)
    # The SMS section has no server, port or security to check: the gateway's address is the instance's.
    if isinstance(exc, ConnectionRefusedError):
        return Diagnosis(CAUSES["sms_unreachable" if protocol == "sms" else "connection_refused"], text[:500], protocol)
    if isinstance(exc, imaplib.IMAP4.abort) and phase in _SIGNED_IN_PHASES and _by_wording(text) is None:
        return Diagnosis(CAUSES["temporary_server_error"], text[:500], protocol)  # a BYE after signing in: see _IMAP_BYE
    if isinstance(exc, netguard.ConnectTimeout) or protocol == "sms" and isinstance(exc, TimeoutError):
        return Diagnosis(CAUSES["sms_unreachable" if protocol == "sms" else "timeout"], text[:500], protocol)
    if phase == "connect" and _another_service(exc, protocol, text):
        return Diagnosis(CAUSES["wrong_service"], readable(text)[:500], protocol)
    return classify(protocol, phase, text, getattr(exc, "smtp_code", None), host, port, security)


# SMTP's greeting where IMAP's was awaited: imaplib reports "220 ..." as an unexpected response.
_SMTP_GREETING = re.compile(r"unexpected response: b?['\"]?\d{3}[ -]", re.IGNORECASE)


def _another_service(exc: BaseException, protocol: str, text: str) -> bool:
    """Did another protocol's server greet us (the SMTP port typed in as the inbox's, or the other
    way round)? smtplib reads a greeting without a reply code ("* OK ... IMAP4rev1", POP3's
    "+OK") as code -1; imaplib takes POP3's "+OK" for a continuation and greets with "None"."""
    if protocol == "smtp":
        return isinstance(exc, smtplib.SMTPConnectError) and exc.smtp_code == -1
    if protocol == "imap":
        return bool(_SMTP_GREETING.search(text)) or isinstance(exc, imaplib.IMAP4.error) and str(exc) == "None"
    return False


def _quiet_server(quiet: str, protocol: str, phase: str, text: str, port: int | None, security: str) -> Diagnosis:
    """The server said nothing: it never answered (``silent``) or hung up (``hung_up``). What that
    means depends on the step, and at the start on whether the port and the security fit."""
    if phase == "auth":  # a hang-up is the server's answer; silence may be the network
        if quiet == "silent":
            return Diagnosis(CAUSES["timeout"], text[:500], protocol)
        return Diagnosis(CAUSES["wrong_password"], text[:500], protocol, _HUNG_UP_AT_SIGN_IN)
    if phase not in ("connect", "ehlo", "tls"):
        return Diagnosis(CAUSES["timeout" if quiet == "silent" else "temporary_server_error"], text[:500], protocol)
    if port is None:  # a report without the settings: a closed greeting is the usual TLS mix-up
        key = "tls_mode_mismatch" if _HUNG_UP.search(text) else "timeout"
    elif (security == "ssl") != (port in _TLS_PORTS):
        key = "tls_mode_mismatch"  # e.g. a plain greeting awaited from a port that awaits a TLS hello
    elif quiet == "hung_up" and protocol == "imap" and phase == "connect":
        return Diagnosis(CAUSES["rate_limited"], text[:500], protocol, _HUNG_UP_AT_IMAP_GREETING)
    else:
        key = "timeout" if quiet == "silent" else "temporary_server_error"
    return Diagnosis(CAUSES[key], text[:500], protocol)


# RFC 3463: the recipient's mailbox disabled (5.2.1) or full (5.2.2); not inside an IP address (10.4.2.1).
_MAILBOX_STATUS = re.compile(r"(?<![\d.])5\.2\.[12](?![\d.])")
# Full for now (4.2.2): the recipient's too, unless the words name a quota of the sender's own
# (some services give their daily sending quota that status; a policy server's comes as 4.2.1).
_MAILBOX_FULL_FOR_NOW = re.compile(r"(?<![\d.])4\.2\.2(?![\d.])")
_UNKNOWN_USER = re.compile(r"no such user|user unknown|unknown user|(user|account) (does not|doesn't) exist|"
                           r"(mailbox|user|account) (was )?not found",
                           re.IGNORECASE)
_SENDERS_QUOTA = re.compile(r"daily|per day|24 hours|sending|outgoing|relay", re.IGNORECASE)
_ABOUT_US = {"client_blocked", "relay_denied", "auth_not_offered", "starttls_required", "sender_rejected",
             "rate_limited", "temporary_server_error", "quota_or_daily_limit"}


def _about_the_recipient(key: str, text: str) -> str:
    """A refusal of one recipient concerns that recipient, unless it names us (our address on a
    block list, relaying, signing in, our sender, our pace): one full or disabled mailbox must
    never hold or pause a studio's sending."""
    if key == "quota_or_daily_limit" and (_MAILBOX_STATUS.search(text) or _MAILBOX_FULL_FOR_NOW.search(text)
                                          and not _SENDERS_QUOTA.search(text)):
        return "mailbox_unavailable"  # the recipient's mailbox is over its quota
    if key in _ABOUT_US or key in ("mailbox_unavailable", "message_refused", "other"):
        return key
    return "mailbox_unavailable" if key == "account_locked_or_web_login_required" else "other"


def _imap_refusal(phase: str, security: str, text: str) -> str:
    """What an IMAP refusal in words we do not know means at its step."""
    if phase in _SIGNED_IN_PHASES and _IMAP_BYE.search(text):
        return "temporary_server_error"  # hung up after a sign-in that worked (a restart, an idle or expired session)
    if phase in ("select", "inbox") and (_NO_RIGHTS.search(text) or not (
            _IMAP_BAD.search(text) or _IMAP_CODE.search(text) or _SIGN_IN_WORDS.search(text))):
        return "mailbox_unavailable"  # a plain NO, or no right to read it: the folder cannot be opened
    if phase == "auth" and security == "none" and _IMAP_BAD.search(text):
        return "starttls_required"  # LOGIN taken as a command out of place: no sign-in before TLS (LOGINDISABLED)
    if phase == "tls" and _IMAP_BAD.search(text):
        return "tls_mode_mismatch"  # STARTTLS not taken as a command: none offered here, or TLS is on already
    return "other"


_FOLDER_LOCKED = re.compile(r"^(?![\s\S]*\b(suspicious|security|sign|log ?in|web|contact|support|abuse|verify|account|"
                            r"password)\b)[\s\S]*\b(mailbox|folder) (is )?(currently )?locked\b", re.IGNORECASE)
_IMAP_BYE = re.compile(r"(^|\s)\* BYE\b", re.IGNORECASE)  # RFC 3501 7.1.5: the server closes the connection
# A refusal at a folder in words about signing in is not about the folder (NetEase's "Unsafe Login").
_SIGN_IN_WORDS = re.compile(r"\b(unsafe|insecure|blocked) log ?in\b|not (logged|signed) in|\blog ?in (first|required)|"
                            r"authenticated but not connected",
                            re.IGNORECASE)
_NO_RIGHTS = re.compile(r"permission denied|\bacl\b", re.IGNORECASE)  # not "BAD Not permitted in this state"
_IMAP_CODE = re.compile(r"\[[A-Z-]+\]")  # a response code (RFC 5530) says why, if we knew it
# RFC 3501: BAD is a command out of place or not understood (Dovecot names it even in a NO)
_IMAP_BAD = re.compile(r"^\S+ BAD\b|\bBAD \[?command|command error: BAD\b|error in imap command|unknown argument",
                       re.IGNORECASE)
# A deferral's words that say its reason passes by itself (SPF's or DNS's temporary error).
_PASSING_TROUBLE = re.compile(r"\btemp ?error\b|\btemporary (\w+ )?(error|failure|problem)|\btime(d)? ?out\b",
                              re.IGNORECASE)
_SAYS_TEMPORARY = re.compile(_TEMPORARY_WORDS + r"|try (again )?later|" + _IMAP_PASSING, re.IGNORECASE)
_NO_AUTH = re.compile(r"auth extension not supported", re.IGNORECASE)
_SILENT = re.compile(r"timed out|greeting never received|did not properly respond", re.IGNORECASE)
_HUNG_UP = re.compile(r"connection unexpectedly closed|socket error: eof|\beof\b|connection (was )?(reset|closed|"
                      r"aborted)|broken pipe|server disconnected|remote end closed", re.IGNORECASE)


def _quiet(text: str) -> str | None:
    """"silent" or "hung_up" when the text is only a client's report that the server said nothing."""
    if _by_wording(_HUNG_UP.sub("", _SILENT.sub("", text))) not in (None, "timeout"):
        return None  # words of the server's own came with it
    if _SILENT.search(text):
        return "silent"
    return "hung_up" if _HUNG_UP.search(text) else None


# Twilio's error codes (other providers with a Twilio-compatible API use the same).
_SMS_CODES = {20003: "sms_auth_failed", 20404: "sms_auth_failed", 20429: "rate_limited",
              21606: "sms_sender_invalid", 21659: "sms_sender_invalid", 21212: "sms_sender_invalid",
              21610: "sms_recipient_unsubscribed", 21211: "sms_recipient_invalid", 21214: "sms_recipient_invalid",
              21408: "sms_recipient_invalid", 21612: "sms_recipient_invalid", 21614: "sms_recipient_invalid"}


def classify_sms(status: int, code: int | None, message: str) -> Diagnosis:
    """Diagnose an SMS provider's error answer: its error code first, then the HTTP status."""
    detail = f"{status} {code or ''} {message}".replace("  ", " ").strip()[:500]
    if code in _SMS_CODES:
        return Diagnosis(CAUSES[_SMS_CODES[code]], detail)
    if status == 401:
        return Diagnosis(CAUSES["sms_auth_failed"], detail)
    if status == 429:
        return Diagnosis(CAUSES["rate_limited"], detail)
    if status >= 500:
        return Diagnosis(CAUSES["temporary_server_error"], detail)
    return Diagnosis(CAUSES["other"], detail)


def _exception_text(exc: BaseException) -> str:
    """An SMTP refusal as the server sent it ("552 5.3.4 Message size exceeds fixed limit"), as the
    outbox and Test connection show it; any other exception by its type and words."""
    code, message = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if not isinstance(message, bytes):
        return f"{type(exc).__name__}: {exc}"
    return f"{code} {decoded(message)}" if isinstance(code, int) and code > 0 else \
        f"{type(exc).__name__}: {decoded(message)}"


_CHANGES = re.compile(r"[\d@]")  # an address, a queue id, a time, a count
_REFUSAL = re.compile(r"5\d\d\b")  # a server's permanent reply (not our own words, such as a non-ASCII address's)
_STATUS = re.compile(r"[245]\d\d|([245]\d\d-)?[245]\.\d{1,3}\.\d{1,3}")


def gist(detail: str) -> str:
    """A reply's words without what changes from one message to the next (addresses, queue ids,
    times), its codes kept: two refusals with the same gist say the same thing. Its first 200
    characters: a detail is cut at 500, where the cut falls depends on the address in it."""
    words = detail.lower().split()
    return " ".join(word for word in words if _STATUS.fullmatch(word) or not _CHANGES.search(word))[:200]


def unread(diagnosis: Diagnosis) -> bool:
    """Is this a server's permanent refusal diagnosed from its code alone (a refused recipient
    taken for that recipient's): no words, verdict or enhanced status this module knows?"""
    return diagnosis.key in ("other", "mailbox_unavailable") and _REFUSAL.match(diagnosis.detail) is not None \
        and _by_enhanced(diagnosis.detail) is None and _by_wording(_CONTINUATION.sub(" ", diagnosis.detail)) is None


def decoded(raw: bytes) -> str:
    """A server's words as it meant them: UTF-8 if they are, else its own 8-bit charset (Windows-1252
    is the usual one, and every byte means something in it: never garbled into U+FFFD)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


_BYTES_LITERAL = re.compile(r"""b(['"])(?:\\.|(?!\1).)*\1""")


def readable(text: str) -> str:
    """imaplib's errors quote the server's bytes (b'[ALERT] Ung\\xfcltig'): the words, decoded."""
    def words(found: re.Match) -> str:
        try:
            return decoded(ast.literal_eval(found.group(0)))
        except (ValueError, SyntaxError):
            return found.group(0)
    return _BYTES_LITERAL.sub(words, text)


def _by_wording(text: str, skip: str = "") -> str | None:
    for key, pattern in _COMPILED:
        if key != skip and pattern.search(text):
            return key
    return None


_REFUSING_SERVICE = re.compile(r"service (is )?(currently )?(not available|unavailable)", re.IGNORECASE)


def _permanently_unavailable(code: int, phase: str, text: str) -> str:
    """A bare "unavailable" in a permanent (5xx) reply. "Service unavailable" is a server refusing
    us (Postfix's postscreen: "550 5.3.2 Service currently unavailable"); else what the other
    words, the enhanced status or the code at this step say."""
    if _REFUSING_SERVICE.search(text):
        return "client_blocked"
    return _by_wording(text, skip="temporary_server_error") or _by_enhanced(text) or _by_code(code, phase, text)


def _says(key: str, text: str) -> bool:
    return any(pattern.search(text) for known, pattern in _COMPILED if known == key)


def _by_enhanced(text: str, skip: set[str] = frozenset()) -> str | None:
    for pattern, key in _ENHANCED_COMPILED:
        if key not in skip and pattern.search(text):
            return key
    return None


def _provider_meaning(protocol: str, host: str) -> str | None:
    host = host.lower().rstrip(".")
    if _ICLOUD.search(host):
        return "app_password_required"  # iCloud accepts only app-specific passwords from mail programs
    if protocol == "imap" and _MICROSOFT_CLOUD.search(host):
        return "auth_method_disabled"  # Exchange Online turned basic authentication off for IMAP
    return None


# "…not authorized to\n550-5.7.1 send…" (smtplib keeps the status, not the code, of each line)
_CONTINUATION = re.compile(r"\s*\n(\d{3}[- ])?(\d\.\d{1,3}\.\d{1,3} )?")
_ABOUT_AN_ADDRESS = re.compile(r"\b(address|sender)\b", re.IGNORECASE)  # not a 501 about SIZE or SMTPUTF8
# RFC 3463 x.5.x: the conversation broke a rule, not the recipient's address (unless it says so)
_PROTOCOL_STATUS = re.compile(r"(?<![\d.])5\.5\.\d+\b")
_NAMES_A_MAILBOX = re.compile(r"\b(address|mailbox|recipient|user)\b", re.IGNORECASE)
_CODE_RE = re.compile(r"\b([2-5]\d\d)[ -]")
_ENHANCED_CLASS_RE = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}\b")


def _reply_code(text: str) -> int | None:
    found = _CODE_RE.search(text)
    return int(found.group(1)) if found else None


def _temporary(code: int | None, text: str) -> bool:
    """A 4xx reply (or, without a code, a 4.x.x enhanced status): the server asks to try again."""
    if code is not None:
        return 400 <= code < 500
    found = _ENHANCED_CLASS_RE.search(text)
    return bool(found and found.group(1) == "4")


def _protocol_error(text: str) -> bool:
    return bool(_PROTOCOL_STATUS.search(text)) and not _NAMES_A_MAILBOX.search(text)


def _by_code(code: int | None, phase: str, text: str = "") -> str:
    """The last resort: what the reply code's class says (RFC 5321)."""
    if code is None:
        return "other"
    if 400 <= code < 500:
        return "temporary_server_error"
    if code >= 500 and phase == "connect":
        return "client_blocked"  # a refusal instead of a greeting: this server takes nothing from us
    if code == 535:
        return "wrong_password"
    if code in (530, 503) and phase in ("auth", "mail_from") or code in (500, 502, 504) and phase == "auth":
        return "auth_not_offered"  # sign in first; or the server has no AUTH command
    if code in (500, 502, 504) and phase == "tls":
        return "tls_mode_mismatch"  # no STARTTLS command here: this port wants SSL/TLS from the start, or none
    if phase == "mail_from" and (code in (550, 551, 553) or code == 501 and _ABOUT_AN_ADDRESS.search(text)):
        return "sender_rejected"
    if code in (550, 551, 553) and phase == "rcpt" and not _protocol_error(text):
        return "mailbox_unavailable"
    return "other"
