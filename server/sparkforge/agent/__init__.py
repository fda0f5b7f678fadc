"""Agent mode, editor-agnostic: the turn loop (``loop``), the tools and the workspace they see
(``tools``), what may run (``safety``) and the change set the editor owns (``changes``).
The LSP feature (``features/agent.py``) and ``sparkforge agent`` in a terminal drive it."""
