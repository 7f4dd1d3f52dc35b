"""The control folder ``/.putio``: the rest of the account inside the mount.
"""
