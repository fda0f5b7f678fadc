"""``sparkforge eval``: measure suggestion quality on cases (docs/eval.md)."""
