"""Bundled protocols.

``bat6021()`` reads ``data/bat6021.toml``, the BAT6021 phase I protocol (monotherapy
and with tislelizumab) as described in the trial registration text.
"""

from __future__ import annotations

from importlib import resources

from .protocol import Protocol

__all__ = ["bat6021", "example"]


def bat6021() -> Protocol:
    """The BAT6021 phase I protocol (arms ``"mono"`` and ``"combo"``).

    The combination arm's dose levels are not listed in the protocol text; the bundled
    file assumes BAT6021 30-900 mg with tislelizumab 200 mg IV Q3W, starting at 30 mg,
    and records that assumption on the arm (reports show it).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> p = bd.protocols.bat6021()
    >>> p.arm_names
    ('mono', 'combo')
    >>> p.arm("combo").doses_mg[0]
    30.0
    """
    with resources.files("bayes_dose").joinpath("data/bat6021.toml").open("rb") as fh:
        import tomllib

        return Protocol.from_dict(tomllib.load(fh))


def example() -> Protocol:
    """The package's example protocol (today :func:`bat6021`): the source of example
    values, so that trial-agnostic code need not name a trial."""
    return bat6021()
