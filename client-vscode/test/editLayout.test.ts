import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyEdits,
  checkEdits,
  cursorAfterEdits,
  insertionLabel,
  layoutNextEdit,
  minimizeEdit,
  refineEdit,
  splitLines,
} from '../src/lib/editLayout';
import type { TextEdit } from '../src/protocol';

const r = (sl: number, sc: number, el: number, ec: number) => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });
const p = (line: number, character: number) => ({ line, character });

const doc = ['def total(items):', '    s = 0', '    for x in items:', '        s += x', '    return s'];

test('an edit is trimmed to what changes', () => {
  // The model rewrote the whole line; only "s" -> "acc" changes.
  const edit = { range: r(1, 0, 1, 9), newText: '    acc = 0' };
  assert.deepEqual(minimizeEdit(doc, '\n', edit), { range: r(1, 4, 1, 5), newText: 'acc' });
  assert.equal(minimizeEdit(doc, '\n', { range: r(1, 0, 1, 9), newText: '    s = 0' }), undefined);
});

test('a multi-line rewrite with the same line count becomes one piece per changed line', () => {
  const edit = { range: r(1, 0, 4, 12), newText: '    acc = 0\n    for x in items:\n        acc += x\n    return acc' };
  const pieces = refineEdit(doc, '\n', edit);
  assert.deepEqual(pieces, [
    { range: r(1, 4, 1, 5), newText: 'acc' },
    { range: r(3, 8, 3, 9), newText: 'acc' },
    { range: r(4, 11, 4, 12), newText: 'acc' },
  ]);
});

test('the layout strikes removals, shows insertions, and knows whether Tab applies or jumps', () => {
  const edits: TextEdit[] = [{ range: r(3, 8, 3, 14), newText: 's = s + x' }];
  const near = layoutNextEdit(doc, '\n', edits, p(2, 4))!;
  assert.equal(near.atCursor, true);
  // "s += x" -> "s = s + x": only "+=" is replaced.
  assert.deepEqual(near.removed, [r(3, 10, 3, 12)]);
  assert.deepEqual(near.inserted[0].position, p(3, 12));
  assert.equal(near.inserted[0].label, '= s +');
  assert.equal(near.hint.text, 'Tab to accept · Esc to dismiss');
  assert.equal(near.cursorHint, undefined);

  const far = layoutNextEdit(doc, '\n', [{ range: r(4, 11, 4, 12), newText: 'acc' }], p(0, 0))!;
  assert.equal(far.atCursor, false);
  assert.deepEqual(far.target, p(4, 11));
  assert.equal(far.hint.text, 'Tab to jump here');
  assert.deepEqual(far.cursorHint, { line: 0, text: 'Tab: next edit at line 5 ↓' });
});

test('whole lines inserted before a line are drawn after the previous line', () => {
  const layout = layoutNextEdit(doc, '\n', [{ range: r(4, 0, 4, 0), newText: '    print(s)\n' }], p(3, 0))!;
  assert.deepEqual(layout.removed, []);
  assert.deepEqual(layout.inserted[0].position, p(3, 14));
  assert.equal(layout.inserted[0].label, ' ↵ print(s)');
  assert.equal(layout.inserted[0].text, '    print(s)\n');
});

test('a deletion of a whole line is only a removal', () => {
  const layout = layoutNextEdit(doc, '\n', [{ range: r(1, 0, 2, 0), newText: '' }], p(1, 0))!;
  assert.deepEqual(layout.removed, [r(1, 0, 2, 0)]);
  assert.deepEqual(layout.inserted, []);
});

test('invalid edits are refused: out of range, reversed, overlapping', () => {
  assert.equal(layoutNextEdit(doc, '\n', [{ range: r(9, 0, 9, 1), newText: 'x' }], p(0, 0)), undefined);
  assert.equal(layoutNextEdit(doc, '\n', [{ range: r(0, 99, 0, 99), newText: 'x' }], p(0, 0)), undefined);
  assert.equal(layoutNextEdit(doc, '\n', [{ range: r(1, 5, 1, 2), newText: 'x' }], p(0, 0)), undefined);
  assert.equal(
    checkEdits(doc, [
      { range: r(1, 0, 1, 6), newText: 'a' },
      { range: r(1, 4, 1, 8), newText: 'b' },
    ]),
    undefined,
  );
  assert.equal(layoutNextEdit(doc, '\n', [{ range: r(1, 4, 1, 5), newText: 's' }], p(0, 0)), undefined, 'a no-op');
});

test('applying edits and placing the cursor after the last one', () => {
  const edits = checkEdits(doc, [
    { range: r(4, 11, 4, 12), newText: 'acc' },
    { range: r(1, 4, 1, 5), newText: 'acc' },
    { range: r(3, 8, 3, 9), newText: 'acc' },
  ])!;
  const text = applyEdits(doc, '\n', edits);
  assert.equal(text, 'def total(items):\n    acc = 0\n    for x in items:\n        acc += x\n    return acc');
  assert.deepEqual(cursorAfterEdits(doc, '\n', edits), p(4, 14));
  const multi = checkEdits(doc, [{ range: r(0, 17, 0, 17), newText: '\n    """Sum."""' }])!;
  assert.deepEqual(cursorAfterEdits(doc, '\n', multi), p(1, 14));
});

test('CRLF documents: server text with LF compares equal, cursor lines still count right', () => {
  const crlf = splitLines('a = 1\r\nb = 2\r\n');
  assert.deepEqual(crlf, ['a = 1', 'b = 2', '']);
  assert.equal(minimizeEdit(crlf, '\r\n', { range: r(0, 0, 1, 5), newText: 'a = 1\nb = 2' }), undefined);
  const edit = minimizeEdit(crlf, '\r\n', { range: r(0, 0, 1, 5), newText: 'a = 1\nb = 3' });
  assert.deepEqual(edit, { range: r(1, 4, 1, 5), newText: '3' });
  const edits = checkEdits(crlf, [{ range: r(1, 5, 1, 5), newText: '\nc = 3' }])!;
  assert.equal(applyEdits(crlf, '\r\n', edits), 'a = 1\r\nb = 2\r\nc = 3\r\n');
  assert.deepEqual(cursorAfterEdits(crlf, '\r\n', edits), p(2, 5));
});

test('UTF-16 positions: trimming never splits an emoji', () => {
  const lines = ['x = "😀a"'];
  // 😀 is two UTF-16 code units (5 and 6); 😃 shares its high surrogate.
  const edit = minimizeEdit(lines, '\n', { range: r(0, 0, 0, 9), newText: 'x = "😃a"' })!;
  assert.deepEqual(edit, { range: r(0, 5, 0, 7), newText: '😃' });
});

test('insertion labels fit on one line', () => {
  assert.equal(insertionLabel('a\n    b\n'), 'a ↵ b ↵ ');
  assert.equal(insertionLabel('  '), '··');
  assert.equal(insertionLabel('x'.repeat(200)).length, 100);
});
