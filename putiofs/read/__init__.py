"""Streaming reads of one open file: the reader, its buffer policy, the checked Range fetcher and
the byte ring it reads into. Raises domain errors only.
"""
