"""seglab: customer segmentation toolkit (notebooks, reports and a tested helper package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seglab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
