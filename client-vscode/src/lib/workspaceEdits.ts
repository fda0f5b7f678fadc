/**
 * Reading LSP WorkspaceEdits (from `sparkforge/chatApply`) without `vscode`: whether one is a
 * plain change to a single document, which the client can show as a diff of that document.
 */

import type { LspWorkspaceEdit, TextEdit } from '../protocol';
import { summarizeEdit } from './actionEdit';

export interface SingleDocumentEdit {
  uri: string;
  /** The version the edits were made for; null/undefined when the server did not say. */
  version?: number | null;
  edits: TextEdit[];
}

/** The edit's text edits if they all touch one document and nothing else happens. */
export function singleDocumentEdit(edit: LspWorkspaceEdit): SingleDocumentEdit | undefined {
  if (edit.documentChanges?.some((change) => 'kind' in change)) {
    return undefined;
  }
  const { textEdits } = summarizeEdit(edit);
  if (textEdits.size !== 1) {
    return undefined;
  }
  const [[uri, { version, edits }]] = textEdits;
  return { uri, version: version ?? undefined, edits };
}
