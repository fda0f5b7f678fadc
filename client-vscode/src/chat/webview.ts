/**
 * The chat webview's script, bundled by esbuild into dist/chat.js (the page's CSP allows no
 * other script). It draws what the extension sends and reports what the user does; messages
 * are `{type, id, data}` (messages.ts).
 *
 * Answers arrive as Markdown text and are rendered here (lib/chatMarkdown.ts). While an
 * answer streams, the blocks that are finished are rendered once and appended; only the
 * unfinished tail is redrawn, so a selection in the finished part, and the focus, survive.
 */

import { renderMarkdown, settledLength } from '../lib/chatMarkdown';
import type { ViewTurn } from './messages';

declare function acquireVsCodeApi(): { postMessage(message: unknown): void; getState(): unknown; setState(state: unknown): void };

const vscode = acquireVsCodeApi();

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const transcript = byId<HTMLElement>('transcript');
const empty = byId<HTMLElement>('empty');
const notice = byId<HTMLElement>('notice');
const statusLine = byId<HTMLElement>('status');
const form = byId<HTMLFormElement>('composer');
const input = byId<HTMLTextAreaElement>('input');
const includeFile = byId<HTMLInputElement>('includeFile');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const contextLabel = byId<HTMLElement>('context');
const roleButtons = document.querySelectorAll<HTMLButtonElement>('button.role');

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
  notice.textContent = text;
  notice.classList.toggle('error', error);
  notice.hidden = false;
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
  const note = document.createElement('div');
  note.className = 'turn-note';
  el.append(head, body, note);
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
  const thinking = streaming && !text;
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
  return ['sparkforge', turn.role, turn.model].filter(Boolean).join(' · ');
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
  const note = d.el.querySelector('.turn-note') as HTMLElement;
  note.textContent = turn.note ?? '';
  note.hidden = !turn.note;
  empty.hidden = true;
  if (turn.author === 'assistant') {
    setStatus(statusOf(turn));
  }
  if (stick) {
    transcript.scrollTop = transcript.scrollHeight;
  }
}

function statusOf(turn: ViewTurn): string {
  const model = turn.model ?? turn.role ?? 'the model';
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
      empty.hidden = turns.length > 0;
      if (turns.length === 0) {
        setStatus('');
      }
      setRole(data.role);
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
