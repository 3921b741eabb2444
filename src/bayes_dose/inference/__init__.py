"""Inference engines: exact grid/quadrature (vectorised over trials) and PyMC NUTS.

Engines know models, not decision rules.  Both return an :class:`Estimate`.
"""

from .estimate import Estimate

__all__ = ["Estimate"]
