"""The emulator's HTTP plumbing, the same for every API version: the threaded server and its
routing (:mod:`~putiofs.emulator.http.httpd`), Range and signed data URLs
(:mod:`~putiofs.emulator.http.data_urls`), fault injection (:mod:`~putiofs.emulator.http.faults`)
and request counters (:mod:`~putiofs.emulator.http.stats`).
"""
