/**
 * The chat panel: a webview view (`sparkforge.chatView`) in its own activity-bar container.
 *
 * The transcript lives here, in the extension (the webview only draws it), so a hidden or
 * reloaded view is redrawn from it. Answers stream in as `sparkforge/chatDelta`; Stop cancels
 * the `sparkforge/chat` request. The model can be switched between questions: the
 * conversation id stays, the server carries the conversation over.
 *
 * Conversations are kept per workspace (workspaceState) and every question carries the
 * conversation so far as `history`, so a restarted server, or a reloaded window, continues
 * it. `sparkforge.chatHistory` reopens an earlier one.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { ago, historyOf, parseArchive, saveConversation, StoredConversation, StoredTurn, titleOf } from '../lib/chatHistory';
import { singleDocumentEdit } from '../lib/workspaceEdits';
import { formatCost, formatTokens } from '../lib/statusText';
import type { AgentView } from '../lib/agentTask';
import { AgentContext, ChatContext, ChatDeltaParams, ChatHistoryEntry, Method, Range, Role, Usage } from '../protocol';
import type { SparkforgeServer } from '../server';
import { actionRole, modelName } from '../settings';
import { AgentTasks } from './agent';
import { FromWebview, Mode, parseFromWebview, Reply, ToWebview, TurnStatus, ViewTurn } from './messages';
import { ProposalReview } from './proposal';
import { StaleEditError, toWorkspaceEdit } from './workspaceEdit';

const RENDER_INTERVAL_MS = 40;
const ROLE_KEY = 'sparkforge.chat.role';
const MODE_KEY = 'sparkforge.chat.mode';
const ARCHIVE_KEY = 'sparkforge.chat.conversations';
const CURRENT_KEY = 'sparkforge.chat.current';
const RETRY_DEEP = 'Retry with the deep model';
const SCHEMES = new Set(['file', 'untitled']);

/** A message to the webview; `id` only matters for replies. */
type Outgoing = ToWebview extends infer M ? (M extends ToWebview ? Omit<M, 'id'> & { id?: string } : never) : never;

interface Turn {
  id: string;
  author: 'user' | 'assistant';
  role?: Role;
  /** The model's name: the configured one while streaming, the server's answer after. */
  model?: string;
  text: string;
  status: TurnStatus;
  note?: string;
  /** Agent mode: the task this turn shows. */
  agent?: AgentView;
}

interface ActiveRequest {
  requestId: string;
  tokenSource: vscode.CancellationTokenSource;
  turn: Turn;
}

function usageNote(usage: Usage | undefined): string | undefined {
  if (!usage) {
    return undefined;
  }
  const cost = formatCost(usage.costUsd);
  return `${formatTokens(usage.inputTokens ?? 0)} in · ${formatTokens(usage.outputTokens ?? 0)} out${cost ? ` · ${cost}` : ''}`;
}

