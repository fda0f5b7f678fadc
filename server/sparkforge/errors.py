"""The LSP errors sparkforge answers with, in one place.

Each is an *expected* failure: the message says what happened and what to do, and the server
logs it as one line (no traceback). Anything else a handler raises is a bug, logged with its
traceback.
"""

from __future__ import annotations

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

CONTENT_MODIFIED = -32801


class InvalidParams(JsonRpcInvalidParams):
    """The request names a position, document or value that does not exist or fit."""


class UnknownDocumentError(InvalidParams):
    """A request for a document the client never opened."""


class RequestFailed(JsonRpcException):
    """LSP RequestFailed: a valid request that could not be carried out; the message says why
    and what to do."""

    CODE = -32803


class ContentModified(JsonRpcException):
    """LSP ContentModified: the document changed since the request's answer was computed."""

    CODE = CONTENT_MODIFIED


EXPECTED = (JsonRpcInvalidParams, RequestFailed, ContentModified)
