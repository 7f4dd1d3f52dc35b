"""The emulated account, the same for every API version: the tree, the trash, transfers, history,
messages, subscriptions, and the seeds that fill it.
"""
