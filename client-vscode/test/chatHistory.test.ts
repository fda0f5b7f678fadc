import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, historyOf, LIMITS, parseArchive, saveConversation, StoredTurn, titleOf } from '../src/lib/chatHistory';

const q = (text: string): StoredTurn => ({ author: 'user', text, status: 'done' });
const a = (text: string, status: StoredTurn['status'] = 'done', model = 'gpt-5.3-codex'): StoredTurn => ({ author: 'assistant', text, status, role: 'deep', model });

test('history is what the server would have kept, with the model per answer', () => {
  assert.deepEqual(historyOf([q('one'), a('1'), q('two'), a('', 'error'), q('three'), a('half', 'stopped'), q('four'), a('', 'stopped')]), [
    { role: 'user', text: 'one' },
    { role: 'assistant', text: '1', model: 'gpt-5.3-codex' },
    { role: 'user', text: 'three' },
    { role: 'assistant', text: 'half\n\n(stopped)', model: 'gpt-5.3-codex' },
  ]);
  assert.deepEqual(historyOf([]), []);
  // Only the newest turns that fit are sent.
  assert.deepEqual(historyOf([q('old question'), a('old answer'), q('new'), a('newer')], 10), [
    { role: 'user', text: 'new' },
    { role: 'assistant', text: 'newer', model: 'gpt-5.3-codex' },
  ]);
});

test('the archive keeps the most recent conversations, trimmed, and drops empty ones', () => {
  let archive = saveConversation([], { id: 'a', title: 'A', updated: 1, turns: [q('x'), a('y')] });
  archive = saveConversation(archive, { id: 'b', title: 'B', updated: 2, turns: [q('x')] });
  assert.deepEqual(archive.map((c) => c.id), ['b', 'a']);
  archive = saveConversation(archive, { id: 'a', title: 'A', updated: 3, turns: [q('x'), a('y'), q('z')] });
  assert.deepEqual(archive.map((c) => [c.id, c.turns.length]), [['a', 3], ['b', 1]]);
  assert.deepEqual(saveConversation(archive, { id: 'b', title: '', updated: 4, turns: [] }).map((c) => c.id), ['a']);
  for (let i = 0; i < LIMITS.conversations + 5; i++) {
    archive = saveConversation(archive, { id: `c${i}`, title: '', updated: 10 + i, turns: [q('x')] });
  }
  assert.equal(archive.length, LIMITS.conversations);
  const big = saveConversation([], { id: 'big', title: '', updated: 1, turns: [q('x'.repeat(LIMITS.turnChars + 10))] });
  assert.equal(big[0].turns[0].text.length, LIMITS.turnChars);
});

test('a stored archive is checked when read back', () => {
  assert.deepEqual(parseArchive(undefined), []);
  assert.deepEqual(parseArchive([{ id: 1 }, null, { id: 'x', turns: [q('hi'), { author: 'system', text: 'no', status: 'done' }, { author: 'assistant', text: 5 }] }]), [
    { id: 'x', title: 'hi', updated: 0, turns: [q('hi')] },
  ]);
});

test('titles and ages', () => {
  assert.equal(titleOf([q('  Explain\n this  code ')]), 'Explain this code');
  assert.equal(titleOf([]), 'Empty chat');
  assert.equal(titleOf([q('y'.repeat(200))]).length, 80);
  assert.equal(ago(0, 30_000), 'just now');
  assert.equal(ago(0, 5 * 60_000), '5 min ago');
  assert.equal(ago(0, 3 * 3600_000), '3 h ago');
  assert.equal(ago(0, 30 * 3600_000), 'yesterday');
  assert.equal(ago(0, 50 * 3600_000), '2 days ago');
});
