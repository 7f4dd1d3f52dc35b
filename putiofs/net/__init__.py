"""HTTP under every API client and the stream reader: sessions whose requests end by the calling
thread's deadline, the one retry policy, per-thread deadlines, lenient parsing of single values.
"""
