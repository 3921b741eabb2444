"""The package version (a module of its own, so that modules inside the package never
import the package root for it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayes_dose")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = ["__version__"]
