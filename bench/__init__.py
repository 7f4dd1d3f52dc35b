"""``scripts/bench``: what a putiofs user feels, each figure next to a same-run baseline."""
