/**
 * Messages between the chat webview (media/chat.js) and the extension, all shaped
 * `{type, id, data}`. A webview request that expects an answer gets a `reply` with its id.
 */

import type { ApprovalAnswer, AgentView } from '../lib/agentTask';
import type { Role } from '../protocol';

export type TurnStatus = 'streaming' | 'done' | 'stopped' | 'error';

/** Ask: a chat question (`sparkforge/chat`); Agent: a task (`sparkforge/agent`). */
export type Mode = 'ask' | 'agent';

/** One message of the transcript as the webview draws it. */
export interface ViewTurn {
  id: string;
  author: 'user' | 'assistant';
  /** The model that answered (assistant turns): its role and its name. */
  role?: Role;
  model?: string;
  /** Markdown for answers (the webview renders it with lib/chatMarkdown.ts), plain for questions. */
  text: string;
  status: TurnStatus;
  /** Usage, an error, or the context that went with a question. */
  note?: string;
  /** An agent task's steps, approvals and change set (its `text` is the summary). */
  agent?: AgentView;
}

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready'; id: string; data?: undefined }
  | { type: 'send'; id: string; data: { text: string; includeFile: boolean } }
  | { type: 'stop'; id: string; data?: undefined }
  | { type: 'newChat'; id: string; data?: undefined }
  | { type: 'setRole'; id: string; data: { role: Role } }
  | { type: 'apply'; id: string; data: { code: string } }
  | { type: 'copy'; id: string; data: { code: string } }
  | { type: 'setMode'; id: string; data: { mode: Mode } }
  | { type: 'approve'; id: string; data: { taskId: string; approval: string; answer: ApprovalAnswer } }
  | { type: 'keep' | 'undo'; id: string; data: { taskId: string; path?: string } }
  | { type: 'diff'; id: string; data: { taskId: string; path: string } }
  | { type: 'handOff'; id: string; data: { taskId: string; role: Role } };

export interface Reply {
  ok: boolean;
  /** Shown briefly in the webview. */
  message?: string;
}

/** Extension -> webview. */
export type ToWebview =
  | { type: 'state'; id: string; data: { role: Role; mode: Mode; busy: boolean; turns: ViewTurn[] } }
  | { type: 'turn'; id: string; data: ViewTurn }
  /** Streamed text to add to the end of a turn's text. */
  | { type: 'append'; id: string; data: { id: string; text: string } }
  | { type: 'busy'; id: string; data: { busy: boolean } }
  | { type: 'role'; id: string; data: { role: Role } }
  | { type: 'mode'; id: string; data: { mode: Mode } }
  | { type: 'context'; id: string; data: { label: string } }
  | { type: 'reply'; id: string; data: Reply };

const TYPES = new Set(['ready', 'send', 'stop', 'newChat', 'setRole', 'apply', 'copy', 'setMode', 'approve', 'keep', 'undo', 'diff', 'handOff']);
const ANSWERS = new Set(['run', 'always', 'skip']);

const isRole = (v: unknown): v is Role => v === 'fast' || v === 'deep';
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks a message from the webview before it is trusted with anything. */
export function parseFromWebview(value: unknown): FromWebview | undefined {
  if (!value || typeof value !== 'object') {
    return undefined;
  }
  const { type, id, data } = value as { type?: unknown; id?: unknown; data?: unknown };
  if (typeof type !== 'string' || !TYPES.has(type) || typeof id !== 'string') {
    return undefined;
  }
  const d = (data ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'send':
      return typeof d.text === 'string' ? { type, id, data: { text: d.text, includeFile: d.includeFile === true } } : undefined;
    case 'setRole':
      return isRole(d.role) ? { type, id, data: { role: d.role } } : undefined;
    case 'apply':
    case 'copy':
      return typeof d.code === 'string' ? { type, id, data: { code: d.code } } : undefined;
    case 'setMode':
      return d.mode === 'ask' || d.mode === 'agent' ? { type, id, data: { mode: d.mode } } : undefined;
    case 'approve':
      return isText(d.taskId) && isText(d.approval) && typeof d.answer === 'string' && ANSWERS.has(d.answer)
        ? { type, id, data: { taskId: d.taskId, approval: d.approval, answer: d.answer as ApprovalAnswer } }
        : undefined;
    case 'keep':
    case 'undo':
      if (!isText(d.taskId) || (d.path !== undefined && !isText(d.path))) {
        return undefined;
      }
      return d.path === undefined ? { type, id, data: { taskId: d.taskId } } : { type, id, data: { taskId: d.taskId, path: d.path as string } };
    case 'diff':
      return isText(d.taskId) && isText(d.path) ? { type, id, data: { taskId: d.taskId, path: d.path } } : undefined;
    case 'handOff':
      return isText(d.taskId) && isRole(d.role) ? { type, id, data: { taskId: d.taskId, role: d.role } } : undefined;
    default:
      return { type, id } as FromWebview;
  }
}
