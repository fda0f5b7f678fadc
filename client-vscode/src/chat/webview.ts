/**
 * The chat webview's script, bundled by esbuild into dist/chat.js (the page's CSP allows no
 * other script). It draws what the extension sends and reports what the user does; messages
 * are `{type, id, data}` (messages.ts).
 *
 * Answers arrive as Markdown text and are rendered here (lib/chatMarkdown.ts). While an
 * answer streams, the blocks that are finished are rendered once and appended; only the
 * unfinished tail is redrawn, so a selection in the finished part, and the focus, survive.
 */

import { canKeep, canUndo, isRunning, listedSteps, reviewable, toolSteps, usageLine, type AgentView, type ApprovalView, type ChangeView, type StepView } from '../lib/agentTask';
import { escapeHtml, renderMarkdown, settledLength } from '../lib/chatMarkdown';
import type { Mode, ViewTurn } from './messages';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void; getState(): unknown; setState(state: unknown): void };

const vscode = acquireVsCodeApi();

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const transcript = byId<HTMLElement>('transcript');
const emptyAsk = byId<HTMLElement>('empty');
const emptyAgent = byId<HTMLElement>('empty-agent');
const includeLabel = byId<HTMLElement>('includeLabel');
const notice = byId<HTMLElement>('notice');
const statusLine = byId<HTMLElement>('status');
const form = byId<HTMLFormElement>('composer');
const input = byId<HTMLTextAreaElement>('input');
const includeFile = byId<HTMLInputElement>('includeFile');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const contextLabel = byId<HTMLElement>('context');
const roleButtons = document.querySelectorAll<HTMLButtonElement>('button.role');
const modeButtons = document.querySelectorAll<HTMLButtonElement>('button.mode');
let mode: Mode = 'ask';
let transcriptEmpty = true;

function showEmpty(value: boolean): void {
  transcriptEmpty = value;
  emptyAsk.hidden = !value || mode !== 'ask';
  emptyAgent.hidden = !value || mode !== 'agent';
}

function setMode(value: Mode): void {
  mode = value === 'agent' ? 'agent' : 'ask';
  modeButtons.forEach((b) => {
    const on = b.dataset.mode === mode;
    b.classList.toggle('selected', on);
    b.setAttribute('aria-checked', String(on));
  });
  input.placeholder =
    mode === 'agent'
      ? 'Describe a task for the agent… (Enter to start, Shift+Enter for a new line)'
      : 'Ask sparkforge… (Enter to send, Shift+Enter for a new line)';
  sendButton.textContent = mode === 'agent' ? 'Start' : 'Send';
  includeLabel.hidden = mode === 'agent';
  showEmpty(transcriptEmpty);
}

type Reply = { ok: boolean; message?: string };

let nextId = 1;
const pending = new Map<string, (data: Reply) => void>();
let busy = false;

function post(type: string, data?: unknown): string {
  const id = String(nextId++);
  vscode.postMessage({ type, id, data });
  return id;
}

function request(type: string, data: unknown): Promise<Reply> {
  return new Promise((resolve) => pending.set(post(type, data), resolve));
}

// The draft and the checkbox survive the view being hidden or reloaded.
const saved = (vscode.getState() ?? {}) as { draft?: unknown; includeFile?: unknown };
input.value = typeof saved.draft === 'string' ? saved.draft : '';
includeFile.checked = saved.includeFile === true;
function saveState(): void {
  vscode.setState({ draft: input.value, includeFile: includeFile.checked });
}
input.addEventListener('input', saveState);
includeFile.addEventListener('change', saveState);

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
function showNotice(text: string, error = false): void {
  const stick = nearBottom(); // the notice takes room from the transcript: keep its end in sight
  notice.textContent = text;
  notice.classList.toggle('error', error);
  notice.hidden = false;
  if (stick) {
    transcript.scrollTop = transcript.scrollHeight;
  }
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), 4000);
}

/** The one live region: screen readers hear "answering", "answered", not every token. */
function setStatus(text: string): void {
  if (statusLine.textContent !== text) {
    statusLine.textContent = text;
  }
}

