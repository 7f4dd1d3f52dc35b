"""Commands about this machine's mounts and the command itself, with no account: ``status``
(:mod:`.status`), what ``umount`` says while uploads land (:mod:`.unmounting`), shell completion
and the man page (:mod:`.manual`), ``cache clear`` (:mod:`.cache`). A running mount is reached
through its own ``/.putio/status.json`` (:mod:`.mounts`)."""
