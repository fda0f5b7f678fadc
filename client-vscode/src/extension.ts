/** Activation: wires the modules together and starts the server. */

import * as vscode from 'vscode';
import { agentEditMiddleware } from './chat/agent';
import { ChatViewProvider } from './chat/panel';
import { ActionApplier } from './actionApply';
import { codeActionMiddleware } from './codeActions';
import { configurationMiddleware } from './configuration';
import { InlineCompletionFeedback } from './inline';
import { needsRestart } from './lib/serverEnv';
import { NextEditController } from './nextEdit';
import { onDidChangePythonInterpreter } from './python';
import { ApiKeyStore } from './secrets';
import { SparkforgeServer } from './server';
import { interpreterSetting, SECTION } from './settings';
import { StatusBar } from './status';

let server: SparkforgeServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('sparkforge', { log: true });
  const keys = new ApiKeyStore(context.secrets);
  const inline = new InlineCompletionFeedback();
  server = new SparkforgeServer(context, log, keys, {
    ...inline.middleware,
    ...codeActionMiddleware(() => server?.running),
    workspace: { ...configurationMiddleware.workspace, ...agentEditMiddleware.workspace },
  });
  const s = server;
  inline.attach(s);

  context.subscriptions.push(
    log,
    s,
    inline,
    new StatusBar(s, keys, log),
    new ActionApplier(() => s.running, log),
    new NextEditController(s, inline, log, context.extensionUri),
    new ChatViewProvider(context, s, log),
    vscode.commands.registerCommand('sparkforge.setApiKey', async () => {
      if (await keys.promptAndStore()) {
        vscode.window.setStatusBarMessage('sparkforge: key stored; restarting the server', 3000);
      }
    }),
    vscode.commands.registerCommand('sparkforge.clearApiKey', () => keys.promptAndDelete()),
    vscode.commands.registerCommand('sparkforge.restartServer', () => s.restart()),
    vscode.commands.registerCommand('sparkforge.showOutput', () => log.show()),
    // Keys reach the server as environment variables, so a new key needs a new process.
    keys.onDidChange(() => void s.restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) {
        return;
      }
      if (needsRestart((section) => e.affectsConfiguration(section))) {
        void s.restart();
      } else {
        s.sendSettings();
      }
    }),
    // The server runs no agent command in an untrusted workspace (settings carry agent.trusted).
    vscode.workspace.onDidGrantWorkspaceTrust(() => s.sendSettings()),
    await onDidChangePythonInterpreter(() => {
      if (!interpreterSetting()) {
        void s.restart();
      }
    }),
  );

  void s.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