function nearBottom(): boolean {
  return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
}

function setBusy(value: boolean): void {
  busy = value;
  stopButton.hidden = !value;
  sendButton.disabled = value;
}

function setRole(role: string): void {
  roleButtons.forEach((b) => {
    const on = b.dataset.role === role;
    b.classList.toggle('selected', on);
    b.setAttribute('aria-checked', String(on));
  });
}

/** What is drawn of one turn: its text so far and how much of it is rendered for good. */
interface Drawn {
  el: HTMLElement;
  settled: HTMLElement;
  tail: HTMLElement;
  text: string;
  settledTo: number;
  tailText: string | undefined;
  turn: ViewTurn;
}

const drawn = new Map<string, Drawn>();

function create(turn: ViewTurn): Drawn {
  const el = document.createElement('section');
  el.dataset.turn = turn.id;
  const head = document.createElement('div');
  head.className = 'turn-head';
  const body = document.createElement('div');
  body.className = 'turn-body';
  const settled = document.createElement('div');
  settled.className = 'settled';
  const tail = document.createElement('div');
  tail.className = 'tail';
  body.append(settled, tail);
  const agent = document.createElement('div');
  agent.className = 'agent';
  agent.hidden = true;
  const note = document.createElement('div');
  note.className = 'turn-note';
  el.append(head, agent, body, note);
  transcript.append(el);
  const d: Drawn = { el, settled, tail, text: '', settledTo: 0, tailText: undefined, turn };
  drawn.set(turn.id, d);
  return d;
}

function appendHtml(parent: HTMLElement, html: string): void {
  // Safe HTML: lib/chatMarkdown.ts escapes raw HTML and keeps only http(s) links.
  parent.insertAdjacentHTML('beforeend', html);
}

/** Brings the turn's body up to `text`: new finished blocks are appended, the tail redrawn. */
function drawText(d: Drawn, text: string, status: ViewTurn['status']): void {
  const streaming = status === 'streaming';
  if (!text.startsWith(d.text)) {
    // The text was replaced (the final answer differs from what streamed): start over.
    d.settled.replaceChildren();
    d.settledTo = 0;
    d.tailText = undefined;
  }
  d.text = text;
  const settleTo = settledLength(text, d.settledTo);
  if (settleTo > d.settledTo) {
    appendHtml(d.settled, renderMarkdown(text.slice(d.settledTo, settleTo)));
    d.settledTo = settleTo;
  }
  const tail = text.slice(d.settledTo);
  const thinking = streaming && !text && !d.turn.agent; // a task shows its own steps
  const key = (thinking ? '\0' : '') + tail; // the placeholder goes when the answer ends empty
  if (key !== d.tailText) {
    d.tailText = key;
    d.tail.innerHTML = tail ? renderMarkdown(tail) : thinking ? '<p class="thinking">…</p>' : '';
  }
  if (status === 'done') {
    // A finished answer's last block is complete even if the model never closed its fence.
    d.tail.querySelectorAll('.code-block.streaming').forEach((b) => b.classList.remove('streaming'));
  }
}

function headText(turn: ViewTurn): string {
  if (turn.author === 'user') {
    return 'You';
  }
  return [turn.agent ? 'sparkforge agent' : 'sparkforge', turn.role, turn.model].filter(Boolean).join(' · ');
}

// -- agent tasks ------------------------------------------------------------------------------

/** Steps whose detail the user opened, by `taskId:index`: kept open across redraws. */
const openSteps = new Set<string>();

