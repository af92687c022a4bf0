"""``flask --app app ...`` commands for self-hosters and scripts."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from . import accounts


def init_app(app: Flask) -> None:
    app.cli.add_command(create_studio)
    app.cli.add_command(setup_token)
    app.cli.add_command(mail_check)
    app.cli.add_command(generate_key)
    app.cli.add_command(rotate_secrets)
    app.cli.add_command(reset_password)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("generate-key")
def generate_key() -> None:
    """Print a new key for ENCRYPTION_KEYS (put it first, keep the old one after it, then run
    rotate-secrets; remove the old key only after that)."""
    from . import crypto

    click.echo(crypto.generate_key())


@click.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored mail password with the first key of ENCRYPTION_KEYS."""
    from . import mailsettings

    click.echo(f"Re-encrypted {mailsettings.rotate_secrets()} stored credential(s).")


@click.command("create-studio")
@click.option("--name", required=True, help="The studio's name.")
@click.option("--owner-email", required=True, help="The owner's sign-in address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The owner's password (asked for when left out).")
@click.option("--time-zone", default="Europe/Berlin", show_default=True, help="IANA time zone.")
@click.option("--locale", default="en_US", show_default=True, help="Locale for dates and money in messages.")
def create_studio(name: str, owner_email: str, password: str, time_zone: str, locale: str) -> None:
    """Create a studio with its owner and the recommended communication profiles."""
    try:
        owner = accounts.create_studio(accounts.NewStudio(name, time_zone, locale, owner_email, password))
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created studio {owner.studio.name!r} (id {owner.studio_id}) with owner {owner.email}.")


@click.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Print a one-time link that sets a new password for EMAIL (for an instance without mail)."""
    from flask import current_app, url_for

    from . import settings

    user = accounts.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with a password signs in as {email}.")
    token = accounts.reset_token(user)
    with current_app.test_request_context():  # the same link the sign-in page would email
        path = url_for("auth.reset_password", token=token)
    click.echo(f"{settings.current().base_url}{path}")
    click.echo(f"It works once, for {int(accounts.RESET_VALID_FOR.total_seconds() // 60)} minutes.", err=True)


@click.command("setup-token")
def setup_token() -> None:
    """Print a new one-time token for the set-up page of an empty instance."""
    token = accounts.issue_setup_token()
    if token is None:
        click.echo("This instance already has a studio; sign in instead.")
    else:
        click.echo(token)


@click.command("mail-check")
@click.argument("protocol", type=click.Choice(["smtp", "imap"]))
@click.option("--host", required=True)
@click.option("--port", required=True, type=int)
@click.option("--security", required=True, type=click.Choice(["ssl", "starttls", "none"]))
@click.option("--username", default="", help="Leave out to test without signing in.")
@click.option("--from", "from_address", default="", help="SMTP: check that the server accepts this sender.")
@click.option("--timeout", default=10.0, show_default=True, type=float)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def mail_check(protocol, host, port, security, username, from_address, timeout, as_json):
    """Test mail server settings from a shell; the password is read from standard input."""
    import json

    from . import mailcheck

    password = sys.stdin.readline().rstrip("\n") if username else ""
    # Whoever has a shell on the instance may reach its network anyway: no private-address guard.
    if protocol == "imap":
        result = mailcheck.check_imap(mailcheck.ImapSettings(host, port, security, username, password), timeout=timeout,
                                      allow_private=True)
    else:
        result = mailcheck.check_smtp(mailcheck.SmtpSettings(host, port, security, username, password, from_address),
                                      timeout=timeout, allow_private=True)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        for step in result.steps:
            click.echo(f"{'ok  ' if step.ok else 'FAIL'} {step.name:<10} {step.detail}")
        if result.diagnosis:
            click.echo(f"\nCause: {result.diagnosis.key}\n{result.diagnosis.hint}")
    raise SystemExit(0 if result.ok else 1)


KEYS_REMINDER = ("Keep the instance's keys with this copy, apart from it: SECRET_KEY and ENCRYPTION_KEYS (under "
                 "./run the files secret_key and encryption_key in the instance folder). Without the encryption "
                 "keys the stored mail passwords cannot be read, and every account must be signed in again.")


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Write a consistent copy of the database to TARGET (a new file), while the app runs."""
    from . import backup

    try:
        size = backup.back_up(target)
    except backup.BackupProblem as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"Wrote {target} ({size / 1_000_000:.1f} MB, schema {backup.schema_version()}).")
    click.echo(KEYS_REMINDER, err=True)


@click.command("restore")
@click.argument("copy", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
def restore_command(copy: Path, yes: bool) -> None:
    """Replace the database with COPY (made by ``backup``). Stop the app and the worker first;
    afterwards run ``flask --app app db upgrade`` if the copy is from an older version."""
    from . import backup

    if not yes:
        click.confirm(f"Replace the database with {copy}? Everything written since that copy is lost", abort=True)
    from alembic.script import ScriptDirectory
    from flask import current_app

    from .models import utcnow

    migrations = ScriptDirectory(current_app.extensions["migrate"].directory)
    try:
        kept = backup.restore(copy, {script.revision for script in migrations.walk_revisions()}, utcnow())
    except backup.BackupProblem as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"Restored {copy} (schema {backup.schema_version()}); the database it replaced is kept as {kept}.")
    click.echo("Run flask --app app db upgrade if the copy is from an older version, then start the app again.")
