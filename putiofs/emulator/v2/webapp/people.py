"""The other put.io users the emulator knows, and friendship requests between them and the
account. The account's friends themselves are the account's (``Account.friends``, v1 serves
them too); a friend's shared folder is a ``SHARED_ROOT`` folder at the root named after them.

The emulated users never act on their own: a request the account sends stays pending (search
shows the user as ``invited``); a request one of them sent (the demo seeds one, from
:data:`ASKING`) waits until the account approves or denies it."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The put.io users beside the account, by name (ids stay clear of the account's 1001 and the
#: demo friend's 2002).
DIRECTORY = {"alice": 2002, "bob": 2003, "carol": 2004, "dave": 2005, "erin": 2006}
#: The user whose friendship request waits in the demo account.
ASKING = "carol"


@dataclass
class People:
    """Who the account can befriend, and the requests waiting in each direction."""

    directory: dict[str, int] = field(default_factory=lambda: dict(DIRECTORY))
    #: Requests others sent the account, name -> user id, oldest first.
    incoming: dict[str, int] = field(default_factory=dict)
    #: Names the account sent a request to, still unanswered.
    outgoing: set[str] = field(default_factory=set)
    #: Friend invitations (codes) the account made, code -> when.
    invites: dict[str, float] = field(default_factory=dict)

    def search(self, text: str, exclude: set[str]) -> list[tuple[str, int]]:
        """The users whose name holds ``text`` (case-folded), ``exclude`` left out."""
        needle = text.casefold()
        return sorted((name, user_id) for name, user_id in self.directory.items()
                      if needle in name.casefold() and name not in exclude)
