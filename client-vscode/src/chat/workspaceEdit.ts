/**
 * An LSP WorkspaceEdit from `sparkforge/chatApply` as a VS Code WorkspaceEdit. With
 * `needsConfirmation` every entry is marked so, and VS Code opens its refactor preview (with
 * the entries unticked: the user ticks what to apply). A text edit made for another version of
 * an open document is refused, never applied to the wrong text.
 */

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { LspChangeAnnotation, LspCreateFile, LspTextDocumentEdit, LspWorkspaceEdit, TextEdit } from '../protocol';

export class StaleEditError extends Error {}

const DEFAULT_LABEL = 'sparkforge: code from the chat';

export function toWorkspaceEdit(
  edit: LspWorkspaceEdit,
  client: LanguageClient,
  options: { needsConfirmation: boolean },
): vscode.WorkspaceEdit {
  const result = new vscode.WorkspaceEdit();
  const annotations = edit.changeAnnotations ?? {};
  const metadata = (annotationId?: string): vscode.WorkspaceEditEntryMetadata => {
    const a: LspChangeAnnotation | undefined = annotationId ? annotations[annotationId] : undefined;
    return { needsConfirmation: options.needsConfirmation, label: a?.label ?? DEFAULT_LABEL, description: a?.description };
  };
  const addEdits = (uri: vscode.Uri, edits: Array<TextEdit & { annotationId?: string }>) => {
    for (const e of edits) {
      result.replace(uri, client.protocol2CodeConverter.asRange(e.range), e.newText, metadata(e.annotationId));
    }
  };
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) {
      if (change.kind !== 'create') {
        throw new Error(`sparkforge: a ${change.kind} operation is not applied from the chat`);
      }
      const create = change as LspCreateFile;
      result.createFile(client.protocol2CodeConverter.asUri(create.uri), create.options ?? {}, metadata(create.annotationId));
      continue;
    }
    const docEdit = change as LspTextDocumentEdit;
    const uri = client.protocol2CodeConverter.asUri(docEdit.textDocument.uri);
    const version = docEdit.textDocument.version;
    if (version !== null && version !== undefined) {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      if (open && open.version !== version) {
        throw new StaleEditError(
          `${vscode.workspace.asRelativePath(uri)} changed while the change was being prepared; apply again.`,
        );
      }
    }
    addEdits(uri, docEdit.edits);
  }
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    addEdits(client.protocol2CodeConverter.asUri(uri), edits);
  }
  return result;
}
