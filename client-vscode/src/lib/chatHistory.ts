/**
 * Chat conversations as the extension keeps them (per workspace, in workspaceState), and the
 * `history` that re-seeds a server that no longer knows a conversation (it restarted, or the
 * window was reloaded). Pure: no `vscode` import.
 */

import type { ChatHistoryEntry, Role } from '../protocol';

export type Author = 'user' | 'assistant';
export type StoredStatus = 'done' | 'stopped' | 'error';

export interface StoredTurn {
  author: Author;
  text: string;
  status: StoredStatus;
  /** Answers: the role and the model that wrote them. */
  role?: Role;
  model?: string;
  /** Usage, an error, or the context that went with a question. */
  note?: string;
}

export interface StoredConversation {
  id: string;
  title: string;
  /** ms since the epoch, of the last turn. */
  updated: number;
  turns: StoredTurn[];
}

export const LIMITS = {
  conversations: 30,
  turnsPerConversation: 200,
  /** Characters kept of one turn's text. */
  turnChars: 100_000,
  /**
   * Characters of history sent with a question: the server keeps about 24,000 tokens of it,
   * so more would only be read and dropped.
   */
  historyChars: 200_000,
};

/**
 * The turns the model should see as the conversation so far, as the server would have kept
 * them: a question whose answer failed is left out (the server forgets it), and a stopped
 * answer keeps what was shown, marked "(stopped)".
 */
export function historyOf(turns: readonly StoredTurn[], maxChars = LIMITS.historyChars): ChatHistoryEntry[] {
  const out: ChatHistoryEntry[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i];
    if (turn.author === 'user') {
      const answer = turns[i + 1];
      if (answer?.author === 'assistant' && (answer.status === 'error' || (answer.status === 'stopped' && !answer.text))) {
        i++; // not answered: the server dropped the question too
        continue;
      }
      out.push({ role: 'user', text: turn.text });
    } else if (turn.text && turn.status !== 'error') {
      const text = turn.status === 'stopped' ? `${turn.text}\n\n(stopped)` : turn.text;
      out.push(turn.model ? { role: 'assistant', text, model: turn.model } : { role: 'assistant', text });
    }
  }
  // The newest turns that fit, the way the server trims them.
  let used = 0;
  let first = out.length;
  while (first > 0 && used + out[first - 1].text.length <= maxChars) {
    used += out[--first].text.length;
  }
  return out.slice(first);
}

export function titleOf(turns: readonly StoredTurn[]): string {
  const first = turns.find((t) => t.author === 'user')?.text ?? '';
  const line = first.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || 'Empty chat';
}

/**
 * The archive with `conversation` saved (most recent first), trimmed to the limits. An
 * empty conversation is not kept.
 */
export function saveConversation(archive: readonly StoredConversation[], conversation: StoredConversation): StoredConversation[] {
  const others = archive.filter((c) => c.id !== conversation.id);
  if (conversation.turns.length === 0) {
    return others;
  }
  const turns = conversation.turns.slice(-LIMITS.turnsPerConversation).map((t) =>
    t.text.length > LIMITS.turnChars ? { ...t, text: t.text.slice(0, LIMITS.turnChars) } : t,
  );
  return [{ ...conversation, turns }, ...others].sort((a, b) => b.updated - a.updated).slice(0, LIMITS.conversations);
}

/** The archive read back from storage: anything that is not a well-formed conversation is dropped. */
export function parseArchive(value: unknown): StoredConversation[] {
  if (!Array.isArray(value)) {
    return [];
  }
  const out: StoredConversation[] = [];
  for (const c of value) {
    if (!c || typeof c.id !== 'string' || !Array.isArray(c.turns)) {
      continue;
    }
    const turns: StoredTurn[] = c.turns.filter(
      (t: any) =>
        t &&
        (t.author === 'user' || t.author === 'assistant') &&
        typeof t.text === 'string' &&
        (t.status === 'done' || t.status === 'stopped' || t.status === 'error'),
    );
    out.push({ id: c.id, title: typeof c.title === 'string' ? c.title : titleOf(turns), updated: Number(c.updated) || 0, turns });
  }
  return out;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago". */
export function ago(then: number, now: number): string {
  const minutes = Math.floor((now - then) / 60_000);
  if (minutes < 1) {
    return 'just now';
  }
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return `${hours} h ago`;
  }
  const days = Math.floor(hours / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}
