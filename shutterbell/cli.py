"""``flask --app app ...`` commands for self-hosters and scripts."""
from __future__ import annotations

import click
from flask import Flask

from . import accounts


def init_app(app: Flask) -> None:
    app.cli.add_command(create_studio)
    app.cli.add_command(setup_token)


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


@click.command("setup-token")
def setup_token() -> None:
    """Print a new one-time token for the set-up page of an empty instance."""
    token = accounts.issue_setup_token()
    if token is None:
        click.echo("This instance already has a studio; sign in instead.")
    else:
        click.echo(token)
