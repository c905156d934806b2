"""The one error a scoring request can fail with: an HTTP status, a code and a message.

Every check of a request (payload shape, columns, values, method, size, key, time) raises
:class:`ScoringError`; the app turns it into ``{"error": {"code": ..., "message": ...}}`` with the
status. Anything else raised while scoring is a fault of the server or the model: a 500 whose
body says only that, with the detail in the server log.
"""

from __future__ import annotations

from cirrusml.exceptions import CirrusMLError

__all__ = ["ScoringError", "ServingError"]


class ScoringError(CirrusMLError, ValueError):
    """A request the server refuses: ``status`` (4xx), ``code`` (a short name) and a message
    naming the field, column or row at fault and how to fix it. (The generic answer to a fault of
    the server is one too, with status 500.)"""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON body of the answer."""
        return {"error": {"code": self.code, "message": self.message}}


class ServingError(CirrusMLError, RuntimeError):
    """A scoring server could not be started, did not become ready, or is not ours to stop."""
