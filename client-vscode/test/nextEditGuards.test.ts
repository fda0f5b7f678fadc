import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceKey, leftNeighbourhood, singleCursor, tabShouldIndent } from '../src/lib/nextEditGuards';

test('Tab indents on an empty or indentation-only line unless the suggestion is at the cursor', () => {
  assert.equal(tabShouldIndent('', false), true);
  assert.equal(tabShouldIndent('    ', false), true);
  assert.equal(tabShouldIndent('\t \t', false), true);
  assert.equal(tabShouldIndent('    x', false), false);
  assert.equal(tabShouldIndent('    ', true), false);
});

test('several cursors never take a suggestion', () => {
  assert.equal(singleCursor(1), true);
  assert.equal(singleCursor(2), false);
});

test('the cursor leaves the neighbourhood only when far from where it asked and from the edit', () => {
  const edit = [{ start: 40, end: 42 }];
  assert.equal(leftNeighbourhood(10, 10, edit), false); // where it asked
  assert.equal(leftNeighbourhood(22, 10, edit), false); // 12 lines from where it asked
  assert.equal(leftNeighbourhood(23, 10, edit), true); // 13 lines from both
  assert.equal(leftNeighbourhood(30, 10, edit), false); // 10 lines above the edit
  assert.equal(leftNeighbourhood(41, 10, edit), false); // on it
  assert.equal(leftNeighbourhood(60, 10, edit), true);
});

test('an accepted suggestion is recognised for the same text, not for another', () => {
  const edit = [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } }, newText: 'total' }];
  const a = acceptanceKey('file:///a.py', 'x = 1\nsum\n', edit);
  assert.equal(acceptanceKey('file:///a.py', 'x = 1\nsum\n', edit), a);
  assert.notEqual(acceptanceKey('file:///a.py', 'x = 2\nsum\n', edit), a);
  assert.notEqual(acceptanceKey('file:///b.py', 'x = 1\nsum\n', edit), a);
  assert.notEqual(acceptanceKey('file:///a.py', 'x = 1\nsum\n', [{ ...edit[0], newText: 'totals' }]), a);
});