/** A step title's `code` spans as <code>; the rest escaped. */
function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function button(label: string, attrs: Record<string, string>, secondary = true, disabled = false): string {
  const data = Object.entries(attrs)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<button type="button" class="${secondary ? 'secondary ' : ''}agent-button"${data}${disabled ? ' disabled' : ''}>${escapeHtml(label)}</button>`;
}

const STEP_ICONS: Record<StepView['status'], string> = { running: '', done: '✓', failed: '✗' };

function cwdName(cwd: string): string {
  return cwd.split(/[\\/]/).filter(Boolean).pop() ?? cwd;
}

/** An approval: its question while it waits; then what was answered (the command only when no step names it). */
function approvalHtml(a: ApprovalView, inStep: boolean): string {
  if (a.state === 'waiting') {
    return `<div class="approval waiting" data-approval="${escapeHtml(a.id)}">
<div class="approval-question">Run <code>${escapeHtml(a.command)}</code> in <span title="${escapeHtml(a.cwd)}">${escapeHtml(cwdName(a.cwd))}</span>?</div>
<div class="approval-buttons">${button('Run', { agent: 'approve', answer: 'run', approval: a.id }, false)}${button('Always', { agent: 'approve', answer: 'always', approval: a.id })}${button('Skip', { agent: 'approve', answer: 'skip', approval: a.id })}</div>
</div>`;
  }
  const said = { run: 'allowed once', always: 'allowed for this session', skip: 'skipped by you', expired: 'not answered' }[a.state];
  const what = inStep ? '' : `<code>${escapeHtml(a.command)}</code>: `;
  return `<div class="approval ${a.state}">${what}${said}</div>`;
}

function stepHtml(task: AgentView, step: StepView): string {
  const key = `${task.taskId}:${step.index}`;
  const icon = `<span class="step-icon ${step.status}" aria-label="${step.status}">${STEP_ICONS[step.status]}</span>`;
  const title = `<span class="step-title">${inlineCode(step.title)}</span>`;
  const approvals = task.approvals
    .filter((a) => a.step === step.index)
    .map((a) => approvalHtml(a, true))
    .join('');
  const head = step.detail
    ? `<details data-step="${escapeHtml(key)}"${openSteps.has(key) ? ' open' : ''}><summary>${icon}${title}</summary><pre class="step-detail">${escapeHtml(step.detail)}</pre></details>`
    : `<div class="step-line">${icon}${title}</div>`;
  return `<li class="step ${step.kind} ${step.status}">${head}${approvals}</li>`;
}

const KIND_LETTER: Record<ChangeView['kind'], string> = { created: 'A', updated: 'M', deleted: 'D' };

function changeHtml(task: AgentView, c: ChangeView): string {
  const busy = Boolean(task.reviewing) || isRunning(task);
  const stats = c.diffKnown ? `<span class="change-stats"><span class="added">+${c.added}</span> <span class="removed">−${c.removed}</span></span>` : '';
  return `<li class="change ${c.state}">
<span class="change-kind ${c.kind}" title="${c.kind}">${KIND_LETTER[c.kind]}</span>
<a class="change-path" href="#" data-agent="diff" data-path="${escapeHtml(c.path)}" title="Show the diff">${escapeHtml(c.path)}</a>
${stats}<span class="change-state">${c.state}</span>
<span class="change-buttons">${button('Diff', { agent: 'diff', path: c.path }, true, !c.diffKnown)}${button('Keep', { agent: 'keep', path: c.path }, true, busy || !canKeep(c))}${button('Undo', { agent: 'undo', path: c.path }, true, busy || !canUndo(c))}</span>
${c.problem ? `<div class="change-problem">${escapeHtml(c.problem)}</div>` : ''}
</li>`;
}

function changesHtml(task: AgentView): string {
  if (task.changes.length === 0) {
    return '';
  }
  const busy = Boolean(task.reviewing) || isRunning(task);
  const n = task.changes.length;
  return `<div class="agent-changes">
<div class="changes-head"><span class="changes-title">Changes · ${n} file${n === 1 ? '' : 's'}</span>
${button('Keep all', { agent: 'keep' }, false, busy || reviewable(task, 'keep').length === 0)}${button('Undo all', { agent: 'undo' }, true, busy || reviewable(task, 'undo').length === 0)}</div>
<ul class="changes">${task.changes.map((c) => changeHtml(task, c)).join('')}</ul>
</div>`;
}

function footHtml(task: AgentView): string {
  const usage = usageLine(task.usage, toolSteps(task));
  const other = task.role === 'deep' ? 'fast' : 'deep';
  const handOff = task.status === 'running' ? button(`Hand to ${other} model`, { agent: 'handOff', role: other }) : '';
  const state = task.status === 'stopping' ? '<span class="agent-state">stopping…</span>' : '';
  return `<div class="agent-foot"><span class="agent-usage">${escapeHtml(usage)}</span>${state}<span class="spacer"></span>${handOff}</div>`;
}

function drawAgent(container: HTMLElement, task: AgentView): void {
  container.hidden = false;
  container.dataset.task = task.taskId;
  const listed = listedSteps(task);
  const steps = listed.map((st) => stepHtml(task, st)).join('');
  const loose = task.approvals
    .filter((a) => a.step === undefined || !listed.some((st) => st.index === a.step))
    .map((a) => approvalHtml(a, false))
    .join('');
  const thinking = isRunning(task) && !task.steps.some((st) => st.status === 'running') ? '<li class="step running"><div class="step-line"><span class="step-icon running"></span><span class="step-title">Thinking…</span></div></li>' : '';
  // Built as a string from escaped parts only (escapeHtml), like the chat's rendered Markdown.
  container.innerHTML = `<ol class="agent-steps">${steps}${thinking}</ol>${loose}${changesHtml(task)}${footHtml(task)}`;
  container.querySelectorAll<HTMLDetailsElement>('details[data-step]').forEach((d) =>
    d.addEventListener('toggle', () => {
      const key = d.dataset.step ?? '';
      if (d.open) {
        openSteps.add(key);
      } else {
        openSteps.delete(key);
      }
    }),
  );
}

function upsertTurn(turn: ViewTurn): void {
  const stick = nearBottom();
  const d = drawn.get(turn.id) ?? create(turn);
  d.turn = turn;
  d.el.className = `turn ${turn.author} ${turn.status}`;
  (d.el.querySelector('.turn-head') as HTMLElement).textContent = headText(turn);
  if (turn.author === 'user') {
    if (d.text !== turn.text) {
      d.text = turn.text;
      d.settled.textContent = turn.text; // the question as typed, never rendered
    }
  } else {
    drawText(d, turn.text, turn.status);
  }
  const agentBox = d.el.querySelector('.agent') as HTMLElement;
  if (turn.agent) {
    d.el.classList.add('agent-task');
    drawAgent(agentBox, turn.agent);
  }
  const note = d.el.querySelector('.turn-note') as HTMLElement;
  note.textContent = turn.note ?? '';
  note.hidden = !turn.note;
  showEmpty(false);
  if (turn.author === 'assistant') {
    setStatus(statusOf(turn));
  }
  if (stick) {
    transcript.scrollTop = transcript.scrollHeight;
  }
}

function statusOf(turn: ViewTurn): string {
  const model = turn.model ?? turn.role ?? 'the model';
  const task = turn.agent;
  if (task) {
    const last = task.steps.at(-1);
    switch (task.status) {
      case 'running':
        return task.approvals.some((a) => a.state === 'waiting') ? 'The agent waits for your answer.' : `The agent is working${last ? `: ${last.title.replace(/`/g, '')}` : '…'}`;
      case 'stopping':
        return 'Stopping the agent…';
      case 'done':
        return `The agent finished (${model}).`;
      case 'stopped':
        return 'The agent stopped: a budget ran out.';
      case 'cancelled':
        return 'Stopped.';
      case 'failed':
        return `The agent failed: ${task.summary ?? ''}`;
    }
  }
  switch (turn.status) {
    case 'streaming':
      return `${model} is answering…`;
    case 'done':
      return `Answered by ${model}.`;
    case 'stopped':
      return 'Stopped.';
    case 'error':
      return `${model} failed: ${turn.note ?? 'no answer'}`;
  }
}

