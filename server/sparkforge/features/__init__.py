"""LSP features: one module per feature, each with ``setup(server)``; ``sparkforge.app``
wires them to a new server."""
