/**
 * `sparkforge.applyAction`: a resolved code action's edit, applied in one click.
 *
 * The middleware in codeActions.ts takes the edit out of the resolved action and gives the
 * action this command instead, so VS Code never opens its refactor preview (where a change
 * that needs confirmation starts unticked). The command applies the edit with
 * `workspace.applyEdit` (one undo step), highlights the changed lines until the document's
 * next edit, and says what happened: "Documented `split_bill`" with Undo and Show diff.
 * Generate tests opens the test file beside the source. With `sparkforge.actions.preview`
 * (`always`, or `multiFile` for an edit that touches several files or creates one) the change
 * is first shown as a diff with Apply / Discard.
 */

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient, WorkspaceEdit as ProtocolWorkspaceEdit } from 'vscode-languageclient/node';
import { changedLines, doneTitle, shouldPreview, summarizeEdit, textAfter, type EditSummary, type LineSpan } from './lib/actionEdit';
import type { LspWorkspaceEdit } from './protocol';
import { askToApply, VirtualTexts, type ProposedDiff } from './proposalDiff';
import { actionsPreview } from './settings';

export const APPLY_ACTION = 'sparkforge.applyAction';

/** The argument of `sparkforge.applyAction`. */
export interface ApplyActionArgs {
  /** The LSP WorkspaceEdit, with no annotation needing confirmation. */
  edit: LspWorkspaceEdit;
  /** The action's title: "Document split_bill with sparkforge". */
  title: string;
  /** The action's data (kind, uri, name), as the server sent it. */
  data?: { kind?: unknown; uri?: unknown; name?: unknown };
}

/** "Before" texts kept for Show diff (older ones are dropped). */
const KEEP_TEXTS = 40;

/** "Document split_bill with sparkforge" -> "Document split_bill". */
function plainTitle(title: string): string {
  return title.replace(/\s+with sparkforge…?$/u, '').replace(/…$/u, '');
}

/** The document of `uri` if it is open. */
function openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
}

interface FileState {
  uri: vscode.Uri;
  /** The text before the edit ('' for a file the edit creates). */
  before: string;
  created: boolean;
}