function describeRange(uri: vscode.Uri, range: Range | undefined): string {
  const name = vscode.workspace.asRelativePath(uri);
  if (!range) {
    return name;
  }
  const first = range.start.line + 1;
  const last = range.end.character === 0 && range.end.line > range.start.line ? range.end.line : range.end.line + 1;
  return first === last ? `${name}:${first}` : `${name}:${first}-${last}`;
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'sparkforge.chatView';

  private view: vscode.WebviewView | undefined;
  private ready = false;
  private conversationId: string = randomUUID();
  private role: Role;
  private mode: Mode;
  private turns: Turn[] = [];
  private active: ActiveRequest | undefined;
  private readonly finishedRequests = new Set<string>();
  /** Streamed text not yet sent to the webview, per turn. */
  private readonly appends = new Map<Turn, string>();
  private archive: StoredConversation[];
  private renderTimer: NodeJS.Timeout | undefined;
  private contextTimer: NodeJS.Timeout | undefined;
  /** The document the conversation was last about: where Apply goes when no editor is active. */
  private lastContextUri: vscode.Uri | undefined;
  private readonly proposals = new ProposalReview();
  private readonly agent: AgentTasks;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: SparkforgeServer,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.role = context.globalState.get<Role>(ROLE_KEY) === 'fast' ? 'fast' : 'deep';
    this.mode = context.globalState.get<Mode>(MODE_KEY) === 'agent' ? 'agent' : 'ask';
    this.agent = new AgentTasks(server, {
      changed: (turn) => this.turns.includes(turn as Turn) && this.renderNow(turn as Turn),
      ended: (turn) => this.agentEnded(turn as Turn),
      // An approval waits in the panel: show it, without taking the focus from the editor.
      reveal: () => (this.view ? this.view.show(true) : void vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`)),
    }, log);
    this.archive = parseArchive(context.workspaceState.get(ARCHIVE_KEY));
    const current = this.archive.find((c) => c.id === context.workspaceState.get<string>(CURRENT_KEY));
    if (current) {
      this.open(current);
    }
    this.disposables.push(
      this.proposals,
      this.agent,
      vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, this, {
        webviewOptions: { retainContextWhenHidden: true },
      }),
      server.onDidCreateClient((client) => this.listen(client)),
      vscode.window.onDidChangeActiveTextEditor(() => this.scheduleContextLabel()),
      vscode.window.onDidChangeTextEditorSelection(() => this.scheduleContextLabel()),
      vscode.commands.registerCommand('sparkforge.openChat', () => this.reveal()),
      vscode.commands.registerCommand('sparkforge.newChat', () => this.newChat()),
      vscode.commands.registerCommand('sparkforge.chatHistory', () => this.pickConversation()),
      vscode.commands.registerCommand('sparkforge.explain', (args?: unknown) => this.explain(args)),
    );
  }

  dispose(): void {
    this.stop();
    clearTimeout(this.renderTimer);
    clearTimeout(this.contextTimer);
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  // -- the view -------------------------------------------------------------------------------

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [media, dist] };
    view.webview.html = this.html(view.webview, media, dist);
    view.webview.onDidReceiveMessage((raw) => void this.onMessage(raw), undefined, this.disposables);
    view.onDidDispose(() => {
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
      }
    });
  }

  private html(webview: vscode.Webview, media: vscode.Uri, dist: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'chat.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'chat.css'));
    const csp = `default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';`;
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>sparkforge chat</title>
</head>
<body>
<header class="toolbar">
  <div class="modes" role="radiogroup" aria-label="Mode">
    <button type="button" class="mode" data-mode="ask" role="radio" title="Ask: questions and answers about your code">Ask</button>
    <button type="button" class="mode" data-mode="agent" role="radio" title="Agent: the model carries a task through the workspace (reads, edits, runs tests) step by step">Agent</button>
  </div>
  <div class="roles" role="radiogroup" aria-label="Model">
    <button type="button" class="role" data-role="fast" role="radio" title="The fast model: quick answers">fast</button>
    <button type="button" class="role" data-role="deep" role="radio" title="The deep model: reasons further">deep</button>
  </div>
  <span id="context" class="context" title="Context sent with your question"></span>
</header>
<main id="transcript" class="transcript"></main>
<p id="status" class="status" role="status" aria-live="polite"></p>
<p id="empty" class="empty" data-for="ask">Ask about your code. The selection in the active editor (or, if you tick the box, the whole file) goes with your question. Code blocks in answers can be copied or applied to the file.</p>
<p id="empty-agent" class="empty" data-for="agent">Give the agent a task. It reads the files it needs, edits them and runs commands you approve, step by step; the active file and selection go with the task. Its changes are shown at the end, to keep or undo.</p>
<p id="notice" class="notice" hidden></p>
<form id="composer" class="composer">
  <textarea id="input" rows="3" placeholder="Ask sparkforge… (Enter to send, Shift+Enter for a new line)" aria-label="Message"></textarea>
  <div class="composer-row">
    <label class="include" id="includeLabel"><input type="checkbox" id="includeFile"> whole file</label>
    <span class="spacer"></span>
    <button type="button" id="stop" class="secondary" hidden>Stop</button>
    <button type="submit" id="send">Send</button>
  </div>
</form>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  private post(message: Outgoing): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage({ id: '', ...message });
    }
  }

  private reply(id: string, data: Reply): void {
    this.post({ type: 'reply', id, data });
  }

  private viewTurn(turn: Turn): ViewTurn {
    return { id: turn.id, author: turn.author, role: turn.role, model: turn.model, text: turn.text, status: turn.status, note: turn.note, agent: turn.agent };
  }

  private postState(): void {
    this.post({
      type: 'state',
      data: { role: this.role, mode: this.mode, busy: this.active !== undefined, turns: this.turns.map((t) => this.viewTurn(t)) },
    });
  }

  /** Streamed text is batched: one `append` per turn every RENDER_INTERVAL_MS at most. */
  private scheduleAppend(turn: Turn, text: string): void {
    this.appends.set(turn, (this.appends.get(turn) ?? '') + text);
    this.renderTimer ??= setTimeout(() => {
      this.renderTimer = undefined;
      for (const [t, added] of this.appends) {
        this.post({ type: 'append', data: { id: t.id, text: added } });
      }
      this.appends.clear();
    }, RENDER_INTERVAL_MS);
  }

  private renderNow(turn: Turn): void {
    this.appends.delete(turn);
    this.post({ type: 'turn', data: this.viewTurn(turn) });
  }

  private scheduleContextLabel(): void {
    clearTimeout(this.contextTimer);
    this.contextTimer = setTimeout(() => this.post({ type: 'context', data: { label: this.contextLabel() } }), 150);
  }

  private contextLabel(): string {
    const editor = this.contextEditor();
    if (!editor) {
      return 'no editor';
    }
    const selection = editor.selection.isEmpty ? undefined : editor.selection;
    return describeRange(editor.document.uri, selection);
  }

  private async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
  }

  // -- messages from the webview --------------------------------------------------------------

  private async onMessage(raw: unknown): Promise<void> {
    const message: FromWebview | undefined = parseFromWebview(raw);
    if (!message) {
      this.log.warn('The chat view sent a message that is not understood; ignored.');
      return;
    }
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.appends.clear(); // the state carries the text so far
        this.postState();
        this.post({ type: 'context', data: { label: this.contextLabel() } });
        return;
      case 'send': {
        const text = message.data.text.trim();
        if (!text) {
          return this.reply(message.id, { ok: false });
        }
        const reply =
          this.mode === 'agent' ? this.startTask(text) : await this.ask(text, this.editorContext(message.data.includeFile));
        return this.reply(message.id, reply);
      }
      case 'stop':
        this.stop();
        return;
      case 'newChat':
        this.newChat();
        return;
      case 'setRole':
        this.role = message.data.role;
        void this.context.globalState.update(ROLE_KEY, this.role);
        this.post({ type: 'role', data: { role: this.role } });
        return;
      case 'setMode':
        this.mode = message.data.mode;
        void this.context.globalState.update(MODE_KEY, this.mode);
        this.post({ type: 'mode', data: { mode: this.mode } });
        return;
      case 'approve':
        return this.reply(message.id, this.agent.approve(message.data.taskId, message.data.approval, message.data.answer));
      case 'keep':
      case 'undo':
        return this.reply(message.id, await this.agent.review(message.data.taskId, message.type, message.data.path));
      case 'diff':
        return this.reply(message.id, await this.agent.showDiff(message.data.taskId, message.data.path));
      case 'handOff':
        return this.reply(message.id, this.agent.handOff(message.data.taskId, message.data.role));
      case 'copy':
        await vscode.env.clipboard.writeText(message.data.code);
        return this.reply(message.id, { ok: true, message: 'Copied' });
      case 'apply':
        return this.reply(message.id, await this.apply(message.data.code));
    }
  }

  // -- asking ---------------------------------------------------------------------------------

  private contextEditor(): vscode.TextEditor | undefined {
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    return editor && SCHEMES.has(editor.document.uri.scheme) ? editor : undefined;
  }

  private editorContext(includeFile: boolean): { context: ChatContext; label?: string; uri?: vscode.Uri } {
    const editor = this.contextEditor();
    const client = this.server.running;
    if (!editor || !client) {
      return { context: {} };
    }
    const uri = editor.document.uri;
    const context: ChatContext = { uri: client.code2ProtocolConverter.asUri(uri) };
    let range: Range | undefined;
    if (!editor.selection.isEmpty) {
      range = client.code2ProtocolConverter.asRange(editor.selection);
      context.selection = range;
    }
    if (includeFile) {
      context.includeFile = true;
    }
    const label = includeFile ? `${vscode.workspace.asRelativePath(uri)} (whole file)` : describeRange(uri, range);
    return { context, label, uri };
  }

  /** Asks a question in the current conversation with the current model (or `where.role`). */
  async ask(text: string, where: { context: ChatContext; label?: string; uri?: vscode.Uri; role?: Role }): Promise<Reply> {
    if (this.active) {
      return { ok: false, message: 'Wait for the answer, or press Stop.' };
    }
    if (!this.server.running) {
      return { ok: false, message: 'The sparkforge server is not running.' };
    }
    if (where.uri) {
      this.lastContextUri = where.uri;
    }
    const history = historyOf(this.stored());
    const question: Turn = { id: randomUUID(), author: 'user', text, status: 'done', note: where.label };
    const role = where.role ?? this.role;
    const model = modelName(role);
    const answer: Turn = { id: randomUUID(), author: 'assistant', role, model, text: '', status: 'streaming' };
    this.turns.push(question, answer);
    this.save();
    const active: ActiveRequest = { requestId: randomUUID(), tokenSource: new vscode.CancellationTokenSource(), turn: answer };
    this.active = active;
    this.renderNow(question);
    this.renderNow(answer);
    this.post({ type: 'busy', data: { busy: true } });
    void this.run(active, text, where.context, history);
    return { ok: true };
  }

  /** Agent mode: the message is a task for `sparkforge/agent`, with the editor's file and selection. */
  private startTask(text: string): Reply {
    if (this.active) {
      return { ok: false, message: 'Wait for the task to end, or press Stop.' };
    }
    const client = this.server.running;
    if (!client) {
      return { ok: false, message: 'The sparkforge server is not running.' };
    }
    const { context: chatContext, label, uri } = this.editorContext(false);
    const context: AgentContext = {};
    if (chatContext.uri) {
      context.uri = chatContext.uri;
    }
    if (chatContext.selection) {
      context.selection = chatContext.selection;
    }
    if (uri) {
      this.lastContextUri = uri;
    }
    const question: Turn = { id: randomUUID(), author: 'user', text, status: 'done', note: label ? `agent task · ${label}` : 'agent task' };
    const role = this.role;
    const answer: Turn = { id: randomUUID(), author: 'assistant', role, model: modelName(role), text: '', status: 'streaming' };
    this.turns.push(question, answer);
    this.save();
    this.active = { requestId: randomUUID(), tokenSource: new vscode.CancellationTokenSource(), turn: answer };
    this.agent.start(answer, { task: text, role, conversationId: this.conversationId, context });
    this.renderNow(question);
    this.renderNow(answer);
    this.post({ type: 'busy', data: { busy: true } });
    return { ok: true };
  }

  private agentEnded(turn: Turn): void {
    const active = this.active;
    if (active?.turn === turn) {
      this.active = undefined;
      active.tokenSource.dispose();
      this.finish(active);
    } else if (this.turns.includes(turn)) {
      this.renderNow(turn);
      this.save();
    }
  }

  private async run(active: ActiveRequest, message: string, context: ChatContext, history: ChatHistoryEntry[]): Promise<void> {
    const { turn, tokenSource, requestId } = active;
    try {
      const result = await this.server.request(
        Method.chat,
        { conversationId: this.conversationId, requestId, role: turn.role ?? this.role, message, context, history },
        tokenSource.token,
      );
      if (this.active === active) {
        if (typeof result?.text === 'string' && result.text) {
          turn.text = result.text;
        }
        if (typeof result?.model === 'string') {
          turn.model = result.model;
        }
        turn.status = 'done';
        turn.note = usageNote(result?.usage);
      }
    } catch (err) {
      if (this.active === active) {
        turn.status = 'error';
        turn.note = err instanceof Error ? err.message : String(err);
      }
    } finally {
      if (this.active === active) {
        this.active = undefined;
        this.finish(active);
      }
      tokenSource.dispose();
    }
  }

  private finish(active: ActiveRequest): void {
    this.finishedRequests.add(active.requestId);
    if (this.finishedRequests.size > 64) {
      this.finishedRequests.delete(this.finishedRequests.values().next().value as string);
    }
    this.post({ type: 'busy', data: { busy: false } });
    // A task stopped by New Chat or a reopened conversation ends after the transcript changed.
    if (this.turns.includes(active.turn)) {
      this.renderNow(active.turn);
      this.save();
    }
  }

  private listen(client: LanguageClient): void {
    client.onNotification(Method.chatDelta, (params: ChatDeltaParams) => this.onDelta(params));
    this.agent.listen(client);
  }

  private onDelta(params: ChatDeltaParams): void {
    const active = this.active;
    if (
      !active ||
      params.conversationId !== this.conversationId ||
      typeof params.delta !== 'string' ||
      // A late delta of a stopped request; ids the client did not make are taken as the server's own.
      this.finishedRequests.has(params.requestId)
    ) {
      return;
    }
    active.turn.text += params.delta;
    this.scheduleAppend(active.turn, params.delta);
  }

  private stop(): void {
    const active = this.active;
    if (!active) {
      return;
    }
    if (active.turn.agent && this.agent.stop(active.turn)) {
      return; // the task's turn ends when the server answers (agentEnded)
    }
    this.active = undefined;
    active.tokenSource.cancel();
    active.turn.status = 'stopped';
    active.turn.note = 'Stopped';
    this.finish(active);
  }

  private newChat(): void {
    this.stop();
    if (this.turns.length > 0) {
      // The server forgets it; the archive keeps it for the history list.
      this.server.notify(Method.chatReset, { conversationId: this.conversationId });
    }
    this.conversationId = randomUUID();
    this.turns = [];
    void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
    this.postState();
  }

  // -- the archive: conversations kept per workspace ------------------------------------------

  /** The transcript as stored: an answer still streaming counts as stopped. */
  private stored(): StoredTurn[] {
    return this.turns.map((t) => ({
      author: t.author,
      text: t.text,
      status: t.status === 'streaming' ? 'stopped' : t.status,
      role: t.role,
      model: t.model,
      note: t.note,
    }));
  }

  private save(): void {
    const turns = this.stored();
    this.archive = saveConversation(this.archive, { id: this.conversationId, title: titleOf(turns), updated: Date.now(), turns });
    void this.context.workspaceState.update(ARCHIVE_KEY, this.archive);
    void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
  }

  private open(conversation: StoredConversation): void {
    this.conversationId = conversation.id;
    this.turns = conversation.turns.map((t) => ({ id: randomUUID(), ...t }));
  }

  /** Command `sparkforge.chatHistory`: reopen (or delete) an earlier conversation. */
  private async pickConversation(): Promise<void> {
    type Item = vscode.QuickPickItem & { id?: string };
    const remove: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete this conversation' };
    const items = (): Item[] => {
      const now = Date.now();
      const list: Item[] = this.archive.map((c) => {
        const models = [...new Set(c.turns.map((t) => t.model).filter((m): m is string => Boolean(m)))];
        const questions = c.turns.filter((t) => t.author === 'user').length;
        return {
          id: c.id,
          label: c.title,
          description: `${c.id === this.conversationId ? 'current · ' : ''}${ago(c.updated, now)}`,
          detail: `${questions} question${questions === 1 ? '' : 's'}${models.length ? ` · ${models.join(', ')}` : ''}`,
          buttons: [remove],
        };
      });
      return [{ label: '$(add) New chat', alwaysShow: true }, ...list];
    };
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = 'sparkforge: chat history';
    pick.placeholder = 'Reopen a conversation';
    pick.matchOnDetail = true;
    pick.items = items();
    pick.onDidTriggerItemButton((e) => {
      if (e.item.id === this.conversationId) {
        this.newChat();
      }
      this.archive = this.archive.filter((c) => c.id !== e.item.id);
      void this.context.workspaceState.update(ARCHIVE_KEY, this.archive);
      pick.items = items();
    });
    const chosen = await new Promise<Item | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
    pick.dispose();
    if (!chosen) {
      return;
    }
    const conversation = this.archive.find((c) => c.id === chosen.id);
    if (!conversation) {
      this.newChat();
    } else if (conversation.id !== this.conversationId) {
      this.stop();
      this.open(conversation);
      void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
      this.postState();
    }
    await this.reveal();
  }

  /** Command `sparkforge.explain`, args `{uri, range}` (LSP or VS Code shapes), or the selection. */
  private async explain(args: unknown): Promise<void> {
    const client = this.server.running;
    let uri: vscode.Uri | undefined;
    let range: Range | undefined;
    const given = args as { uri?: string | vscode.Uri; range?: unknown } | undefined;
    if (given?.uri) {
      uri = given.uri instanceof vscode.Uri ? given.uri : vscode.Uri.parse(String(given.uri));
      const r = given.range as Range | vscode.Range | undefined;
      if (r && r.start && r.end) {
        range = { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
      }
    } else {
      const editor = this.contextEditor();
      if (editor) {
        uri = editor.document.uri;
        if (!editor.selection.isEmpty) {
          range = { start: editor.selection.start, end: editor.selection.end };
        }
      }
    }
    await this.reveal();
    await this.whenReady();
    if (!uri || !client) {
      vscode.window.showWarningMessage(client ? 'sparkforge: select the code to explain.' : 'sparkforge: the server is not running.');
      return;
    }
    const context: ChatContext = { uri: client.code2ProtocolConverter.asUri(uri) };
    if (range) {
      context.selection = {
        start: { line: range.start.line, character: range.start.character },
        end: { line: range.end.line, character: range.end.character },
      };
    }
    // Explain is an action: it follows sparkforge.actions.routing (deep unless routed), not the
    // chat's model toggle; the answer's heading names the model that answered.
    const reply = await this.ask('Explain this code', { context, label: describeRange(uri, range), uri, role: actionRole('explain') });
    if (!reply.ok && reply.message) {
      vscode.window.showInformationMessage(`sparkforge: ${reply.message}`);
    }
  }

  private async whenReady(): Promise<void> {
    for (let i = 0; i < 50 && !this.ready; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  // -- applying a code block ------------------------------------------------------------------

  private async apply(code: string, role: Role = 'fast'): Promise<Reply> {
    const client = this.server.running;
    if (!client) {
      return { ok: false, message: 'The sparkforge server is not running.' };
    }
    const editor = this.contextEditor();
    let document = editor?.document;
    if (!document && this.lastContextUri) {
      document = await vscode.workspace.openTextDocument(this.lastContextUri);
    }
    if (!document) {
      return { ok: false, message: 'Open the file to apply this to.' };
    }
    const target = document;
    const version = target.version;
    const name = vscode.workspace.asRelativePath(target.uri);
    let cancelled = false;
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `sparkforge: merging the code into ${name}…`, cancellable: true },
        (_progress, token) => {
          token.onCancellationRequested(() => (cancelled = true));
          return this.server.request(Method.chatApply, { uri: client.code2ProtocolConverter.asUri(target.uri), code, version, role }, token);
        },
      );
      if (!result?.edit) {
        return { ok: false, message: 'Nothing to apply.' };
      }
      if (result.diff) {
        this.log.info(`Proposed change to ${name}:\n${result.diff}`);
      }
      const single = singleDocumentEdit(result.edit);
      if (single && client.protocol2CodeConverter.asUri(single.uri).toString() === target.uri.toString()) {
        // One file: a diff editor, then Apply or Discard.
        if ((single.version ?? version) !== target.version) {
          return { ok: false, message: `${name} changed while the change was being prepared; apply again.` };
        }
        const outcome = await this.proposals.review(target, single.edits);
        if (outcome === 'unchanged') {
          return { ok: true, message: 'Already there' };
        }
        if (outcome === 'discard') {
          return { ok: false, message: 'Discarded' };
        }
        if (target.version !== version) {
          return { ok: false, message: `${name} changed during the review; apply again.` };
        }
        const applied = await vscode.workspace.applyEdit(toWorkspaceEdit(result.edit, client, { needsConfirmation: false }));
        return applied ? { ok: true, message: 'Applied' } : { ok: false, message: 'Not applied' };
      }
      // Several files or file operations: VS Code's refactor preview.
      const edit = toWorkspaceEdit(result.edit, client, { needsConfirmation: true });
      if (edit.size === 0) {
        return { ok: true, message: 'Already there' };
      }
      const applied = await vscode.workspace.applyEdit(edit, { isRefactoring: true });
      return applied ? { ok: true, message: 'Applied' } : { ok: false, message: 'Not applied' };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof StaleEditError)) {
        this.log.warn(`Applying a code block failed: ${message}`);
      }
      if (!cancelled && !(err instanceof StaleEditError)) {
        this.explainRefusal(message, code, role);
      }
      return { ok: false, message };
    }
  }

  /**
   * A refused Apply says why in a notification. When the fast model's merge was refused, the
   * deep model may do better: offer it (a policy refusal, "refused: …", would only repeat).
   */
  private explainRefusal(message: string, code: string, role: Role): void {
    const text = message.startsWith('sparkforge') ? message : `sparkforge: ${message}`;
    const retry = role === 'fast' && !/\brefused:/.test(message) ? [RETRY_DEEP] : [];
    void vscode.window.showWarningMessage(text, ...retry).then((choice) => {
      if (choice === RETRY_DEEP) {
        void this.apply(code, 'deep').then((reply) => {
          if (reply.ok && reply.message) {
            vscode.window.setStatusBarMessage(`sparkforge: ${reply.message}`, 3000);
          }
        });
      }
    });
  }
}