function append(id: string, text: string): void {
  const d = drawn.get(id);
  if (!d) {
    return;
  }
  const stick = nearBottom();
  drawText(d, d.text + text, 'streaming');
  if (stick) {
    transcript.scrollTop = transcript.scrollHeight;
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const message = event.data as { type?: unknown; id?: string; data?: any };
  if (!message || typeof message.type !== 'string') {
    return;
  }
  const data = message.data ?? {};
  switch (message.type) {
    case 'state': {
      transcript.replaceChildren();
      drawn.clear();
      const turns: ViewTurn[] = Array.isArray(data.turns) ? data.turns : [];
      turns.forEach(upsertTurn);
      showEmpty(turns.length === 0);
      if (turns.length === 0) {
        setStatus('');
      }
      setRole(data.role);
      setMode(data.mode);
      setBusy(Boolean(data.busy));
      break;
    }
    case 'turn':
      upsertTurn(data as ViewTurn);
      break;
    case 'append':
      if (typeof data.id === 'string' && typeof data.text === 'string') {
        append(data.id, data.text);
      }
      break;
    case 'busy':
      setBusy(Boolean(data.busy));
      break;
    case 'role':
      setRole(data.role);
      break;
    case 'mode':
      setMode(data.mode);
      break;
    case 'context':
      contextLabel.textContent = data.label || '';
      break;
    case 'reply': {
      const resolve = pending.get(message.id ?? '');
      pending.delete(message.id ?? '');
      resolve?.(data as Reply);
      break;
    }
  }
});

