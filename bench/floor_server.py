"""The floor: a bare pygls 2 server that answers textDocument/inlineCompletion at once.

Same transport, same incremental sync, no work: its round trip is what any pygls server
costs, so the fast-path benchmark reports sparkforge's added latency against it.
"""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("floor", "1")


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
def inline(ls: LanguageServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text="x", range=types.Range(start=params.position, end=params.position))]
    )


if __name__ == "__main__":
    server.start_io()
