/**
 * Agent mode of the chat panel: a message starts `sparkforge/agent`; its steps
 * (`sparkforge/agentStep`) and the commands it asks to run (`sparkforge/agentApprove`, answered
 * inline in the panel) are drawn in the task's turn as they come; when it ends, its change set
 * has a diff per file and Keep / Undo (`sparkforge/agentKeep`, `sparkforge/agentUndo`). Stop
 * cancels the request; "Hand to … model" sends `sparkforge/agentSwitch`.
 *
 * The edits themselves reach VS Code as the server's `workspace/applyEdit`s, labelled
 * "sparkforge agent: …". They are saved as soon as they are applied (agentEditMiddleware), so
 * the commands the agent runs (the tests) see them; a file that had unsaved changes of the
 * user's is left unsaved. Undo is the server's edit back to the original, saved the same way.
 */

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient, Middleware, StaticFeature } from 'vscode-languageclient/node';
import {
  AgentView,
  answerApproval,
  applyUnifiedDiff,
  ApprovalAnswer,
  changesFromSteps,
  isRunning,
  newTask,
  parseStep,
  reviewable,
  waitingApprovals,
  withApproval,
  withChanges,
  withStep,
} from '../lib/agentTask';
import { AGENT_APPROVALS_CAPABILITY, AgentApproveParams, AgentApproveResult, AgentChange, AgentContext, AgentParams, AgentResult, Method, Role } from '../protocol';
import { VirtualTexts } from '../proposalDiff';
import type { SparkforgeServer } from '../server';
import type { Reply, TurnStatus } from './messages';

/** How long a stopped task waits for the server's answer before it is taken as ended. */
const STOP_GRACE_MS = 10_000;
/** Finished tasks whose change sets can still be kept or undone from the panel. */
const TASKS_KEPT = 20;

/** The panel's turn that shows a task (the panel's own Turn fits). */
export interface AgentTurn {
  id: string;
  role?: Role;
  model?: string;
  text: string;
  status: TurnStatus;
  note?: string;
  agent?: AgentView;
}

export interface AgentPanel {
  /** Redraw the turn. */
  changed(turn: AgentTurn): void;
  /** The task ended: the panel takes questions again. */
  ended(turn: AgentTurn): void;
  /** Bring the panel into view (an approval waits there). */
  reveal(): void;
}

interface Task {
  turn: AgentTurn & { agent: AgentView };
  tokenSource: vscode.CancellationTokenSource;
  /** The server's change set as last answered, by path (for the diffs). */
  changes: Map<string, AgentChange>;
  approvals: Map<string, (reply: AgentApproveResult) => void>;
  stopTimer?: NodeJS.Timeout;
  ended: boolean;
}

/** The label the server gives the agent's `workspace/applyEdit`s (its steps, Keep and Undo). */
const AGENT_EDIT_LABEL = /^sparkforge agent\b/;

/** The documents an LSP workspace edit writes to (text edits and created files). */
function editedUris(edit: { documentChanges?: unknown[]; changes?: Record<string, unknown> }): string[] {
  const uris = Object.keys(edit.changes ?? {});
  for (const change of edit.documentChanges ?? []) {
    const c = change as { kind?: string; uri?: string; textDocument?: { uri?: string } };
    const uri = c.textDocument?.uri ?? (c.kind === 'create' ? c.uri : undefined);
    if (uri) {
      uris.push(uri);
    }
  }
  return uris.map((u) => vscode.Uri.parse(u).toString());
}

/**
 * The agent's edits are saved once VS Code has applied them: the tests it runs read the files
 * on disk. Only documents the edit made dirty are saved, never a file with unsaved changes of
 * the user's.
 */
export const agentEditMiddleware: Middleware = {
  workspace: {
    handleApplyEdit: async (params, next) => {
      const none = new vscode.CancellationTokenSource().token; // the client's own next() takes none
      if (!AGENT_EDIT_LABEL.test(params.label ?? '')) {
        return next(params, none);
      }
      const dirtyBefore = new Set(vscode.workspace.textDocuments.filter((d) => d.isDirty).map((d) => d.uri.toString()));
      const result = await next(params, none);
      if (result && !(result instanceof Error) && result.applied) {
        for (const uri of new Set(editedUris(params.edit))) {
          const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
          if (doc?.isDirty && !dirtyBefore.has(uri)) {
            await doc.save();
          }
        }
      }
      return result;
    },
  },
};

/** Declares `experimental.sparkforgeAgentApprovals`: the server then asks with agentApprove. */
const approvalsCapability: StaticFeature = {
  fillClientCapabilities(capabilities) {
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), [AGENT_APPROVALS_CAPABILITY]: true };
  },
  initialize() {},
  getState: () => ({ kind: 'static' }),
  clear() {},
};

export class AgentTasks implements vscode.Disposable {
  private readonly tasks = new Map<string, Task>();
  private readonly texts = new VirtualTexts('sparkforge-agent', 40);

