/**
 * An agent task as the chat panel shows it: its steps (from `sparkforge/agentStep`), the
 * approvals it asked for (`sparkforge/agentApprove`), and its change set (the result's
 * `changes`, then the answers of `sparkforge/agentKeep` / `sparkforge/agentUndo`). Plain data
 * and functions that return new values: the extension keeps the state, the webview draws it.
 * Pure: no `vscode` import.
 */

import type {
  AgentApproveResult,
  AgentChange,
  AgentChangeKind,
  AgentChangeState,
  AgentStatus,
  AgentStepKind,
  AgentStepParams,
  AgentStepStatus,
  Role,
  Usage,
} from '../protocol';
import { formatCost, formatTokens } from './statusText';

export interface StepView {
  index: number;
  kind: AgentStepKind;
  title: string;
  status: AgentStepStatus;
  detail?: string;
}

/** What the user answered to a command: `waiting` until then, `expired` if the task ended first. */
export type ApprovalState = 'waiting' | 'run' | 'always' | 'skip' | 'expired';
export type ApprovalAnswer = 'run' | 'always' | 'skip';

export interface ApprovalView {
  id: string;
  command: string;
  /** As the server sent it (an absolute folder). */
  cwd: string;
  /** The step that waits for it (drawn inside it), if one was running. */
  step?: number;
  state: ApprovalState;
}

export interface ChangeView {
  path: string;
  uri: string;
  kind: AgentChangeKind;
  state: AgentChangeState;
  added: number;
  removed: number;
  /** False when only the steps named the file (a stopped task): there is no diff to show. */
  diffKnown: boolean;
  problem?: string;
}

/** `running` until the answer; `stopping` after Stop, until the server answers. */
export type TaskStatus = 'running' | 'stopping' | AgentStatus;

export interface AgentView {
  taskId: string;
  role: Role;
  model?: string;
  status: TaskStatus;
  steps: StepView[];
  approvals: ApprovalView[];
  changes: ChangeView[];
  usage?: Usage;
  /** The model's final answer, or why the task ended. */
  summary?: string;
  /** A Keep or Undo is on its way to the server. */
  reviewing?: boolean;
}

const STEP_KINDS = new Set(['thinking', 'read', 'list', 'search', 'edit', 'command', 'message', 'budget', 'error', 'switch']);
const STEP_STATUSES = new Set(['running', 'done', 'failed']);

export function newTask(taskId: string, role: Role, model?: string): AgentView {
  return { taskId, role, model, status: 'running', steps: [], approvals: [], changes: [] };
}

export function isRunning(task: AgentView): boolean {
  return task.status === 'running' || task.status === 'stopping';
}

