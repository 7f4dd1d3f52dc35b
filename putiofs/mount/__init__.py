"""The kernel side: the only package that loads a FUSE binding. Start-up checks, the binding glue,
the run loop, the composition root that wires a mount together, and the kernel cache helpers.
"""
