/**
 * Next-edit suggestions: `sparkforge/nextEdit` after you type or move the cursor, drawn as an
 * inline diff (removed text struck through in red, inserted text in green). Tab jumps to the
 * edit, then applies it; Escape dismisses it. Any change to the text clears a suggestion: it
 * was computed for a version that no longer exists.
 */

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { ProgressType } from 'vscode-languageclient/node';
import { cursorAfterEdits, layoutNextEdit, NextEditLayout, splitLines } from './lib/editLayout';
import { acceptanceKey, leftNeighbourhood, singleCursor, tabShouldIndent } from './lib/nextEditGuards';
import type { InlineCompletionFeedback } from './inline';
import { Method, NextEditPartialResult, NextEditResult, Position, Range, TextEdit } from './protocol';
import type { SparkforgeServer } from './server';
import { nextEditEnabled } from './settings';

const TYPING_DELAY_MS = 75;
const CURSOR_DELAY_MS = 150;
const CONTEXT_KEY = 'sparkforge.nextEditVisible';
/** True while Tab should indent rather than jump to or apply the next edit (keybinding guard). */
const TAB_INDENTS_KEY = 'sparkforge.nextEditTabIndents';
const TAB_INDENTS_HINT = 'next edit · Tab indents on this line · Esc to dismiss';
const SCHEMES = new Set(['file', 'untitled']);

/** `$/progress` values: hunks that became final, appended to the earlier ones. */
const partialNextEdit = new ProgressType<NextEditPartialResult>();

interface Snapshot {
  editor: vscode.TextEditor;
  uri: string;
  version: number;
  lines: string[];
  eol: string;
  /** The cursor's line when the suggestion was asked for. */
  askedAt: number;
}

interface Suggestion extends Snapshot {
  /** Undefined while only partial results have arrived. */
  id: string | undefined;
  /** The request it came from. */
  flight: InFlight;
  edits: TextEdit[];
  cursor?: Position;
  layout: NextEditLayout;
}

interface InFlight {
  key: string;
  tokenSource: vscode.CancellationTokenSource;
  /** Asked for with `sparkforge: Suggest Next Edit`: an empty answer is reported. */
  manual: boolean;
}

/** Feedback for `sparkforge: Suggest Next Edit` when nothing is drawn (else it looks broken). */
function nothingToSuggest(message: string): void {
  vscode.window.setStatusBarMessage(`$(sparkle) sparkforge: ${message}`, 3000);
}

function toRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

function toPosition(p: Position): vscode.Position {
  return new vscode.Position(p.line, p.character);
}

function keyOf(editor: vscode.TextEditor): string {
  const { line, character } = editor.selection.active;
  return `${editor.document.uri.toString()}@${editor.document.version}:${line}:${character}`;
}

