import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatCost,
  formatLatency,
  formatTokens,
  markdownEscape,
  missingKeyRoles,
  shortModelName,
  statusAccessibleLabel,
  statusBarText,
  statusDetails,
  statusTooltipMarkdown,
} from '../src/lib/statusText';
import type { StatusParams } from '../src/protocol';

const status: StatusParams = {
  fast: { model: 'gpt-5.3-codex-spark', api: 'responses', ready: true, lastError: null, lastLatencyMs: 42, requests: 30, inputTokens: 10000, outputTokens: 1000, costUsd: 0.01 },
  deep: { model: 'gpt-5.3-codex', api: 'responses', ready: true, lastError: null, lastLatencyMs: 3100, requests: 1, inputTokens: 1000, outputTokens: 300, costUsd: 0.012 },
  usage: { inputTokens: 11000, outputTokens: 1300, costUsd: 0.022 },
  suggestions: { shown: 20, accepted: 5, rejected: 3, acceptanceRate: 0.25 },
};

test('the status bar text reads like the design', () => {
  assert.deepEqual(statusBarText(status), { text: '$(sparkle) spark 42ms · 12.3k tok · $0.02', warning: false });
});

test('before any status, and with an error', () => {
  assert.equal(statusBarText(undefined).text, '$(sparkle) sparkforge');
  const broken: StatusParams = { ...status, deep: { ...status.deep!, ready: false, lastError: 'no API key for deep: set OPENAI_API_KEY' } };
  assert.equal(statusBarText(broken).warning, true);
  assert.ok(statusBarText(broken).text.startsWith('$(warning) spark'));
  assert.deepEqual(missingKeyRoles(broken), ['deep']);
  assert.deepEqual(missingKeyRoles(status), []);
  assert.ok(statusDetails(broken).includes('deep error: no API key for deep: set OPENAI_API_KEY'));
});

test('no tokens yet: no token count, no cost', () => {
  const fresh: StatusParams = { fast: { model: 'gpt-5.3-codex-spark', ready: true }, deep: { model: 'gpt-5.3-codex', ready: true }, usage: { inputTokens: 0, outputTokens: 0, costUsd: null } };
  assert.equal(statusBarText(fresh).text, '$(sparkle) spark');
});

test('details name both models, usage and suggestions', () => {
  assert.deepEqual(statusDetails(status), [
    'fast: gpt-5.3-codex-spark (responses), ready · last 42ms · 30 requests · 10.0k in / 1.0k out · $0.01',
    'deep: gpt-5.3-codex (responses), ready · last 3.1s · 1 request · 1.0k in / 300 out · $0.01',
    'session: 11.0k input + 1.3k output tokens · $0.02',
    'suggestions: 20 shown, 5 accepted, 3 rejected (25% accepted)',
  ]);
});

test('formatters', () => {
  assert.equal(shortModelName('gpt-5.3-codex-spark'), 'spark');
  assert.equal(shortModelName('gpt-5.3-codex'), 'codex');
  assert.equal(shortModelName('qwen2.5-coder:7b'), 'coder:7b');
  assert.equal(shortModelName('org/llama-3'), 'llama-3');
  assert.equal(formatLatency(null), undefined);
  assert.equal(formatLatency(999.4), '999ms');
  assert.equal(formatLatency(12_345), '12s');
  assert.equal(formatTokens(999), '999');
  assert.equal(formatTokens(12_345), '12.3k');
  assert.equal(formatTokens(2_500_000), '2.5M');
  assert.equal(formatCost(null), undefined);
  assert.equal(formatCost(0), '$0.00');
  assert.equal(formatCost(0.004), '<$0.01');
  assert.equal(formatCost(1.239), '$1.24');
});

test('the accessible label is plain text: no icons, no markup, no &nbsp;', () => {
  const label = statusAccessibleLabel(status);
  assert.ok(label.startsWith('sparkforge: spark 42ms, 12.3k tok, $0.02. fast: gpt-5.3-codex-spark (responses), ready'), label);
  assert.doesNotMatch(label, /&nbsp;|\$\(|\\|<|\*\*/);
  assert.equal(statusAccessibleLabel(undefined), 'sparkforge: sparkforge');
  const broken = statusAccessibleLabel({ ...status, fast: { ...status.fast!, ready: false, lastError: 'no API key' } });
  assert.match(broken, /^sparkforge \(warning\): spark 42ms/);
  assert.match(broken, /fast error: no API key/);
});

test('the tooltip Markdown keeps spaces and escapes markup', () => {
  const md = statusTooltipMarkdown(status);
  assert.doesNotMatch(md, /&nbsp;/);
  assert.ok(md.endsWith('  \nClick for details\\.'), md);
  assert.equal(markdownEscape('a_b *c* [x](y) <b>'), 'a\\_b \\*c\\* \\[x\\]\\(y\\) \\<b\\>');
});

test('input read from the prompt cache is shown when there is some', () => {
  const cached: StatusParams = {
    ...status,
    fast: { ...status.fast!, cachedInputTokens: 8200 },
    usage: { ...status.usage!, cachedInputTokens: 8200 },
  };
  const lines = statusDetails(cached);
  assert.equal(lines[0], 'fast: gpt-5.3-codex-spark (responses), ready · last 42ms · 30 requests · 10.0k in (8.2k cached) / 1.0k out · $0.01');
  assert.equal(lines[1], 'deep: gpt-5.3-codex (responses), ready · last 3.1s · 1 request · 1.0k in / 300 out · $0.01');
  assert.equal(lines[2], 'session: 11.0k input (8.2k cached) + 1.3k output tokens · $0.02');
  // none cached: the lines read as before
  assert.equal(statusDetails({ ...status, usage: { ...status.usage!, cachedInputTokens: 0 } })[2], 'session: 11.0k input + 1.3k output tokens · $0.02');
});
