"""Exceptions raised by cirrusml.

Every message names the thing at fault (a field, a column, a file), the rule it broke, the value
received and, where possible, how to fix it.

::

    CirrusMLError
    ├── InvalidSpecError (ValueError)        a job specification field is wrong
    ├── DataError (ValueError)                data cannot be read or does not fit the job
    │   └── MLTableError                      an MLTable file is malformed
    ├── NotSupportedYetError (NotImplementedError)
    ├── JobNotFoundError (KeyError)
    ├── ModelNotFoundError (KeyError)         no registered model of that name or version
    ├── EndpointNotFoundError (KeyError)      no online endpoint (or deployment) of that name
    ├── EndpointError (RuntimeError)          an endpoint's process did not start, or a request
    │                                         to it was refused (``status_code``)
    ├── JobFailedError (RuntimeError)         raised by ``jobs.stream`` when a job ends Failed
    ├── WorkspaceError (RuntimeError)
    ├── BatchEndpointNotFoundError (KeyError)  no batch endpoint (or deployment) of that name
    ├── TrialTimeoutError (TimeoutError)      a trial ran past ``trial_timeout_minutes``
    └── NotFittedError (ValueError, AttributeError)

    JobCanceled (BaseException)               raised inside a runner on cancellation, like
                                              KeyboardInterrupt, so no ``except Exception`` eats it
"""

from __future__ import annotations

__all__ = [
    "BatchEndpointNotFoundError",
    "CirrusMLError",
    "DataError",
    "EndpointError",
    "EndpointNotFoundError",
    "InvalidSpecError",
    "JobCanceled",
    "JobFailedError",
    "JobNotFoundError",
    "MLTableError",
    "ModelNotFoundError",
    "NotFittedError",
    "NotSupportedYetError",
    "TrialTimeoutError",
    "WorkspaceError",
]


class CirrusMLError(Exception):
    """Root of every error cirrusml raises on purpose."""


class InvalidSpecError(CirrusMLError, ValueError):
    """A job specification is invalid.

    ``field`` is the dotted path of the offending field (``limits.timeout_minutes``), or ``None``
    when the problem concerns the whole document.
    """

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        self.field = field
        self.source = source
        self.message = message
        prefix = ""
        if source:
            prefix += f"{source}: "
        if field:
            prefix += f"{field}: "
        super().__init__(prefix + message)

    def with_source(self, source: str) -> InvalidSpecError:
        """The same error, naming the file it came from."""
        return InvalidSpecError(self.message, field=self.field, source=source)


class DataError(CirrusMLError, ValueError):
    """Data cannot be read, or does not fit the job (a missing column, an empty file, ...)."""


class MLTableError(DataError):
    """An MLTable file is malformed or uses something we do not support."""


class NotSupportedYetError(CirrusMLError, NotImplementedError):
    """A feature that later releases will add."""


class JobNotFoundError(CirrusMLError, KeyError):
    """No job of that name in the workspace."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence as it is.
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(CirrusMLError, KeyError):
    """No registered model of that name, version or label."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence as it is.
        return str(self.args[0]) if self.args else ""


class EndpointNotFoundError(CirrusMLError, KeyError):
    """No online endpoint, or no deployment in it, of that name."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence as it is.
        return str(self.args[0]) if self.args else ""


class EndpointError(CirrusMLError, RuntimeError):
    """An endpoint's router or deployment could not be started, or the endpoint refused a
    request; ``status_code`` is the HTTP status of a refusal (``None`` otherwise)."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class JobFailedError(CirrusMLError, RuntimeError):
    """A streamed job ended Failed."""


class WorkspaceError(CirrusMLError, RuntimeError):
    """The workspace folder is missing, unreadable or inconsistent."""


class BatchEndpointNotFoundError(CirrusMLError, KeyError):
    """No batch endpoint, or no deployment in it, of that name."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence as it is.
        return str(self.args[0]) if self.args else ""


class TrialTimeoutError(CirrusMLError, TimeoutError):
    """A trial ran past its time limit and was stopped."""


class NotFittedError(CirrusMLError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class JobCanceled(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """Raised inside the job runner when the job is canceled (SIGTERM from ``jobs.cancel``)."""
