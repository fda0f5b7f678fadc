/**
 * "Apply" of a chat code block, for the usual case of a change to one file: the file is shown
 * in a diff editor beside the proposed text (a virtual document), and a notification asks to
 * apply or discard it.
 */

import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyEdits, checkEdits, splitLines } from '../lib/editLayout';
import type { TextEdit } from '../protocol';
import { askToApply, VirtualTexts } from '../proposalDiff';

export type ReviewOutcome = 'apply' | 'discard' | 'unchanged';

export class ProposalReview implements vscode.Disposable {
  private readonly texts = new VirtualTexts('sparkforge-proposal');

  dispose(): void {
    this.texts.dispose();
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
    const proposal = this.texts.add(proposed, document.uri);
    const name = path.basename(document.uri.path) || 'Untitled';
    try {
      const apply = await askToApply([[document.uri, document.uri, proposal]], { one: `${name} ↔ sparkforge proposal` }, [
        vscode.workspace.asRelativePath(document.uri),
      ]);
      return apply ? 'apply' : 'discard';
    } finally {
      this.texts.delete(proposal);
    }
  }
}
