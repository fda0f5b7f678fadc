"""sparkforge: an AI pair programmer as a language server."""

from typing import Any


def __getattr__(name: str) -> Any:
    # The version is the installed distribution's (pyproject.toml is the one place it is
    # written), looked up only when asked for.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("sparkforge")
        except PackageNotFoundError:  # run from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'sparkforge' has no attribute {name!r}")
