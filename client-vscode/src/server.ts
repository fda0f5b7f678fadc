/**
 * Starting, restarting and talking to the sparkforge language server
 * (`<python> -m sparkforge lsp`, over stdio).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CancellationToken,
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { bundleServes, choosePython, defaultCandidates, INSTALL_ANCHOR, noPythonMessage, probePython } from './lib/pythonCheck';
import { serverEnvironment } from './lib/serverEnv';
import type { Notifications, Requests } from './protocol';
import { findInterpreter } from './python';
import { ApiKeyStore } from './secrets';
import { apiKeyEnv, readServerSettings } from './settings';

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

/** Documents the server sees: files on disk and unsaved editors, in any language. */
const DOCUMENT_SELECTOR = [{ scheme: 'file' }, { scheme: 'untitled' }];

/**
 * vscode-languageclient always adds its own toast when the server never comes up ("couldn't
 * create connection to server", often with Code -32097). explainStartFailure already says
 * what happened and what to do, once: until the client has run, its errors go to the log only.
 */
class SparkforgeLanguageClient extends LanguageClient {
  hasRun = false;

  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.hasRun ? showNotification : false);
  }
}

export class SparkforgeServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private state: ServerState = 'stopped';
  private readonly disposables: vscode.Disposable[] = [];

  private readonly onDidCreateClientEmitter = new vscode.EventEmitter<LanguageClient>();
  /** Fires with a new client before it starts: the place to register notification handlers. */
  readonly onDidCreateClient = this.onDidCreateClientEmitter.event;

  private readonly onDidStartEmitter = new vscode.EventEmitter<LanguageClient>();
  /** Fires once the client is running (the server's commands are registered by then). */
  readonly onDidStart = this.onDidStartEmitter.event;

  private readonly onDidChangeStateEmitter = new vscode.EventEmitter<ServerState>();
  readonly onDidChangeState = this.onDidChangeStateEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly keys: ApiKeyStore,
    private readonly middleware: Middleware,
  ) {
    this.disposables.push(this.onDidCreateClientEmitter, this.onDidStartEmitter, this.onDidChangeStateEmitter);
  }

  get serverState(): ServerState {
    return this.state;
  }

  /** The client, if it is running. */
  get running(): LanguageClient | undefined {
    return this.client?.isRunning() ? this.client : undefined;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Sends a custom request; rejects when the server is not running. */
  async request<M extends keyof Requests>(
    method: M,
    params: Requests[M][0],
    token?: CancellationToken,
  ): Promise<Requests[M][1]> {
    const client = this.running;
    if (!client) {
      throw new Error('The sparkforge server is not running (see the sparkforge output).');
    }
    return token ? client.sendRequest(method, params, token) : client.sendRequest(method, params);
  }

  /** Sends a custom notification; does nothing when the server is not running. */
  notify<M extends keyof Notifications>(method: M, params: Notifications[M]): void {
    const client = this.running;
    if (client) {
      client.sendNotification(method, params).catch((err) => this.log.warn(`${method} failed: ${String(err)}`));
    }
  }

  /** Pushes the current settings (`{settings: {sparkforge: {...}}}`). */
  sendSettings(): void {
    const client = this.running;
    if (client) {
      client
        .sendNotification(DidChangeConfigurationNotification.type, { settings: { sparkforge: readServerSettings() } })
        .catch((err) => this.log.warn(`workspace/didChangeConfiguration failed: ${String(err)}`));
    }
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private setState(state: ServerState): void {
    if (this.state !== state) {
      this.state = state;
      this.onDidChangeStateEmitter.fire(state);
    }
  }

  private async doStart(): Promise<void> {
    this.setState('starting');
    const folder = vscode.workspace.workspaceFolders?.[0];
    const interpreter = await findInterpreter(folder?.uri, this.log);
    const bundled = this.context.asAbsolutePath(path.join('bundled', 'libs'));
    const cwd = folder?.uri.scheme === 'file' ? folder.uri.fsPath : this.context.extensionUri.fsPath;
    // Ask for the version first: no Python, or one older than 3.10, gets one message saying
    // what to install rather than a failed connection.
    const candidates = interpreter.source === 'default' ? defaultCandidates(process.platform) : [interpreter.command];
    const python = await choosePython(candidates, (command) => probePython(command, { cwd }));
    if (!python.ok) {
      const { message, log } = noPythonMessage(python, interpreter.source);
      this.setState('failed');
      this.log.error(`No usable Python: ${log}`);
      void this.explainNoPython(message);
      return;
    }
    this.log.info(`Python ${python.version.join('.')}: ${python.command.join(' ')} (from ${interpreter.source}; ${python.executable ?? 'executable unknown'})`);
    // The bundle's compiled modules exist for the versions it was built for (3.10-3.13): for
    // another Python it would only shadow a sparkforge installed there, so it is left out.
    const bundledFor = this.bundledPythons();
    const bundleFits = bundleServes(bundledFor, python.version) !== false;
    const bundledLibs = fs.existsSync(bundled) && bundleFits ? bundled : undefined;
    if (fs.existsSync(bundled) && !bundleFits) {
      this.log.warn(
        `The bundled libraries serve Python ${(bundledFor as string[]).join(', ')}, not ${python.version.join('.')}: ` +
          'they are not used, so the sparkforge package must be installed in that Python.',
      );
    }
    const { env, notes } = serverEnvironment(
      process.env,
      {
        fast: { envName: apiKeyEnv('fast'), key: await this.keys.forServer('fast', (m) => this.log.warn(m)) },
        deep: { envName: apiKeyEnv('deep'), key: await this.keys.forServer('deep', (m) => this.log.warn(m)) },
      },
      { bundledLibs, pathDelimiter: path.delimiter },
    );
    const [command, ...prefix] = python.command;
    const args = [...prefix, '-m', 'sparkforge', 'lsp'];
    this.log.info(`Starting the server: ${[command, ...args].join(' ')} (interpreter from ${interpreter.source}; cwd ${cwd})`);
    if (bundledLibs) {
      this.log.info(`Using the bundled Python libraries in ${bundledLibs}`);
    }
    for (const note of notes) {
      this.log.info(note);
    }

    // A server that never came up is not restarted (explainStartFailure says why, once);
    // one that crashes later gets the language client's usual restarts.
    let ran = false;
    let usual: ErrorHandler | undefined;
    const errorHandler: ErrorHandler = {
      error: (error, message, count) =>
        ran && usual ? usual.error(error, message, count) : { action: ErrorAction.Shutdown, handled: true },
      closed: () => (ran && usual ? usual.closed() : { action: CloseAction.DoNotRestart, handled: true }),
    };
    const serverOptions: ServerOptions = { command, args, options: { cwd, env } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: readServerSettings(),
      initializationFailedHandler: () => false,
      errorHandler,
      middleware: this.middleware,
      markdown: { isTrusted: false, supportHtml: false },
    };
    const client = new SparkforgeLanguageClient('sparkforge', 'sparkforge', serverOptions, clientOptions);
    usual = client.createDefaultErrorHandler(3);
    this.client = client;
    client.onDidChangeState((e) => {
      if (client !== this.client) {
        return;
      }
      // doStop() forgets the client first, so a Stop seen here was not asked for.
      if (e.newState === State.Running) {
        ran = true;
        client.hasRun = true;
        this.setState('running');
      } else if (e.newState === State.Starting) {
        this.setState('starting');
      } else if (e.newState === State.Stopped) {
        this.setState('failed');
      }
    });
    this.onDidCreateClientEmitter.fire(client);
    try {
      await client.start();
    } catch (err) {
      this.setState('failed');
      this.log.error(`The sparkforge server did not start: ${String(err)}`);
      void this.explainStartFailure(python.command, interpreter.source, bundledLibs !== undefined);
      return;
    }
    this.setState('running');
    this.onDidStartEmitter.fire(client);
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        if (client.isRunning()) {
          await client.stop(2000);
        }
      } catch (err) {
        this.log.warn(`Stopping the server: ${String(err)}`);
      }
      await client.dispose(2000).catch(() => undefined);
    }
    this.setState('stopped');
  }

  /** `python` from bundled/manifest.json (written by scripts/bundle_python.py), if any. */
  private bundledPythons(): unknown {
    try {
      return JSON.parse(fs.readFileSync(this.context.asAbsolutePath(path.join('bundled', 'manifest.json')), 'utf8')).python;
    } catch {
      return undefined;
    }
  }

  private async explainNoPython(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'How to Install Python', 'Set Interpreter', 'Restart');
    if (choice === 'How to Install Python') {
      // The README's Requirements section, as shipped inside the extension (vsce may lower-case it).
      const readme = ['README.md', 'readme.md'].map((n) => vscode.Uri.joinPath(this.context.extensionUri, n)).find((u) => fs.existsSync(u.fsPath));
      if (readme) {
        void vscode.commands.executeCommand('markdown.showPreview', readme.with({ fragment: INSTALL_ANCHOR }));
      }
    } else if (choice === 'Set Interpreter') {
      void vscode.commands.executeCommand('workbench.action.openSettings', 'sparkforge.python.interpreter');
    } else if (choice === 'Restart') {
      void this.restart();
    }
  }

  private async explainStartFailure(command: string[], source: string, bundled: boolean): Promise<void> {
    const choice = await vscode.window.showErrorMessage(
      `sparkforge could not start its server with ${command.join(' ')} (${source}). ` +
        (bundled
          ? 'The server exited before it answered: the output has its error.'
          : 'Is the sparkforge Python package installed in that environment?'),
      'Show Output',
      'Set Interpreter',
      'Restart',
    );
    if (choice === 'Show Output') {
      this.log.show();
    } else if (choice === 'Set Interpreter') {
      void vscode.commands.executeCommand('workbench.action.openSettings', 'sparkforge.python.interpreter');
    } else if (choice === 'Restart') {
      void this.restart();
    }
  }
}
