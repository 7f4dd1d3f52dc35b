"""Commands for jobs put.io runs on the account's files on its own side, which a command
starts and then follows until put.io says they are done: unpacking archives
(:mod:`~putiofs.commands.jobs.extract`)."""
