/**
 * Messages between the chat webview (media/chat.js) and the extension, all shaped
 * `{type, id, data}`. A webview request that expects an answer gets a `reply` with its id.
 */

import type { Role } from '../protocol';

export type TurnStatus = 'streaming' | 'done' | 'stopped' | 'error';

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
}

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready'; id: string; data?: undefined }
  | { type: 'send'; id: string; data: { text: string; includeFile: boolean } }
  | { type: 'stop'; id: string; data?: undefined }
  | { type: 'newChat'; id: string; data?: undefined }
  | { type: 'setRole'; id: string; data: { role: Role } }
  | { type: 'apply'; id: string; data: { code: string } }
  | { type: 'copy'; id: string; data: { code: string } };

export interface Reply {
  ok: boolean;
  /** Shown briefly in the webview. */
  message?: string;
}

/** Extension -> webview. */
export type ToWebview =
  | { type: 'state'; id: string; data: { role: Role; busy: boolean; turns: ViewTurn[] } }
  | { type: 'turn'; id: string; data: ViewTurn }
  /** Streamed text to add to the end of a turn's text. */
  | { type: 'append'; id: string; data: { id: string; text: string } }
  | { type: 'busy'; id: string; data: { busy: boolean } }
  | { type: 'role'; id: string; data: { role: Role } }
  | { type: 'context'; id: string; data: { label: string } }
  | { type: 'reply'; id: string; data: Reply };

const TYPES = new Set(['ready', 'send', 'stop', 'newChat', 'setRole', 'apply', 'copy']);

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
      return d.role === 'fast' || d.role === 'deep' ? { type, id, data: { role: d.role } } : undefined;
    case 'apply':
    case 'copy':
      return typeof d.code === 'string' ? { type, id, data: { code: d.code } } : undefined;
    default:
      return { type, id } as FromWebview;
  }
}
