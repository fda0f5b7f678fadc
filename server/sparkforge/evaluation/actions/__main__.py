"""``python -m sparkforge.evaluation.actions``: ``sparkforge eval actions``."""

from sparkforge.evaluation.actions import main

raise SystemExit(main())
