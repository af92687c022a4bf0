"""What the app changes on the studio's server, at once: read or unread, a move to another synced
folder, deletion to the Trash, as the studio's own mail client would. The sync shows changes made
the other way round. Opening a mail here marks nothing read: staff reading a client's mail on the
tablet must not change what the owner's own inbox shows as new. (What the app sent goes into
the Sent folder from the email channel: ``channels.email.file_sent_copies``.)
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from . import mailcheck, mailsettings
from .extensions import db
from .mail_bodies import Unavailable, connected, copies_of, select
from .models import MailAccount, MailCopy, MailFolder, MailItem, MailParty

SEEN = b"\\Seen"


def mark_seen(item: MailItem, account: MailAccount, seen: bool) -> None:
    """Read or unread, on every copy (INBOX and Sent alike)."""
    with connected(account) as client:
        for copy in copies_of(item):
            select(client, copy, readonly=False)
            (client.add_flags if seen else client.remove_flags)([copy.uid], [SEEN])
    item.seen = seen
    db.session.commit()


def move_targets(item: MailItem, account: MailAccount) -> list[str]:
    """The folders the owner chose to sync that the item is not in: mail moved anywhere else
    would leave the app (the Sent folder, read too, is no place to file mail in)."""
    held = {copy.name for copy in copies_of(item)}
    return [name for name in mailsettings.folders_of(account) if name not in held]


def move(item: MailItem, account: MailAccount, target: str) -> None:
    """The item's first copy to ``target`` (a synced folder): its new copy there is read by the
    next sync, which the caller starts, and joins this item."""
    if target not in move_targets(item, account):
        raise Unavailable(_l("not a folder this mail can be moved to"))
    copy = copies_of(item)[0]
    with connected(account) as client:
        select(client, copy, readonly=False)
        _move(client, copy.uid, target)
    _forget_copy(item, copy)
    db.session.commit()


def delete(item: MailItem, account: MailAccount) -> bool:
    """Every copy to the server's Trash, as a mail client deletes; a copy in the Trash already is
    deleted for good. Returns False when that is what happened to it. A server without a Trash
    folder is refused: nothing is destroyed that the studio could not get back. The item leaves
    the app at once."""
    with connected(account) as client:
        trash = mailcheck.special_folder(client.list_folders(), b"\\Trash")
        if trash is None:
            raise Unavailable(_l("your mailbox has no Trash folder; delete the mail in your mail program"))
        to_trash = True
        for copy in copies_of(item):
            select(client, copy, readonly=False)
            if copy.name != trash:
                _move(client, copy.uid, trash)
            else:
                client.delete_messages([copy.uid])
                _expunge(client, copy.uid)
                to_trash = False
    for model, column in ((MailCopy, MailCopy.item_id), (MailParty, MailParty.item_id), (MailItem, MailItem.id)):
        db.session.execute(sa.delete(model).where(column == item.id))
    db.session.commit()
    return to_trash


def _move(client, uid: int, target: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], target)
        return
    client.copy([uid], target)
    client.delete_messages([uid])
    _expunge(client, uid)


def _expunge(client, uid: int) -> None:
    """Only this mail: a plain EXPUNGE would also remove what the studio's own client marked
    deleted and still shows. Servers without UIDPLUS keep it marked; their clients hide it."""
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])


def _forget_copy(item: MailItem, copy) -> None:
    folder_ids = sa.select(MailFolder.id).where(MailFolder.studio_id == item.studio_id, MailFolder.name == copy.name)
    db.session.execute(sa.delete(MailCopy).where(MailCopy.item_id == item.id, MailCopy.uid == copy.uid,
                                                 MailCopy.folder_id.in_(folder_ids)))