export class NextEditController implements vscode.Disposable {
  private readonly removedType = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    textDecoration: 'line-through',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  private readonly insertedType = vscode.window.createTextEditorDecorationType({
    after: {
      backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
      color: new vscode.ThemeColor('editor.foreground'),
    },
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  private readonly hintType = vscode.window.createTextEditorDecorationType({
    after: {
      color: new vscode.ThemeColor('editorCodeLens.foreground'),
      fontStyle: 'italic',
      margin: '0 0 0 2ch',
    },
  });
  private readonly jumpGutterType: vscode.TextEditorDecorationType;

  private timer: NodeJS.Timeout | undefined;
  private inFlight: InFlight | undefined;
  private lastKey: string | undefined;
  private current: Suggestion | undefined;
  private readonly shownIds = new Set<string>();
  /** Suggestions accepted on a given text: after an undo, the same one is not offered again. */
  private readonly acceptedKeys = new Set<string>();
  private tabIndents = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly server: SparkforgeServer,
    private readonly inline: InlineCompletionFeedback,
    private readonly log: vscode.LogOutputChannel,
    extensionUri: vscode.Uri,
  ) {
    this.jumpGutterType = vscode.window.createTextEditorDecorationType({
      gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', 'next-edit.svg'),
      gutterIconSize: 'contain',
    });
    this.disposables.push(
      this.removedType,
      this.insertedType,
      this.hintType,
      this.jumpGutterType,
      vscode.workspace.onDidChangeTextDocument((e) => this.onDidChangeText(e)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onDidChangeSelection(e)),
      vscode.window.onDidChangeActiveTextEditor(() => this.cancelAndClear()),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
        if (e.textEditor === this.current?.editor) {
          this.render();
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('sparkforge.nextEdit.enabled')) {
          this.cancelAndClear();
        }
      }),
      server.onDidChangeState((state) => {
        if (state !== 'running') {
          this.cancelAndClear();
        }
      }),
      vscode.commands.registerCommand('sparkforge.nextEdit.acceptOrJump', () => this.acceptOrJump()),
      vscode.commands.registerCommand('sparkforge.nextEdit.dismiss', () => this.dismiss()),
      vscode.commands.registerCommand('sparkforge.nextEdit.trigger', () => this.request(true)),
    );
  }

  dispose(): void {
    this.cancelAndClear();
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, false);
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  // -- triggers -------------------------------------------------------------------------------

  private onDidChangeText(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) {
      return;
    }
    if (this.current && this.current.editor.document === e.document) {
      this.clear();
    }
    const editor = vscode.window.activeTextEditor;
    if (editor?.document === e.document) {
      // The text changed: whatever is in flight is for a version that is gone.
      this.cancelInFlight();
      this.schedule(TYPING_DELAY_MS);
    }
  }

  private onDidChangeSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    if (e.textEditor !== vscode.window.activeTextEditor) {
      return;
    }
    if (this.current) {
      // A visible suggestion stays while the cursor moves nearby (Tab may jump to it) and its
      // hints follow; it goes once the cursor walks away, or when a second cursor appears.
      if (this.current.editor === e.textEditor) {
        const s = this.current;
        const edits = s.edits.map((edit) => ({ start: edit.range.start.line, end: edit.range.end.line }));
        if (!singleCursor(e.selections.length) || leftNeighbourhood(e.selections[0].active.line, s.askedAt, edits)) {
          this.clear();
          return;
        }
        this.render();
      }
      return;
    }
    if (this.inFlight && this.inFlight.key !== keyOf(e.textEditor)) {
      this.cancelInFlight();
    }
    this.schedule(CURSOR_DELAY_MS);
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.request(false), delay);
  }

  private cancelInFlight(): void {
    if (this.inFlight) {
      this.inFlight.tokenSource.cancel();
      this.inFlight = undefined;
      this.lastKey = undefined;
    }
  }

  // -- the request ----------------------------------------------------------------------------

  private async request(manual: boolean): Promise<void> {
    clearTimeout(this.timer);
    const editor = vscode.window.activeTextEditor;
    const client = this.server.running;
    if (!editor || !client || !SCHEMES.has(editor.document.uri.scheme) || !editor.selection.isEmpty) {
      if (manual) {
        nothingToSuggest(
          !client
            ? 'the server is not running'
            : !editor || !SCHEMES.has(editor.document.uri.scheme)
              ? 'open a file to get a next edit'
              : 'clear the selection to get a next edit',
        );
      }
      return;
    }
    if (!manual && (!nextEditEnabled(editor.document) || this.current || this.inline.isLikelyVisible(editor))) {
      return;
    }
    const key = keyOf(editor);
    if (!manual && (key === this.lastKey || this.inFlight?.key === key)) {
      return;
    }
    this.cancelInFlight();
    if (manual) {
      this.clear();
    }
    this.lastKey = key;
    const document = editor.document;
    const snapshot: Snapshot = {
      editor,
      uri: document.uri.toString(),
      version: document.version,
      lines: splitLines(document.getText()),
      eol: document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n',
      askedAt: editor.selection.active.line,
    };
    const tokenSource = new vscode.CancellationTokenSource();
    const flight: InFlight = { key, tokenSource, manual };
    this.inFlight = flight;
    const partialResultToken = randomUUID();
    const partialEdits: TextEdit[] = [];
    const progress = client.onProgress(partialNextEdit, partialResultToken, (partial) => {
      if (!tokenSource.token.isCancellationRequested && Array.isArray(partial?.edits) && partial.edits.length > 0) {
        partialEdits.push(...partial.edits);
        this.show(snapshot, flight, undefined, partialEdits);
      }
    });
    try {
      const result = await this.server.request(
        Method.nextEdit,
        {
          textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri), version: document.version },
          position: { line: editor.selection.active.line, character: editor.selection.active.character },
          partialResultToken,
        },
        tokenSource.token,
      );
      if (!tokenSource.token.isCancellationRequested) {
        if (result && Array.isArray(result.edits) && result.edits.length > 0) {
          this.show(snapshot, flight, result, result.edits);
        } else {
          if (this.current?.flight === flight) {
            // The server withdrew what it reported early.
            this.clear();
          }
          if (manual) {
            nothingToSuggest('no next edit to suggest here');
          }
        }
      }
    } catch (err) {
      if (!tokenSource.token.isCancellationRequested) {
        const message = `sparkforge/nextEdit failed: ${err instanceof Error ? err.message : String(err)}`;
        if (manual) {
          this.log.warn(message);
          nothingToSuggest('the next-edit request failed (see sparkforge: Show Output)');
        } else {
          this.log.debug(message);
        }
      }
    } finally {
      progress.dispose();
      if (this.inFlight === flight) {
        this.inFlight = undefined;
      }
      tokenSource.dispose();
    }
  }

  /** Draws a result, or the partial edits of a request still running (`result` undefined). */
  private show(snapshot: Snapshot, flight: InFlight, result: NextEditResult | undefined, edits: TextEdit[]): void {
    const { editor } = snapshot;
    if (editor !== vscode.window.activeTextEditor || editor.document.version !== snapshot.version) {
      return;
    }
    if (this.inline.isLikelyVisible(editor) || (this.current && this.current.flight !== flight)) {
      return;
    }
    if (!singleCursor(editor.selections.length) || this.wasAccepted(snapshot, edits)) {
      return; // several cursors; or accepted on this very text, then undone
    }
    const layout = layoutNextEdit(snapshot.lines, snapshot.eol, edits, editor.selection.active);
    if (!layout) {
      this.log.debug(`sparkforge/nextEdit ${result?.id ?? '(partial)'}: edits out of range, overlapping or without effect; ignored`);
      if (result && flight.manual) {
        nothingToSuggest('no next edit to suggest here');
      }
      if (this.current?.flight === flight) {
        this.clear();
      }
      return;
    }
    this.current = { ...snapshot, flight, id: result?.id, edits: [...edits], cursor: result?.cursor, layout };
    this.render();
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, true);
    const id = result?.id;
    if (id && !this.shownIds.has(id)) {
      this.shownIds.add(id);
      if (this.shownIds.size > 256) {
        this.shownIds.delete(this.shownIds.values().next().value as string);
      }
      this.server.notify(Method.didShow, { id });
    }
  }

  /** The same edits were accepted on this very text (the text is hashed only if any were). */
  private wasAccepted(snapshot: Snapshot, edits: TextEdit[]): boolean {
    return this.acceptedKeys.size > 0 && this.acceptedKeys.has(acceptanceKey(snapshot.uri, snapshot.lines.join('\n'), edits));
  }

  // -- drawing ----------------------------------------------------------------------------------

  private render(): void {
    const s = this.current;
    if (!s) {
      return;
    }
    const layout = layoutNextEdit(s.lines, s.eol, s.edits, s.editor.selection.active) ?? s.layout;
    s.layout = layout;
    this.setTabIndents(s.editor, layout.atCursor);
    const language = s.editor.document.languageId;
    s.editor.setDecorations(
      this.removedType,
      layout.removed.map((r) => ({ range: toRange(r) })),
    );
    s.editor.setDecorations(
      this.insertedType,
      layout.inserted.map((ins) => {
        const at = toPosition(ins.position);
        return {
          range: new vscode.Range(at, at),
          hoverMessage: new vscode.MarkdownString().appendText('sparkforge suggests:\n').appendCodeblock(ins.text, language),
          renderOptions: { after: { contentText: ins.label } },
        };
      }),
    );
    // On a blank or indentation-only line Tab indents (the keybinding steps aside): say so.
    const hintText = this.tabIndents ? TAB_INDENTS_HINT : layout.hint.text;
    const hints: vscode.DecorationOptions[] = [this.hintAt(layout.hint.line, hintText)];
    const target = toPosition(layout.target);
    if (layout.cursorHint && !s.editor.visibleRanges.some((r) => r.contains(target))) {
      hints.push(this.hintAt(layout.cursorHint.line, layout.cursorHint.text));
    }
    s.editor.setDecorations(this.hintType, hints);
    s.editor.setDecorations(
      this.jumpGutterType,
      layout.atCursor ? [] : [{ range: new vscode.Range(target, target) }],
    );
  }

  private hintAt(line: number, text: string): vscode.DecorationOptions {
    const end = this.current!.editor.document.lineAt(Math.min(line, this.current!.editor.document.lineCount - 1)).range.end;
    return { range: new vscode.Range(end, end), renderOptions: { after: { contentText: text } } };
  }

  private clear(): void {
    const s = this.current;
    this.current = undefined;
    if (s) {
      for (const type of [this.removedType, this.insertedType, this.hintType, this.jumpGutterType]) {
        s.editor.setDecorations(type, []);
      }
      void vscode.commands.executeCommand('setContext', CONTEXT_KEY, false);
    }
    this.setTabIndentsTo(false);
  }

  private setTabIndents(editor: vscode.TextEditor, suggestionAtCursor: boolean): void {
    const active = editor.selection.active;
    const before = editor.document.lineAt(active.line).text.slice(0, active.character);
    this.setTabIndentsTo(tabShouldIndent(before, suggestionAtCursor));
  }

  private setTabIndentsTo(value: boolean): void {
    if (value !== this.tabIndents) {
      this.tabIndents = value;
      void vscode.commands.executeCommand('setContext', TAB_INDENTS_KEY, value);
    }
  }

  private cancelAndClear(): void {
    clearTimeout(this.timer);
    this.cancelInFlight();
    this.clear();
  }

  // -- keys -----------------------------------------------------------------------------------

  private async acceptOrJump(): Promise<void> {
    const s = this.current;
    const editor = vscode.window.activeTextEditor;
    if (!s || editor !== s.editor) {
      this.clear();
      return;
    }
    if (!singleCursor(editor.selections.length)) {
      // The keybinding's guard had not caught up with a new cursor: Tab does what it does.
      this.clear();
      await vscode.commands.executeCommand('tab');
      return;
    }
    if (editor.document.version !== s.version) {
      this.clear();
      vscode.window.setStatusBarMessage('sparkforge: that suggestion was for an older version of the text', 3000);
      return;
    }
    const layout = layoutNextEdit(s.lines, s.eol, s.edits, editor.selection.active);
    if (!layout) {
      this.clear();
      return;
    }
    const active = editor.selection.active;
    if (tabShouldIndent(editor.document.lineAt(active.line).text.slice(0, active.character), layout.atCursor)) {
      // Nor with the cursor moved to a blank line: Tab indents there (the guard's own rule).
      await vscode.commands.executeCommand('tab');
      return;
    }
    if (!layout.atCursor) {
      const target = toPosition(layout.target);
      editor.selection = new vscode.Selection(target, target);
      editor.revealRange(new vscode.Range(target, target), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      this.render();
      return;
    }
    // `s` keeps what is needed: the decorations must go before the text changes.
    this.clear();
    const cursor = s.cursor ?? cursorAfterEdits(s.lines, s.eol, s.edits);
    let applied = false;
    try {
      applied = await editor.edit(
        (builder) => {
          for (const edit of s.edits) {
            builder.replace(toRange(edit.range), edit.newText);
          }
        },
        { undoStopBefore: true, undoStopAfter: true },
      );
    } catch (err) {
      this.log.warn(`Applying next edit ${s.id} failed: ${String(err)}`);
    }
    if (!applied) {
      vscode.window.setStatusBarMessage('sparkforge: the suggestion could not be applied', 3000);
      return;
    }
    this.acceptedKeys.add(acceptanceKey(s.uri, s.lines.join('\n'), s.edits));
    if (this.acceptedKeys.size > 64) {
      this.acceptedKeys.delete(this.acceptedKeys.values().next().value as string);
    }
    if (s.id) {
      this.server.notify(Method.didAccept, { id: s.id });
    }
    if (cursor) {
      const at = editor.document.validatePosition(toPosition(cursor));
      editor.selection = new vscode.Selection(at, at);
      editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }

  private dismiss(): void {
    const s = this.current;
    this.clear();
    if (s?.id) {
      this.server.notify(Method.didReject, { id: s.id });
    }
  }
}
