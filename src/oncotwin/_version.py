"""The package version (single source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("oncotwin")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"
