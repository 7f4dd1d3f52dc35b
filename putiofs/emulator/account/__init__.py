"""The emulated account, the same for every API version: the tree, the trash, transfers, history,
messages, subscriptions, and the seeds that fill it. It knows no wire format.

:mod:`~putiofs.emulator.account.state` is the :class:`Account` itself, which composes the
:mod:`~putiofs.emulator.account.trash` and the transfer queue
(:mod:`~putiofs.emulator.account.transfers`); all three keep the plain records of
:mod:`~putiofs.emulator.account.records`. :mod:`~putiofs.emulator.account.links` makes up what a
transfer fetches, :mod:`~putiofs.emulator.account.filetypes` names put.io's file types, and
:mod:`~putiofs.emulator.account.seed` fills an account (the demo library, or a directory).
"""
