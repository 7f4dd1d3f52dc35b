"""The emulator's HTTP plumbing: the threaded server and its routing, Range and signed data URLs,
fault injection and request counters.
"""
