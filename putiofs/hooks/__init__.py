"""Change hooks: ``--on-change COMMAND`` run for the changes of :mod:`putiofs.tree.changes`
(batches.py: what one run stands for; runner.py: the queue, the thread and the shell)."""
