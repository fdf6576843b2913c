"""Errors that reach the user as one clear line.

Anything the user can fix (a bad file, an unknown task, a missing packaged asset) raises a
subclass of :class:`CodistillError`. The CLI prints those as ``error: <message>`` without a
traceback; everything else is a bug and keeps its traceback under ``--debug``.
"""


class CodistillError(Exception):
    """An error caused by user input or environment, reported without a traceback."""


class DataError(CodistillError):
    """Malformed, missing or inconsistent data."""


class ConfigError(CodistillError):
    """An invalid configuration value or override."""


class AssetError(CodistillError):
    """A packaged offline asset or model that cannot be found or loaded."""


class BudgetError(CodistillError):
    """A k-shot budget that the data cannot satisfy."""


class EndpointError(CodistillError):
    """An API endpoint that answered no request usefully (a wrong key or URL, an outage)."""
