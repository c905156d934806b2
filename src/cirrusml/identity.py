"""Credentials, accepted for compatibility with ``azure.identity`` and never needed.

A local workspace needs no sign-in: code written for Azure
(``MLClient.from_config(DefaultAzureCredential())``) runs with only its imports changed.
"""

from __future__ import annotations

from typing import Any


class _LocalCredential:
    """A credential that stands for "the local user"; it holds no secret."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def get_token(self, *scopes: str, **kwargs: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class DefaultAzureCredential(_LocalCredential):
    """Accepted and ignored: local workspaces need no credential."""


class AzureCliCredential(_LocalCredential):
    """Accepted and ignored: local workspaces need no credential."""


class InteractiveBrowserCredential(_LocalCredential):
    """Accepted and ignored: local workspaces need no credential."""


class ManagedIdentityCredential(_LocalCredential):
    """Accepted and ignored: local workspaces need no credential."""


__all__ = [
    "AzureCliCredential",
    "DefaultAzureCredential",
    "InteractiveBrowserCredential",
    "ManagedIdentityCredential",
]