/** A step notification checked field by field; undefined if it is not one. */
export function parseStep(value: unknown): AgentStepParams | undefined {
  if (!value || typeof value !== 'object') {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (
    typeof v.taskId !== 'string' ||
    typeof v.index !== 'number' ||
    !Number.isInteger(v.index) ||
    v.index < 0 ||
    typeof v.title !== 'string' ||
    typeof v.status !== 'string' ||
    !STEP_STATUSES.has(v.status)
  ) {
    return undefined;
  }
  const kind = (typeof v.kind === 'string' && STEP_KINDS.has(v.kind) ? v.kind : 'message') as AgentStepKind;
  const step: AgentStepParams = { taskId: v.taskId, index: v.index, kind, title: v.title, status: v.status as AgentStepStatus };
  if (typeof v.detail === 'string' && v.detail) {
    step.detail = v.detail;
  }
  if (v.usage && typeof v.usage === 'object' && typeof (v.usage as Usage).inputTokens === 'number') {
    step.usage = v.usage as Usage;
  }
  return step;
}

/**
 * The task with a step added, or replaced when its index was seen before (a running step
 * that ended, or changed its title: "Waiting for approval…", then "Running `pytest -q`").
 * Steps stay in index order whatever order the notifications came in.
 */
export function withStep(task: AgentView, params: AgentStepParams): AgentView {
  const step: StepView = { index: params.index, kind: params.kind, title: params.title, status: params.status };
  // A one-line message is its own title: nothing more to open.
  if (params.detail !== undefined && params.detail.trim() !== params.title.trim()) {
    step.detail = params.detail;
  }
  const steps = task.steps.filter((s) => s.index !== params.index);
  steps.push(step);
  steps.sort((a, b) => a.index - b.index);
  const next: AgentView = { ...task, steps };
  if (params.usage) {
    next.usage = params.usage;
  }
  if (params.kind === 'switch' && params.status === 'done') {
    const role = /\b(fast|deep) model\b/.exec(params.title)?.[1];
    if (role === 'fast' || role === 'deep') {
      next.role = role;
    }
  }
  return next;
}

/**
 * The steps to list: once the task has ended, its last step is left out when it is the
 * model's final message, which the turn shows as the summary.
 */
export function listedSteps(task: AgentView): StepView[] {
  const last = task.steps.at(-1);
  if (!isRunning(task) && last?.kind === 'message' && task.summary && (last.detail ?? last.title).trim() === task.summary.trim()) {
    return task.steps.slice(0, -1);
  }
  return task.steps;
}

/** The index of the step still running last, if any: an approval belongs to it. */
export function runningStep(task: AgentView): number | undefined {
  for (let i = task.steps.length - 1; i >= 0; i--) {
    if (task.steps[i].status === 'running') {
      return task.steps[i].index;
    }
  }
  return undefined;
}

export function withApproval(task: AgentView, approval: { id: string; command: string; cwd: string }): AgentView {
  const step = runningStep(task);
  const added: ApprovalView = { ...approval, state: 'waiting' };
  if (step !== undefined) {
    added.step = step;
  }
  return { ...task, approvals: [...task.approvals, added] };
}

/** What the server is told for an answer. */
export function approvalReply(answer: ApprovalAnswer): AgentApproveResult {
  switch (answer) {
    case 'run':
      return { approved: true };
    case 'always':
      return { approved: true, always: true };
    case 'skip':
      return { approved: false };
  }
}

/**
 * The user's answer to a waiting approval: the task with it recorded and the reply for the
 * server; no reply when it is not waiting any more (answered twice, or the task ended).
 */
export function answerApproval(task: AgentView, id: string, answer: ApprovalAnswer | 'expired'): { task: AgentView; reply?: AgentApproveResult } {
  const found = task.approvals.find((a) => a.id === id);
  if (!found || found.state !== 'waiting') {
    return { task };
  }
  const approvals = task.approvals.map((a) => (a.id === id ? { ...a, state: answer } : a));
  return { task: { ...task, approvals }, reply: answer === 'expired' ? { approved: false } : approvalReply(answer) };
}

/** The approvals still waiting (to be answered "not approved" when the task ends). */
export function waitingApprovals(task: AgentView): string[] {
  return task.approvals.filter((a) => a.state === 'waiting').map((a) => a.id);
}

/** Lines added and removed by a unified diff. */
export function diffStats(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++ ')) {
      added++;
    } else if (line.startsWith('-') && !line.startsWith('--- ')) {
      removed++;
    }
  }
  return { added, removed };
}

export function changeView(change: AgentChange): ChangeView {
  const view: ChangeView = {
    path: change.path,
    uri: change.uri,
    kind: change.kind,
    state: change.state,
    ...diffStats(change.diff ?? ''),
    diffKnown: typeof change.diff === 'string',
  };
  if (change.problem) {
    view.problem = change.problem;
  }
  return view;
}

/** The task's files with `updates` (a result's or a Keep/Undo answer's) in place, by path. */
export function withChanges(task: AgentView, updates: readonly AgentChange[]): AgentView {
  const changes = [...task.changes];
  for (const update of updates) {
    const view = changeView(update);
    const at = changes.findIndex((c) => c.path === update.path);
    if (at >= 0) {
      changes[at] = view;
    } else {
      changes.push(view);
    }
  }
  return { ...task, changes };
}

const EDITED = /^(updated|created|deleted) (.+)$/;

/**
 * The files the task's edit steps say they changed ("updated cart.py, created t.py"), for a
 * task stopped before it answered with its change set: Keep and Undo by path still work, and
 * their answers bring the diffs.
 */
export function changesFromSteps(task: AgentView, uriOf: (path: string) => string): AgentView {
  const seen = new Map<string, AgentChangeKind>();
  for (const step of task.steps) {
    if (step.kind !== 'edit' || step.status !== 'done' || !step.detail) {
      continue;
    }
    for (const part of step.detail.split(', ')) {
      const m = EDITED.exec(part.trim());
      if (m) {
        const kind = ({ updated: 'updated', created: 'created', deleted: 'deleted' } as const)[m[1] as 'updated' | 'created' | 'deleted'];
        const before = seen.get(m[2]);
        // Created then updated is still a new file; deleted last is deleted.
        seen.set(m[2], before === 'created' && kind === 'updated' ? 'created' : kind);
      }
    }
  }
  const changes = [...task.changes];
  for (const [path, kind] of seen) {
    if (!changes.some((c) => c.path === path)) {
      changes.push({ path, uri: uriOf(path), kind, state: 'applied', added: 0, removed: 0, diffKnown: false });
    }
  }
  return { ...task, changes };
}

export function canKeep(change: ChangeView): boolean {
  return change.state === 'applied' || change.state === 'pending';
}

export function canUndo(change: ChangeView): boolean {
  return change.state !== 'undone';
}

