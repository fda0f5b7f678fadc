/**
 * A proposed change shown before it is applied, for the chat's Apply (chat/proposal.ts) and a
 * code action with `sparkforge.actions.preview` (actionApply.ts): texts served as virtual
 * documents, a diff editor of each file against its proposal, and one notification that asks
 * to apply or discard it. The diff is closed whatever the answer.
 */

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';

/** Texts served as read-only documents on one URI scheme, each under a key of its own. */
export class VirtualTexts implements vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly registration: vscode.Disposable;

  /** `limit`: how many texts are kept (the oldest go first). */
  constructor(
    private readonly scheme: string,
    private readonly limit = Infinity,
  ) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(scheme, {
      provideTextDocumentContent: (uri) => this.texts.get(uri.query) ?? '',
    });
  }

  dispose(): void {
    this.registration.dispose();
  }

  /** A document holding `text`, on `file`'s path (so its language and icon); the fragment names it. */
  add(text: string, file: vscode.Uri, fragment?: string): vscode.Uri {
    const key = randomUUID();
    this.texts.set(key, text);
    while (this.texts.size > this.limit) {
      this.texts.delete(this.texts.keys().next().value as string);
    }
    return vscode.Uri.from({ scheme: this.scheme, path: file.path, query: key, fragment });
  }

  delete(uri: vscode.Uri): void {
    this.texts.delete(uri.query);
  }
}

/** A file, what its diff shows on the left, and the proposal on the right. */
export type ProposedDiff = [resource: vscode.Uri, left: vscode.Uri, right: vscode.Uri];

/**
 * Shows the diffs (one: `vscode.diff` titled `titles.one`; several: `vscode.changes` titled
 * `titles.several`), asks "sparkforge: apply the proposed change to <names>?" with Apply and
 * Discard (`effects`, such as "creates tests/test_a.py", in brackets after it), and closes the
 * diffs. True for Apply.
 */
export async function askToApply(
  diffs: ProposedDiff[],
  titles: { one: string; several?: string },
  names: string[],
  effects: string[] = [],
): Promise<boolean> {
  try {
    if (diffs.length === 1) {
      const [, left, right] = diffs[0];
      await vscode.commands.executeCommand('vscode.diff', left, right, titles.one, { preview: true });
    } else if (diffs.length > 1) {
      await vscode.commands.executeCommand('vscode.changes', titles.several, diffs);
    }
    const choice = await vscode.window.showInformationMessage(
      `sparkforge: apply the proposed change to ${names.join(', ')}?${effects.length ? ` (It ${effects.join(', ')}.)` : ''}`,
      'Apply',
      'Discard',
    );
    return choice === 'Apply';
  } finally {
    await closeDiffs(
      diffs.map(([, , right]) => right.toString()),
      titles.several,
    );
  }
}

async function closeDiffs(proposals: string[], severalTitle: string | undefined): Promise<void> {
  const tabs = vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter(
      (tab) =>
        (tab.input instanceof vscode.TabInputTextDiff && proposals.includes(tab.input.modified.toString())) ||
        (severalTitle !== undefined && tab.label === severalTitle),
    );
  if (tabs.length > 0) {
    await vscode.window.tabGroups.close(tabs);
  }
}
