"""sparkforge: an AI pair programmer as a language server."""

__version__ = "0.1.0"
