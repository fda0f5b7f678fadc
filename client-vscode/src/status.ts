/**
 * The status bar item: the fast model, its last latency, the session's tokens and cost, from
 * `sparkforge/status` notifications. A click opens `sparkforge.showStatus`.
 */

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { missingKeyRoles, statusAccessibleLabel, statusBarText, statusDetails, statusTooltipMarkdown } from './lib/statusText';
import { Method, StatusParams } from './protocol';
import type { ApiKeyStore } from './secrets';
import type { ServerState, SparkforgeServer } from './server';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sparkforge.status', vscode.StatusBarAlignment.Right, 100);
  private status: StatusParams | undefined;
  private askedForKey = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly server: SparkforgeServer,
    private readonly keys: ApiKeyStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item.name = 'sparkforge';
    this.item.command = 'sparkforge.showStatus';
    this.disposables.push(
      this.item,
      server.onDidCreateClient((client) => this.listen(client)),
      server.onDidChangeState((state) => this.render(state)),
      vscode.commands.registerCommand('sparkforge.showStatus', () => this.showDetails()),
    );
    this.render(server.serverState);
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private listen(client: LanguageClient): void {
    this.status = undefined;
    client.onNotification(Method.status, (params: StatusParams) => {
      this.status = params;
      this.render(this.server.serverState);
      void this.offerKey();
    });
  }

  private render(state: ServerState): void {
    // Commands that need the server are hidden from the palette while it is not running.
    void vscode.commands.executeCommand('setContext', 'sparkforge.serverRunning', state === 'running');
    if (state === 'running') {
      const { text, warning } = statusBarText(this.status);
      this.item.text = text;
      this.item.backgroundColor = warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
      this.item.tooltip = new vscode.MarkdownString(statusTooltipMarkdown(this.status));
      this.item.accessibilityInformation = { label: statusAccessibleLabel(this.status) };
    } else {
      this.item.text = {
        starting: '$(sync~spin) sparkforge',
        running: '',
        stopped: '$(circle-slash) sparkforge',
        failed: '$(error) sparkforge',
      }[state];
      this.item.backgroundColor = state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
      this.item.tooltip = {
        starting: 'sparkforge: starting the server',
        running: '',
        stopped: 'sparkforge: the server is stopped',
        failed: 'sparkforge: the server is not running (click for details)',
      }[state];
      this.item.accessibilityInformation = { label: this.item.tooltip };
    }
  }

  /** Once per session: a model without a key gets a button to store one. */
  private async offerKey(): Promise<void> {
    const roles = missingKeyRoles(this.status);
    if (this.askedForKey || roles.length === 0) {
      return;
    }
    const stored = await Promise.all(roles.map((role) => this.keys.has(role)));
    if (stored.every(Boolean)) {
      return;
    }
    this.askedForKey = true;
    const choice = await vscode.window.showWarningMessage(
      `sparkforge: no API key for the ${roles.join(' and ')} model${roles.length > 1 ? 's' : ''}.`,
      'Set API Key…',
      'Settings',
    );
    if (choice === 'Set API Key…') {
      await vscode.commands.executeCommand('sparkforge.setApiKey');
    } else if (choice === 'Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'sparkforge');
    }
  }

  private async showDetails(): Promise<void> {
    // Ask for a fresh status when the server offers it; the last notification otherwise.
    if (this.server.running) {
      try {
        this.status = await this.server.request(Method.getStatus, {});
        this.render(this.server.serverState);
      } catch {
        // An older server without sparkforge/getStatus: keep the last notification.
      }
    }
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const details: Item[] =
      this.server.serverState === 'running'
        ? statusDetails(this.status).map((line) => ({ label: line }))
        : [{ label: `server: ${this.server.serverState}` }];
    const actions: Item[] = [
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(output) Show Output', run: () => this.log.show() },
      { label: '$(debug-restart) Restart Server', run: () => this.server.restart() },
      { label: '$(key) Set API Key…', run: () => vscode.commands.executeCommand('sparkforge.setApiKey') },
      { label: '$(comment-discussion) Open Chat', run: () => vscode.commands.executeCommand('sparkforge.openChat') },
      {
        label: '$(settings-gear) Settings',
        run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'sparkforge'),
      },
    ];
    const pick = await vscode.window.showQuickPick([...details, ...actions], {
      title: 'sparkforge',
      placeHolder: 'Models, usage and suggestions this session',
      matchOnDescription: true,
    });
    await pick?.run?.();
  }
}
