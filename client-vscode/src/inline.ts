/**
 * Ghost text. vscode-languageclient (v10+) already implements `textDocument/inlineCompletion`;
 * this module adds what VS Code's stable API leaves out: telling the server what was shown
 * (`sparkforge/didShow`: VS Code's `handleDidShowCompletionItem` is a proposed API, so an item
 * counts as shown when it is handed to VS Code for a request that was not cancelled) and what
 * was accepted (the item's `sparkforge.acceptSuggestion` command), plus a guess at whether ghost text
 * is on screen, so that next-edit suggestions do not draw over it.
 */

import * as vscode from 'vscode';
import type { LanguageClient, Middleware } from 'vscode-languageclient/node';
import { Command, feedbackOf, Method } from './protocol';
import type { SparkforgeServer } from './server';
import { inlineEnabled } from './settings';

const REMEMBERED_IDS = 256;

interface Shown {
  uri: string;
  version: number;
  position: vscode.Position;
}

export class InlineCompletionFeedback implements vscode.Disposable {
  private acceptCommand: vscode.Disposable | undefined;
  private readonly shownIds = new Set<string>();
  private lastShown: Shown | undefined;
  private server: SparkforgeServer | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  readonly middleware: Middleware = {
    provideInlineCompletionItems: async (document, position, context, token, next) => {
      if (!inlineEnabled(document)) {
        return null;
      }
      const result = await next(document, position, context, token);
      if (token.isCancellationRequested) {
        return result;
      }
      const items = !result ? [] : Array.isArray(result) ? result : result.items;
      const first = items[0];
      if (!first) {
        this.lastShown = undefined;
        return result;
      }
      this.lastShown = { uri: document.uri.toString(), version: document.version, position };
      const feedback = feedbackOf(first.command?.arguments);
      if (feedback && !this.shownIds.has(feedback.id)) {
        this.remember(feedback.id);
        this.server?.notify(Method.didShow, { id: feedback.id });
      }
      return result;
    },
  };

  /** Wires the accept command to each new client: the server's own, else a local one. */
  attach(server: SparkforgeServer): void {
    this.server = server;
    this.disposables.push(
      server.onDidCreateClient(() => this.disposeAcceptCommand()),
      server.onDidStart((client) => void this.registerAcceptCommand(client)),
    );
  }

  /** True when ghost text was handed to VS Code for this editor's current text and cursor. */
  isLikelyVisible(editor: vscode.TextEditor): boolean {
    const shown = this.lastShown;
    return (
      shown !== undefined &&
      shown.uri === editor.document.uri.toString() &&
      shown.version === editor.document.version &&
      editor.selection.active.isEqual(shown.position)
    );
  }

  dispose(): void {
    this.disposeAcceptCommand();
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private async registerAcceptCommand(client: LanguageClient): Promise<void> {
    // A server that lists sparkforge.acceptSuggestion in executeCommandProvider gets it through
    // workspace/executeCommand (the language client registered it); otherwise it is ours.
    const commands = await vscode.commands.getCommands(true);
    if (commands.includes(Command.acceptSuggestion) || client !== this.server?.running) {
      return;
    }
    this.acceptCommand = vscode.commands.registerCommand(Command.acceptSuggestion, (...args: unknown[]) => {
      const feedback = feedbackOf(args);
      this.lastShown = undefined;
      if (feedback) {
        this.server?.notify(Method.didAccept, feedback);
      }
    });
  }

  private disposeAcceptCommand(): void {
    this.acceptCommand?.dispose();
    this.acceptCommand = undefined;
  }

  private remember(id: string): void {
    this.shownIds.add(id);
    if (this.shownIds.size > REMEMBERED_IDS) {
      const oldest = this.shownIds.values().next().value;
      if (oldest !== undefined) {
        this.shownIds.delete(oldest);
      }
    }
  }
}
