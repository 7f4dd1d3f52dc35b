"""What the mount shows: the operations object the FUSE binding calls, with paths in and stat dicts,
bytes and ``OSError(errno)`` out. The only package that raises errno for the kernel
(:mod:`putiofs.front.errno_map`); callable without a kernel.
"""
