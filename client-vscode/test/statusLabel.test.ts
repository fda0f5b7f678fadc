import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownEscape, statusAccessibleLabel, statusTooltipMarkdown } from '../src/lib/statusText';
import type { StatusParams } from '../src/protocol';

const status: StatusParams = {
  fast: { model: 'gpt-5.3-codex-spark', api: 'responses', ready: true, lastError: null, lastLatencyMs: 42, requests: 30, inputTokens: 10000, outputTokens: 1000, costUsd: 0.01 },
  deep: { model: 'gpt-5.3-codex', api: 'responses', ready: true, lastError: null, lastLatencyMs: 3100, requests: 1, inputTokens: 1000, outputTokens: 300, costUsd: 0.012 },
  usage: { inputTokens: 11000, outputTokens: 1300, costUsd: 0.022 },
};

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
