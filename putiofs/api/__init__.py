"""What the core knows of put.io, whatever the API version: the
:class:`~putiofs.api.backend.Backend` protocol and its capabilities, the neutral service models,
the domain errors, the realtime change model and sign-in. Pure definitions: nothing here does I/O.
"""
