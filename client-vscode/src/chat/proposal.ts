/**
 * "Apply" of a chat code block, for the usual case of a change to one file: the file is shown
 * in a diff editor beside the proposed text (a virtual document), and a notification asks to
 * apply or discard it.
 */

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyEdits, checkEdits, splitLines } from '../lib/editLayout';
import type { TextEdit } from '../protocol';

const SCHEME = 'sparkforge-proposal';

export type ReviewOutcome = 'apply' | 'discard' | 'unchanged';

export class ProposalReview implements vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
    provideTextDocumentContent: (uri) => this.texts.get(uri.query) ?? '',
  });

  dispose(): void {
    this.registration.dispose();
  }

  /** Shows the proposed text of `document` after `edits` and asks whether to apply it. */
  async review(document: vscode.TextDocument, edits: TextEdit[]): Promise<ReviewOutcome> {
    const original = document.getText();
    const lines = splitLines(original);
    const checked = checkEdits(lines, edits);
    if (!checked) {
      throw new Error('the proposed change does not fit the file (out of range or overlapping edits)');
    }
    const proposed = applyEdits(lines, document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n', checked);
    if (proposed === original) {
      return 'unchanged';
    }
    const key = randomUUID();
    this.texts.set(key, proposed);
    // The same path (so the same language and icon), on the proposal scheme.
    const proposal = vscode.Uri.from({ scheme: SCHEME, path: document.uri.path, query: key });
    const name = path.basename(document.uri.path) || 'Untitled';
    try {
      await vscode.commands.executeCommand('vscode.diff', document.uri, proposal, `${name} ↔ sparkforge proposal`, {
        preview: true,
      });
      const choice = await vscode.window.showInformationMessage(
        `sparkforge: apply the proposed change to ${vscode.workspace.asRelativePath(document.uri)}?`,
        'Apply',
        'Discard',
      );
      return choice === 'Apply' ? 'apply' : 'discard';
    } finally {
      await this.closeDiff(proposal);
      this.texts.delete(key);
    }
  }

  private async closeDiff(proposal: vscode.Uri): Promise<void> {
    const tabs = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.toString() === proposal.toString());
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs);
    }
  }
}