/** The paths a Keep all / Undo all would act on (none: its button is disabled). */
export function reviewable(task: AgentView, action: 'keep' | 'undo'): string[] {
  return task.changes.filter(action === 'keep' ? canKeep : canUndo).map((c) => c.path);
}

/** "12.3k in · 1.2k out · $0.02 · 5 steps" (the steps counted are tool calls). */
export function usageLine(usage: Usage | undefined, toolSteps?: number): string {
  const parts: string[] = [];
  if (usage) {
    parts.push(`${formatTokens(usage.inputTokens ?? 0)} in`, `${formatTokens(usage.outputTokens ?? 0)} out`);
    const cost = formatCost(usage.costUsd);
    if (cost) {
      parts.push(cost);
    }
  }
  if (toolSteps !== undefined) {
    parts.push(`${toolSteps} step${toolSteps === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}

/** The tool calls among the steps so far (the budget counts them): not messages, switches, stops. */
export function toolSteps(task: AgentView): number {
  return task.steps.filter((s) => ['read', 'list', 'search', 'edit', 'command'].includes(s.kind)).length;
}

/** The text for a stored transcript: the summary, then the files changed. */
export function taskSummaryText(task: AgentView): string {
  const lines = [task.summary || `The agent task ${task.status}.`];
  if (task.changes.length) {
    lines.push('', ...task.changes.map((c) => `- ${c.kind} \`${c.path}\` (${c.state})`));
  }
  return lines.join('\n');
}

// -- unified diffs ---------------------------------------------------------------------------

interface Hunk {
  /** Zero-based line where each side's lines start (an empty side: the line after which). */
  oldAt: number;
  newAt: number;
  /** [op, line with its ending] */
  lines: Array<[' ' | '-' | '+', string]>;
}

/** Lines with their endings ("a\r\n", "b"): joined, they are the text again. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A side of a hunk header ("-3,2"): where its lines start, zero-based. */
function sideStart(start: string, count: string | undefined): number {
  const n = Number(start);
  // "@@ -4,0 …": nothing on this side, after line 4; "-0,0": an empty file.
  return count === '0' ? n : n - 1;
}

function parseHunks(diff: string): Hunk[] | undefined {
  const hunks: Hunk[] = [];
  let hunk: Hunk | undefined;
  for (const line of linesOf(diff)) {
    if (line.startsWith('@@')) {
      const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      if (!m) {
        return undefined;
      }
      hunk = { oldAt: sideStart(m[1], m[2]), newAt: sideStart(m[3], m[4]), lines: [] };
      hunks.push(hunk);
    } else if (!hunk) {
      continue; // the ---/+++ header
    } else if (line.startsWith('\\')) {
      // "\ No newline at end of file": the line before it has no ending.
      const last = hunk.lines.at(-1);
      if (last) {
        last[1] = last[1].replace(/\r?\n$/, '');
      }
    } else if (line[0] === ' ' || line[0] === '-' || line[0] === '+') {
      hunk.lines.push([line[0], line.slice(1)]);
    } else if (line === '\n' || line === '\r\n') {
      hunk.lines.push([' ', line]); // a context line of an empty line whose space was stripped
    } else {
      return undefined;
    }
  }
  return hunks;
}

/**
 * `text` with a unified diff applied forwards (the old side to the new) or backwards (the new
 * to the old): the other side of the agent's change to a file, for its diff view. Each hunk
 * must be where its header says. Undefined when the diff does not fit the text (the file
 * changed since).
 */
export function applyUnifiedDiff(text: string, diff: string, direction: 'forward' | 'backward'): string | undefined {
  const hunks = parseHunks(diff);
  if (!hunks) {
    return undefined;
  }
  // Forwards the old side (' ' and '-') becomes the new (' ' and '+'); backwards the reverse.
  const [gone, added] = direction === 'forward' ? ['-', '+'] : ['+', '-'];
  const lines = linesOf(text);
  const out: string[] = [];
  let at = 0;
  for (const hunk of hunks) {
    const before = hunk.lines.filter(([op]) => op !== added).map(([, l]) => l);
    const after = hunk.lines.filter(([op]) => op !== gone).map(([, l]) => l);
    const start = direction === 'forward' ? hunk.oldAt : hunk.newAt;
    if (start < at || !matchesAt(lines, before, start)) {
      return undefined;
    }
    out.push(...lines.slice(at, start), ...after);
    at = start + before.length;
  }
  out.push(...lines.slice(at));
  return out.join('');
}

function matchesAt(lines: readonly string[], block: readonly string[], start: number): boolean {
  if (start < 0 || start + block.length > lines.length) {
    return false;
  }
  return block.every((l, i) => lines[start + i] === l);
}