  constructor(
    private readonly server: SparkforgeServer,
    private readonly panel: AgentPanel,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  dispose(): void {
    for (const task of this.tasks.values()) {
      this.expireApprovals(task);
      if (!task.ended) {
        task.tokenSource.cancel();
      }
    }
    this.texts.dispose();
  }

  /** Called with each new language client, before it starts. */
  listen(client: LanguageClient): void {
    client.registerFeature(approvalsCapability);
    client.onNotification(Method.agentStep, (params: unknown) => this.onStep(params));
    client.onRequest(Method.agentApprove, (params: AgentApproveParams, token: vscode.CancellationToken) => this.onApprove(params, token));
  }

  /** Starts a task shown in `turn` (an assistant turn, status streaming). */
  start(turn: AgentTurn, request: { task: string; role: Role; conversationId: string; context: AgentContext }): void {
    const taskId = randomUUID();
    const agent = newTask(taskId, request.role, turn.model);
    const task: Task = {
      turn: Object.assign(turn, { agent }),
      tokenSource: new vscode.CancellationTokenSource(),
      changes: new Map(),
      approvals: new Map(),
      ended: false,
    };
    this.tasks.set(taskId, task);
    this.forgetOld();
    void this.run(task, { taskId, conversationId: request.conversationId, task: request.task, role: request.role, context: request.context });
  }

  private async run(task: Task, params: AgentParams): Promise<void> {
    const { turn } = task;
    try {
      const result: AgentResult = await this.server.request(Method.agent, params, task.tokenSource.token);
      this.finish(task, result);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (turn.agent.status === 'stopping' || task.tokenSource.token.isCancellationRequested) {
        this.finish(task, undefined, 'cancelled');
      } else {
        this.finish(task, undefined, 'failed', message);
      }
    } finally {
      task.tokenSource.dispose();
    }
  }

  private finish(task: Task, result: AgentResult | undefined, status?: 'cancelled' | 'failed', error?: string): void {
    if (task.ended) {
      return;
    }
    task.ended = true;
    clearTimeout(task.stopTimer);
    this.expireApprovals(task);
    const { turn } = task;
    let agent = turn.agent;
    if (result) {
      agent = { ...agent, status: result.status, summary: result.summary ?? '', usage: result.usage ?? agent.usage };
      if (result.role === 'fast' || result.role === 'deep') {
        agent.role = result.role;
        turn.role = result.role;
      }
      if (typeof result.model === 'string') {
        agent.model = result.model;
        turn.model = result.model;
      }
      const changes = Array.isArray(result.changes) ? result.changes : [];
      for (const c of changes) {
        task.changes.set(c.path, c);
      }
      agent = withChanges(agent, changes);
    } else {
      agent = { ...agent, status: status ?? 'failed', summary: status === 'cancelled' ? 'Stopped.' : `The task failed: ${error ?? 'no answer'}` };
      // The server's answer with the change set never came: the edit steps name the files.
      agent = changesFromSteps(agent, (p) => this.uriOf(p));
    }
    turn.agent = agent;
    turn.text = agent.summary ?? '';
    turn.status = agent.status === 'done' ? 'done' : agent.status === 'failed' ? 'error' : 'stopped';
    turn.note = agent.status === 'failed' ? agent.summary : undefined;
    this.panel.ended(turn);
  }

  /** Stop: cancel the request, then wait (a little) for the server's answer. */
  stop(turn: AgentTurn): boolean {
    const task = turn.agent ? this.tasks.get(turn.agent.taskId) : undefined;
    if (!task || task.ended) {
      return false;
    }
    if (task.turn.agent.status !== 'stopping') {
      task.turn.agent = { ...task.turn.agent, status: 'stopping' };
      this.expireApprovals(task);
      task.tokenSource.cancel();
      task.stopTimer = setTimeout(() => this.finish(task, undefined, 'cancelled'), STOP_GRACE_MS);
      this.panel.changed(task.turn);
    }
    return true;
  }

  // -- from the server ------------------------------------------------------------------------

  private onStep(raw: unknown): void {
    const step = parseStep(raw);
    const task = step && this.tasks.get(step.taskId);
    if (!step || !task || task.ended) {
      return;
    }
    task.turn.agent = withStep(task.turn.agent, step);
    task.turn.role = task.turn.agent.role;
    this.panel.changed(task.turn);
  }

  private onApprove(params: AgentApproveParams, token: vscode.CancellationToken): Promise<AgentApproveResult> {
    const task = typeof params?.taskId === 'string' ? this.tasks.get(params.taskId) : undefined;
    if (!task || task.ended || task.turn.agent.status !== 'running' || typeof params.command !== 'string') {
      return Promise.resolve({ approved: false });
    }
    const id = randomUUID();
    task.turn.agent = withApproval(task.turn.agent, { id, command: params.command, cwd: typeof params.cwd === 'string' ? params.cwd : '' });
    this.panel.changed(task.turn);
    this.panel.reveal();
    return new Promise((resolve) => {
      task.approvals.set(id, resolve);
      token.onCancellationRequested(() => this.answer(task, id, 'expired'));
    });
  }

  // -- from the panel -------------------------------------------------------------------------

  approve(taskId: string, approval: string, answer: ApprovalAnswer): Reply {
    const task = this.tasks.get(taskId);
    if (!task || !this.answer(task, approval, answer)) {
      return { ok: false, message: 'This question was already answered.' };
    }
    return { ok: true };
  }

  private answer(task: Task, id: string, answer: ApprovalAnswer | 'expired'): boolean {
    const { task: agent, reply } = answerApproval(task.turn.agent, id, answer);
    const resolve = task.approvals.get(id);
    task.approvals.delete(id);
    if (!reply || !resolve) {
      return false;
    }
    task.turn.agent = agent;
    resolve(reply);
    this.panel.changed(task.turn);
    return true;
  }

  private expireApprovals(task: Task): void {
    for (const id of waitingApprovals(task.turn.agent)) {
      this.answer(task, id, 'expired');
    }
  }

  handOff(taskId: string, role: Role): Reply {
    const task = this.tasks.get(taskId);
    if (!task || task.ended || task.turn.agent.status !== 'running') {
      return { ok: false, message: 'The task has ended.' };
    }
    this.server.notify(Method.agentSwitch, { taskId, role });
    return { ok: true };
  }

  /** Keep or Undo `path` (all the task's files when absent); the server's edits are saved as they apply. */
  async review(taskId: string, action: 'keep' | 'undo', path?: string): Promise<Reply> {
    const task = this.tasks.get(taskId);
    if (!task) {
      return { ok: false, message: 'That task is no longer known (the window was reloaded).' };
    }
    if (isRunning(task.turn.agent)) {
      return { ok: false, message: 'Wait for the task to end, or press Stop.' };
    }
    const paths = path === undefined ? reviewable(task.turn.agent, action) : [path];
    if (paths.length === 0) {
      return { ok: true };
    }
    task.turn.agent = { ...task.turn.agent, reviewing: true };
    this.panel.changed(task.turn);
    try {
      const answer = await this.server.request(action === 'keep' ? Method.agentKeep : Method.agentUndo, path === undefined ? { taskId } : { taskId, paths });
      const changes = Array.isArray(answer?.changes) ? answer.changes : [];
      for (const c of changes) {
        task.changes.set(c.path, c);
      }
      task.turn.agent = withChanges(task.turn.agent, changes);
      const problems = changes.filter((c) => c.problem).map((c) => c.problem as string);
      return problems.length ? { ok: false, message: problems.join('; ') } : { ok: true, message: action === 'keep' ? 'Kept' : 'Undone' };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn(`${action === 'keep' ? 'Keep' : 'Undo'} of the agent's changes failed: ${message}`);
      return { ok: false, message };
    } finally {
      task.turn.agent = { ...task.turn.agent, reviewing: false };
      this.panel.changed(task.turn);
    }
  }

  /** A diff of the task's change to `path`: the original beside the agent's text. */
  async showDiff(taskId: string, rel: string): Promise<Reply> {
    const change = this.tasks.get(taskId)?.changes.get(rel);
    if (!change) {
      return { ok: false, message: 'No diff is known for this file (the task was stopped before it answered).' };
    }
    const client = this.server.running;
    const uri = client ? client.protocol2CodeConverter.asUri(change.uri) : vscode.Uri.parse(change.uri);
    const exists = await vscode.workspace.fs.stat(uri).then(
      () => true,
      () => false,
    );
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const now = open ? open.getText() : exists ? (await vscode.workspace.openTextDocument(uri)).getText() : '';
    const name = path.basename(uri.path);
    // Applied or kept: the file holds the agent's text, the original is the diff taken back.
    // Pending or undone: the file holds the original, the agent's text is the diff applied.
    const agentsInFile = change.state === 'applied' || change.state === 'kept';
    const other = applyUnifiedDiff(now, change.diff, agentsInFile ? 'backward' : 'forward');
    if (other === undefined) {
      // The file changed since: the diff as the server wrote it.
      const doc = await vscode.workspace.openTextDocument({ content: change.diff, language: 'diff' });
      await vscode.window.showTextDocument(doc, { preview: true });
      return { ok: true };
    }
    const real = exists ? uri : this.texts.add('', uri, 'none');
    const virtual = this.texts.add(other, uri, agentsInFile ? 'original' : 'agent');
    const [left, right] = agentsInFile ? [virtual, real] : [real, virtual];
    await vscode.commands.executeCommand('vscode.diff', left, right, `${name}: before ↔ after the agent (${change.state})`, { preview: true });
    return { ok: true };
  }

  private uriOf(rel: string): string {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = folder ? vscode.Uri.joinPath(folder, rel) : vscode.Uri.file(rel);
    return this.server.running?.code2ProtocolConverter.asUri(uri) ?? uri.toString();
  }

  private forgetOld(): void {
    for (const [id, task] of this.tasks) {
      if (this.tasks.size <= TASKS_KEPT) {
        break;
      }
      if (task.ended) {
        this.tasks.delete(id);
      }
    }
  }
}
