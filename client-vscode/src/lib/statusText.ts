/**
 * The words of the status bar item and its tooltip, from a `sparkforge/status` notification.
 *
 * "$(sparkle) spark 42ms · 12.3k tok · $0.02": the fast model's short name and last latency
 * (what you feel while typing), then the session's tokens and cost across both models.
 */

import type { Role, RoleStatus, StatusParams } from '../protocol';

/** "gpt-5.3-codex-spark" -> "spark", "gpt-5.3-codex" -> "codex", "qwen2.5-coder:7b" -> "coder:7b". */
export function shortModelName(model: string): string {
  const base = model.split('/').pop() ?? model;
  const last = base.split('-').filter(Boolean).pop() ?? base;
  const name = last.length >= 2 ? last : base;
  return name.length > 20 ? name.slice(0, 19) + '…' : name;
}

export function formatLatency(ms: number | null | undefined): string | undefined {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return undefined;
  }
  if (ms < 1000) {
    return `${Math.round(ms)}ms`;
  }
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

export function formatTokens(n: number): string {
  if (n < 1000) {
    return `${n}`;
  }
  if (n < 999_950) {
    return `${(n / 1000).toFixed(1)}k`;
  }
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function formatCost(usd: number | null | undefined): string | undefined {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) {
    return undefined;
  }
  if (usd > 0 && usd < 0.01) {
    return '<$0.01';
  }
  return `$${usd.toFixed(2)}`;
}

function totalTokens(status: StatusParams): number {
  if (status.usage) {
    return (status.usage.inputTokens ?? 0) + (status.usage.outputTokens ?? 0);
  }
  let sum = 0;
  for (const role of [status.fast, status.deep]) {
    sum += (role?.inputTokens ?? 0) + (role?.outputTokens ?? 0);
  }
  return sum;
}

export interface StatusBarText {
  text: string;
  /** true when a model reports an error (the item is drawn as a warning). */
  warning: boolean;
}

export function statusBarText(status: StatusParams | undefined): StatusBarText {
  if (!status) {
    return { text: '$(sparkle) sparkforge', warning: false };
  }
  const fast = status.fast;
  const warning = [status.fast, status.deep].some((r) => r && (!r.ready || r.lastError));
  const parts: string[] = [];
  const head = fast ? shortModelName(fast.model) : 'sparkforge';
  const latency = formatLatency(fast?.lastLatencyMs);
  parts.push(latency ? `${head} ${latency}` : head);
  const tokens = totalTokens(status);
  if (tokens > 0) {
    parts.push(`${formatTokens(tokens)} tok`);
  }
  const cost = formatCost(status.usage?.costUsd);
  if (cost && tokens > 0) {
    parts.push(cost);
  }
  return { text: `${warning ? '$(warning)' : '$(sparkle)'} ${parts.join(' · ')}`, warning };
}

/** " (8.2k cached)": the input read from the API's prompt cache, when there is some. */
function cachedPart(cached: number | undefined): string {
  return cached ? ` (${formatTokens(cached)} cached)` : '';
}

function roleLine(role: Role, st: RoleStatus | undefined): string {
  if (!st) {
    return `${role}: (unknown)`;
  }
  const state = st.lastError ? 'error' : st.ready ? 'ready' : 'not ready';
  const bits = [`${role}: ${st.model}${st.api ? ` (${st.api})` : ''}, ${state}`];
  const latency = formatLatency(st.lastLatencyMs);
  if (latency) {
    bits.push(`last ${latency}`);
  }
  if (st.requests !== undefined) {
    bits.push(`${st.requests} request${st.requests === 1 ? '' : 's'}`);
  }
  if (st.inputTokens !== undefined || st.outputTokens !== undefined) {
    bits.push(`${formatTokens(st.inputTokens ?? 0)} in${cachedPart(st.cachedInputTokens)} / ${formatTokens(st.outputTokens ?? 0)} out`);
  }
  const cost = formatCost(st.costUsd);
  if (cost) {
    bits.push(cost);
  }
  return bits.join(' · ');
}

/** Plain-text lines for the tooltip and the status quick pick (never markup). */
export function statusDetails(status: StatusParams | undefined): string[] {
  if (!status) {
    return ['sparkforge: waiting for the server'];
  }
  const lines = [roleLine('fast', status.fast), roleLine('deep', status.deep)];
  for (const role of ['fast', 'deep'] as const) {
    const err = status[role]?.lastError;
    if (err) {
      lines.push(`${role} error: ${err}`);
    }
  }
  if (status.usage) {
    const cost = formatCost(status.usage.costUsd);
    lines.push(
      `session: ${formatTokens(status.usage.inputTokens ?? 0)} input${cachedPart(status.usage.cachedInputTokens)} + ${formatTokens(status.usage.outputTokens ?? 0)} output tokens` +
        (cost ? ` · ${cost}` : ''),
    );
  }
  const s = status.suggestions;
  if (s) {
    const rate = s.acceptanceRate ?? (s.shown > 0 ? s.accepted / s.shown : undefined);
    lines.push(
      `suggestions: ${s.shown} shown, ${s.accepted} accepted, ${s.rejected} rejected` +
        (rate !== undefined && rate !== null ? ` (${Math.round(rate * 100)}% accepted)` : ''),
    );
  }
  return lines;
}

/** True when a role is unusable because its API key is missing. */
export function missingKeyRoles(status: StatusParams | undefined): Role[] {
  const roles: Role[] = [];
  for (const role of ['fast', 'deep'] as const) {
    const st = status?.[role];
    if (st && !st.ready && /api key/i.test(st.lastError ?? '')) {
      roles.push(role);
    }
  }
  return roles;
}

/** Text as Markdown that shows it literally (MarkdownString.appendText turns spaces into
 *  `&nbsp;`, which VS Code then reads out in the item's accessible label). */
export function markdownEscape(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+\-.!|<>~])/g, '\\$1');
}

/** The tooltip: the detail lines, one per line, then "Click for details.". */
export function statusTooltipMarkdown(status: StatusParams | undefined): string {
  return [...statusDetails(status), 'Click for details.'].map(markdownEscape).join('  \n');
}

/** What a screen reader says for the item: plain words, no icons, no markup. */
export function statusAccessibleLabel(status: StatusParams | undefined): string {
  const { text, warning } = statusBarText(status);
  const head = text.replace(/\$\([\w~-]+\)\s*/g, '').split(' · ').join(', ');
  const lines = status ? statusDetails(status) : [];
  return [`sparkforge${warning ? ' (warning)' : ''}: ${head}`, ...lines].join('. ');
}
