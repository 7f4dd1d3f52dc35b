"""The account's metadata as the mount knows it: the TTL cache of listings, the folder map, the
name rules, walk read-ahead and live updates from realtime events. Raises domain errors only.
"""