export class ActionApplier implements vscode.Disposable {
  private readonly texts = new VirtualTexts('sparkforge-action', KEEP_TEXTS);
  /** Changed lines per document, shown until its next edit after `version`. */
  private readonly highlights = new Map<string, { version: number; spans: LineSpan[] }>();
  private readonly highlightType = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly clientOf: () => LanguageClient | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.highlightType,
      this.texts,
      vscode.commands.registerCommand(APPLY_ACTION, (args: ApplyActionArgs) => this.run(args)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        const h = this.highlights.get(e.document.uri.toString());
        if (h && e.contentChanges.length > 0 && e.document.version > h.version) {
          this.highlights.delete(e.document.uri.toString());
          this.draw(e.document.uri.toString());
        }
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.highlights.delete(d.uri.toString())),
      vscode.window.onDidChangeVisibleTextEditors(() => {
        for (const uri of this.highlights.keys()) {
          this.draw(uri);
        }
      }),
    );
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  async run(args: ApplyActionArgs): Promise<boolean> {
    const client = this.clientOf();
    if (!client) {
      void vscode.window.showWarningMessage('sparkforge: the server is not running; nothing was applied.');
      return false;
    }
    const done = doneTitle(args.title, args.data);
    const summary = summarizeEdit(args.edit);
    const stale = this.staleFile(summary);
    if (stale) {
      void vscode.window.showWarningMessage(
        `sparkforge: ${vscode.workspace.asRelativePath(stale)} changed while the action was running; nothing was applied. Run it again.`,
      );
      return false;
    }
    const files = await this.readBefore(summary);
    const source = typeof args.data?.uri === 'string' ? args.data.uri : undefined;
    const scope = source ? vscode.Uri.parse(source) : files[0]?.uri;
    if (shouldPreview(actionsPreview(scope), summary)) {
      const accepted = await this.preview(plainTitle(args.title), summary, files);
      if (!accepted) {
        vscode.window.setStatusBarMessage('sparkforge: change discarded', 3000);
        return false;
      }
      // The user may have typed while the diff was shown.
      const nowStale = this.staleFile(summary);
      if (nowStale) {
        void vscode.window.showWarningMessage(
          `sparkforge: ${vscode.workspace.asRelativePath(nowStale)} changed during the review; nothing was applied. Run the action again.`,
        );
        return false;
      }
    }
    const edit = await client.protocol2CodeConverter.asWorkspaceEdit(args.edit as unknown as ProtocolWorkspaceEdit);
    let applied = false;
    let reason = '';
    try {
      applied = edit !== undefined && (await vscode.workspace.applyEdit(edit));
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (!applied) {
      this.log.warn(`${APPLY_ACTION}: VS Code did not apply "${args.title}"${reason ? `: ${reason}` : ''}`);
      void vscode.window.showWarningMessage(
        `sparkforge: ${plainTitle(args.title)}: VS Code did not apply the change${reason ? ` (${reason})` : ''}; nothing was changed.`,
      );
      return false;
    }
    await this.report(done, args, summary, files);
    return true;
  }

  /** A file the edit was made for another version of (VS Code would apply it to the wrong text). */
  private staleFile(summary: EditSummary): vscode.Uri | undefined {
    for (const [uri, { version }] of summary.textEdits) {
      if (version === null) {
        continue;
      }
      const open = openDocument(vscode.Uri.parse(uri));
      if (open && open.version !== version) {
        return open.uri;
      }
    }
    return undefined;
  }

  private async readBefore(summary: EditSummary): Promise<FileState[]> {
    const files: FileState[] = [];
    for (const uri of summary.textEdits.keys()) {
      const parsed = vscode.Uri.parse(uri);
      const created = summary.created.includes(uri);
      let before = '';
      if (!created) {
        try {
          before = (await vscode.workspace.openTextDocument(parsed)).getText();
        } catch {
          before = '';
        }
      }
      files.push({ uri: parsed, before, created });
    }
    return files;
  }

  private eolOf(uri: vscode.Uri): string {
    const open = openDocument(uri);
    return open?.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  }

  /** Shows the proposed change as a diff and asks; true for Apply. */
  private async preview(action: string, summary: EditSummary, files: FileState[]): Promise<boolean> {
    const title = `sparkforge proposal: ${action}`;
    const diffs: ProposedDiff[] = [];
    for (const file of files) {
      const proposed = textAfter(file.before, summary.textEdits.get(file.uri.toString())?.edits ?? [], this.eolOf(file.uri));
      if (proposed === undefined) {
        continue;
      }
      const left = file.created ? this.texts.add('', file.uri, 'empty') : file.uri;
      diffs.push([file.uri, left, this.texts.add(proposed, file.uri, 'proposed')]);
    }
    const relative = (uri: string) => vscode.workspace.asRelativePath(vscode.Uri.parse(uri));
    const names = summary.files.map(relative);
    const ops = summary.operations
      .filter((o) => o.kind !== 'create')
      .map((o) => `${o.kind === 'delete' ? 'deletes' : 'renames'} ${relative(o.uri)}`);
    const created = summary.created.map((c) => `creates ${relative(c)}`);
    const one = diffs.length === 1 ? `${path.basename(diffs[0][0].path)} ↔ ${title}` : title;
    return askToApply(diffs, { one, several: title }, names, [...created, ...ops]);
  }

  /** Highlights the changed lines, opens what needs opening, and says what changed. */
  private async report(done: string, args: ApplyActionArgs, summary: EditSummary, files: FileState[]): Promise<void> {
    const source = typeof args.data?.uri === 'string' ? vscode.Uri.parse(args.data.uri).toString() : undefined;
    for (const file of files) {
      const uri = file.uri.toString();
      const document = await vscode.workspace.openTextDocument(file.uri).then(
        (d) => d,
        () => undefined,
      );
      const spans = changedLines(file.before, summary.textEdits.get(uri)?.edits ?? []);
      if (document && spans.length > 0) {
        this.highlights.set(uri, { version: document.version, spans });
        this.draw(uri);
      }
    }
    // Generate tests: the test file (new or extended) beside the source.
    const others = files.filter((f) => f.uri.toString() !== source);
    const main = args.data?.kind === 'tests' && others.length > 0 ? others[0] : files.find((f) => f.uri.toString() === source) ?? files[0];
    if (main) {
      const spans = this.highlights.get(main.uri.toString())?.spans ?? [];
      const at = spans.length > 0 ? new vscode.Range(spans[0].start, 0, spans[0].end, 0) : undefined;
      if (args.data?.kind === 'tests' && main.uri.toString() !== source) {
        const editor = await vscode.window.showTextDocument(main.uri, { viewColumn: vscode.ViewColumn.Beside, preview: false });
        if (at) {
          editor.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
        }
      } else if (at) {
        const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === main.uri.toString());
        editor?.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      }
    }
    void this.notify(done, main, files);
  }

  private draw(uri: string): void {
    const spans = this.highlights.get(uri)?.spans ?? [];
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri) {
        editor.setDecorations(
          this.highlightType,
          spans.map((s) => new vscode.Range(s.start, 0, s.end, 0)),
        );
      }
    }
  }

  private async notify(done: string, main: FileState | undefined, files: FileState[]): Promise<void> {
    const document = main && openDocument(main.uri);
    const version = document?.version;
    const befores = files.map((f) => ({ file: f, before: this.texts.add(f.before, f.uri, 'before') }));
    const choice = await vscode.window.showInformationMessage(done, 'Undo', 'Show diff');
    if (choice === 'Undo' && main) {
      const now = openDocument(main.uri);
      if (!now || now.version !== version) {
        void vscode.window.showWarningMessage(
          `sparkforge: ${vscode.workspace.asRelativePath(main.uri)} has changed since; undo with Ctrl+Z (Cmd+Z) in the editor.`,
        );
        return;
      }
      await vscode.window.showTextDocument(now, { preview: false });
      await vscode.commands.executeCommand('undo');
    } else if (choice === 'Show diff') {
      const title = `${done} (before ↔ now)`;
      if (befores.length === 1) {
        const { file, before } = befores[0];
        await vscode.commands.executeCommand('vscode.diff', before, file.uri, `${path.basename(file.uri.path)}: ${title}`);
      } else if (befores.length > 1) {
        await vscode.commands.executeCommand(
          'vscode.changes',
          `sparkforge: ${title}`,
          befores.map(({ file, before }) => [file.uri, before, file.uri]),
        );
      }
    }
  }
}
