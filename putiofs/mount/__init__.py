"""The kernel side: the only package that loads a FUSE binding. Start-up checks (checks), libfuse's
options (settings), the binding glue (binding), the run loop (run), the composition root that
wires a mount together (compose), and the kernel cache helpers (kernel_cache).
"""
