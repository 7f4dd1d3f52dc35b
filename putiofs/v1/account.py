"""The account services of put.io's v1 API (``putiofs.v1.client.V1Client``), as the
version-neutral models of :mod:`putiofs.api.services`.

v1 has dashboard messages, RSS subscriptions and link extraction; it has no history events,
no transfer retry or clean-up, no trash, no sharing, no zips and no MP4 conversion (those
raise NotSupportedError, from :class:`~putiofs.api.services.AccountServices`).

Its ``transfers add`` takes only links: a target folder (``--to``) and a .torrent file's
bytes raise NotSupportedError too (put.io v1 has no upload of a .torrent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from putiofs.api.backend import Entry
from putiofs.api.services import (
    Account,
    AccountServices,
    Friend,
    LinkAnalysis,
    LinkInfo,
    Message,
    Service,
    Subscription,
    SubscriptionFields,
    Transfer,
    TransfersAdded,
    not_supported,
)
from putiofs.v1.backend import entry_from_item
from putiofs.v1.client import V1Client


class V1Services(AccountServices):
    """:class:`~putiofs.api.services.AccountServices` over a v1 client (shared with the Backend)."""

    version = "v1"
    available = frozenset(Service) - {Service.EVENTS, Service.TRANSFER_RETRY,
                                      Service.TRANSFER_CLEAN, Service.TRASH,
                                      Service.TRANSFER_FOLDER, Service.TORRENT_FILE,
                                      Service.SHARES, Service.ZIPS, Service.MP4,
                                      Service.EXTRACT, Service.SHARED_WITH_ME}

    def __init__(self, client: V1Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"V1Services({self.client!r})"

    # -- transfers: v1 reads the neutral model itself -------------------------------------

    def list_transfers(self) -> list[Transfer]:
        return self.client.list_transfers()

    def add_transfers(self, links: Sequence[str],
                      parent_id: str | None = None) -> TransfersAdded:
        """v1 answers with every active transfer, and one that failed at once is listed with
        no id, so the new failures are what is in error now but was not before the call."""
        if parent_id is not None:
            raise not_supported(Service.TRANSFER_FOLDER, self.version)
        before = _errors(self.client.list_transfers())
        after = self.client.add_transfers(links)
        new_errors = _errors(after) - before
        failed = []
        for transfer in after:
            key = (transfer.name, transfer.status)
            if transfer.is_error and new_errors[key] > 0:
                new_errors[key] -= 1
                failed.append(transfer)
        return TransfersAdded(transfers=after, failed=failed)

    def cancel_transfer(self, transfer_id: str) -> None:
        self.client.cancel_transfer(transfer_id)

    # -- messages -------------------------------------------------------------------------

    def list_messages(self) -> list[Message]:
        return [Message(id=m.id, title=m.title, description=m.description,
                        file_name=m.file_name, file_type=m.file_type, importance=m.importance)
                for m in self.client.list_messages()]

    def delete_message(self, message_id: str) -> None:
        self.client.delete_message(message_id)

    # -- subscriptions: v1 reads the neutral model itself ---------------------------------

    def list_subscriptions(self) -> list[Subscription]:
        return self.client.list_subscriptions()

    def subscription(self, subscription_id: str) -> Subscription:
        return self.client.subscription_info(subscription_id)

    def create_subscription(self, fields: SubscriptionFields) -> Subscription:
        if not fields.title or not fields.url:
            raise ValueError("a subscription needs a title and a URL")
        return self.client.create_subscription(fields)

    def edit_subscription(self, subscription_id: str,
                          fields: SubscriptionFields) -> Subscription:
        return self.client.edit_subscription(subscription_id, fields)

    def toggle_subscription(self, subscription_id: str) -> Subscription:
        toggled = self.client.pause_subscription(subscription_id)
        if toggled is None:  # a server that answers the toggle without the subscription
            toggled = self.client.subscription_info(subscription_id)
        return toggled

    def delete_subscription(self, subscription_id: str) -> None:
        self.client.delete_subscription(subscription_id)

    # -- the account ----------------------------------------------------------------------

    def account(self) -> Account:
        user = self.client.user_info()
        used = None
        if user.disk_quota is not None and user.disk_quota_available is not None:
            used = max(user.disk_quota - user.disk_quota_available, 0)
        return Account(user_id=user.user_id, user_name=user.user_name, name=user.name,
                       friends_count=user.friends_count, disk_quota=user.disk_quota,
                       disk_quota_available=user.disk_quota_available, disk_used=used,
                       bw_quota=user.bw_quota, bw_quota_available=user.bw_quota_available,
                       shared_items=user.shared_items, shared_space=user.shared_space)

    def friends(self) -> list[Friend]:
        return self.client.friends()  # v1 reads the neutral model itself

    # -- files and links ------------------------------------------------------------------

    def search(self, query: str) -> list[Entry]:
        return [entry_from_item(item) for item in self.client.search(query)]

    def analyze_links(self, links: Sequence[str]) -> LinkAnalysis:
        result = self.client.analyze_urls(links)
        return LinkAnalysis(
            urls=tuple(LinkInfo(url=u.url, name=u.name, dl_handler=u.dl_handler,
                                type_name=u.type_name, file_size=u.file_size,
                                human_size=u.human_size, error=u.error, urls=u.urls)
                       for u in result.urls),
            disk_avail=result.disk_avail, bw_avail=result.bw_avail)

    def extract_links(self, text: str) -> list[str]:
        return self.client.extract_urls(text)


def _errors(transfers: Sequence[Transfer]) -> Counter[tuple[str | None, str | None]]:
    return Counter((t.name, t.status) for t in transfers if t.is_error)
