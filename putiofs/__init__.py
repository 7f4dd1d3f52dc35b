"""putiofs: mount a put.io account as a local directory."""

__version__ = "0.1.0"