function send(): void {
  const text = input.value.trim();
  if (!text || busy) {
    return;
  }
  void request('send', { text, includeFile: includeFile.checked }).then((reply) => {
    if (reply.ok) {
      input.value = '';
      saveState();
    } else if (reply.message) {
      showNotice(reply.message, true);
    }
  });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
stopButton.addEventListener('click', () => post('stop'));
roleButtons.forEach((button) =>
  button.addEventListener('click', () => {
    setRole(button.dataset.role || 'deep');
    post('setRole', { role: button.dataset.role });
  }),
);

modeButtons.forEach((b) =>
  b.addEventListener('click', () => {
    setMode(b.dataset.mode === 'agent' ? 'agent' : 'ask');
    post('setMode', { mode });
  }),
);

// The agent's buttons: approvals, Keep / Undo, diffs, hand-off (found by delegation).
transcript.addEventListener('click', (event) => {
  const target = (event.target as HTMLElement).closest<HTMLElement>('[data-agent]');
  const taskId = target?.closest<HTMLElement>('.agent')?.dataset.task;
  if (!target || !taskId || (target as HTMLButtonElement).disabled) {
    return;
  }
  event.preventDefault();
  const action = target.dataset.agent ?? '';
  const data: Record<string, string> = { taskId };
  if (target.dataset.path) {
    data.path = target.dataset.path;
  }
  if (action === 'approve') {
    data.approval = target.dataset.approval ?? '';
    data.answer = target.dataset.answer ?? '';
    target.closest('.approval')?.querySelectorAll('button').forEach((b) => (b.disabled = true));
  } else if (action === 'handOff') {
    data.role = target.dataset.role ?? '';
    (target as HTMLButtonElement).disabled = true;
  }
  void request(action, data).then((reply) => {
    if (!reply.ok && reply.message) {
      showNotice(reply.message, true);
    } else if (reply.ok && reply.message && action !== 'diff') {
      showNotice(reply.message);
    }
  });
});

// Copy and Apply buttons of code blocks (drawn by the renderer, so found by delegation).
transcript.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
  const code = button?.closest('.code-block')?.querySelector('code');
  if (!button || !code) {
    return;
  }
  const label = button.textContent;
  button.disabled = true;
  void request(button.dataset.action === 'apply' ? 'apply' : 'copy', { code: code.textContent ?? '' }).then((reply) => {
    button.disabled = false;
    if (reply.message) {
      button.textContent = reply.ok ? reply.message : label;
      if (!reply.ok) {
        showNotice(reply.message, true);
      }
      setTimeout(() => (button.textContent = label), 1500);
    }
  });
});

post('ready');
