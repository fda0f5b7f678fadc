/**
 * Reading LSP WorkspaceEdits (from `sparkforge/chatApply`) without `vscode`: whether one is a
 * plain change to a single document, which the client can show as a diff of that document.
 */

import type { LspTextDocumentEdit, LspWorkspaceEdit, TextEdit } from '../protocol';

export interface SingleDocumentEdit {
  uri: string;
  /** The version the edits were made for; null/undefined when the server did not say. */
  version?: number | null;
  edits: TextEdit[];
}

/** The edit's text edits if they all touch one document and nothing else happens. */
export function singleDocumentEdit(edit: LspWorkspaceEdit): SingleDocumentEdit | undefined {
  const found: SingleDocumentEdit[] = [];
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) {
      return undefined;
    }
    const docEdit = change as LspTextDocumentEdit;
    found.push({ uri: docEdit.textDocument.uri, version: docEdit.textDocument.version, edits: docEdit.edits });
  }
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    found.push({ uri, edits });
  }
  if (found.length === 0 || found.some((f) => f.uri !== found[0].uri)) {
    return undefined;
  }
  return {
    uri: found[0].uri,
    version: found.find((f) => f.version !== undefined)?.version,
    edits: found.flatMap((f) => f.edits.map(({ range, newText }) => ({ range, newText }))),
  };
}
