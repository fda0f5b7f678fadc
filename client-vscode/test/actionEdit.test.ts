import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  changedLines,
  doneTitle,
  previewSetting,
  shouldPreview,
  summarizeEdit,
  textAfter,
  withoutConfirmation,
} from '../src/lib/actionEdit';
import type { LspWorkspaceEdit } from '../src/protocol';

const pos = (line: number, character: number) => ({ line, character });
const range = (sl: number, sc: number, el: number, ec: number) => ({ start: pos(sl, sc), end: pos(el, ec) });

test('the notification title is the action in the past tense', () => {
  assert.equal(doneTitle('Document split_bill with sparkforge', { kind: 'document', name: 'split_bill' }), 'Documented `split_bill`');
  assert.equal(
    doneTitle('Generate tests for split_bill with sparkforge', { kind: 'tests', name: 'split_bill' }),
    'Generated tests for `split_bill`',
  );
  assert.equal(doneTitle('Document the selection with sparkforge', { kind: 'document' }), 'Documented the selection');
  assert.equal(doneTitle('Refactor with sparkforge…', { kind: 'refactor', name: 'total' }), 'Refactored `total`');
  assert.equal(doneTitle('Refactor with sparkforge…', { kind: 'refactor' }), 'Refactored');
  assert.equal(doneTitle("Fix with sparkforge: undefined name 'x'", { kind: 'fix' }), "Fixed: undefined name 'x'");
  assert.equal(doneTitle('Fix with sparkforge', { kind: 'fix', name: 'add' }), 'Fixed `add`');
  // No data: the verb of the title.
  assert.equal(doneTitle('Document split_bill with sparkforge'), 'Documented `split_bill`');
  assert.equal(doneTitle('Simplify cart.total with sparkforge'), 'Simplified `cart.total`');
  assert.equal(doneTitle('Rename the loop variable'), 'Renamed the loop variable');
  assert.equal(doneTitle(''), 'Applied the change');
});

test('the preview setting and when it applies', () => {
  assert.equal(previewSetting(undefined), 'never');
  assert.equal(previewSetting('bogus'), 'never');
  assert.equal(previewSetting('multiFile'), 'multiFile');
  const one = summarizeEdit({ changes: { 'file:///a.py': [{ range: range(0, 0, 0, 0), newText: 'x' }] } });
  const created = summarizeEdit({
    documentChanges: [
      { kind: 'create', uri: 'file:///tests/test_a.py' },
      { textDocument: { uri: 'file:///tests/test_a.py', version: null }, edits: [{ range: range(0, 0, 1, 0), newText: 'x\n' }] },
    ],
  });
  const two = summarizeEdit({
    changes: { 'file:///a.py': [{ range: range(0, 0, 0, 0), newText: 'x' }], 'file:///b.py': [{ range: range(0, 0, 0, 0), newText: 'y' }] },
  });
  assert.deepEqual([one, created, two].map((s) => shouldPreview('never', s)), [false, false, false]);
  assert.deepEqual([one, created, two].map((s) => shouldPreview('multiFile', s)), [false, true, true]);
  assert.deepEqual([one, created, two].map((s) => shouldPreview('always', s)), [true, true, true]);
});

test('the summary lists files, creations and text edits with their version', () => {
  const s = summarizeEdit({
    documentChanges: [
      { textDocument: { uri: 'file:///a.py', version: 7 }, edits: [{ range: range(1, 0, 1, 0), newText: '"""Doc."""\n', annotationId: 'sparkforge' }] },
      { kind: 'create', uri: 'file:///t.py' },
      { textDocument: { uri: 'file:///t.py', version: null }, edits: [{ range: range(0, 0, 1, 0), newText: 'import a\n' }] },
    ],
  });
  assert.deepEqual(s.files, ['file:///a.py', 'file:///t.py']);
  assert.deepEqual(s.created, ['file:///t.py']);
  assert.deepEqual(s.textEdits.get('file:///a.py'), { version: 7, edits: [{ range: range(1, 0, 1, 0), newText: '"""Doc."""\n' }] });
  assert.equal(s.textEdits.get('file:///t.py')?.version, null);
});

test('needsConfirmation is stripped from every annotation, the rest kept', () => {
  const edit: LspWorkspaceEdit = {
    documentChanges: [{ textDocument: { uri: 'file:///a.py', version: 1 }, edits: [{ range: range(0, 0, 0, 0), newText: 'x', annotationId: 'sparkforge' }] }],
    changeAnnotations: { sparkforge: { label: 'sparkforge: Document', needsConfirmation: true, description: 'proposed by m' } },
  };
  const out = withoutConfirmation(edit);
  assert.deepEqual(out.changeAnnotations, { sparkforge: { label: 'sparkforge: Document', description: 'proposed by m' } });
  assert.equal(out.documentChanges, edit.documentChanges);
  assert.equal(edit.changeAnnotations?.sparkforge.needsConfirmation, true, 'the input is not modified');
  const plain = { changes: {} };
  assert.equal(withoutConfirmation(plain), plain);
});

test('changed lines: a docstring inserted by a hunk with context lines', () => {
  const text = 'def split_bill(total, people):\n    return round(total / people, 2)\n';
  // The server sends a hunk as whole lines, context included.
  const edits = [
    {
      range: range(0, 0, 2, 0),
      newText: 'def split_bill(total, people):\n    """Split a bill evenly."""\n    return round(total / people, 2)\n',
    },
  ];
  assert.deepEqual(changedLines(text, edits), [{ start: 1, end: 1 }]);
  assert.equal(
    textAfter(text, edits),
    'def split_bill(total, people):\n    """Split a bill evenly."""\n    return round(total / people, 2)\n',
  );
});

test('changed lines: later hunks move with the lines added above them', () => {
  const text = ['a', 'b', 'c', 'd', 'e', 'f', ''].join('\n');
  const edits = [
    { range: range(1, 0, 1, 0), newText: 'new1\nnew2\n' }, // two lines before b
    { range: range(4, 0, 5, 0), newText: 'E\n' }, // e -> E
    { range: range(2, 0, 3, 0), newText: '' }, // c deleted: nothing to highlight
  ];
  assert.deepEqual(changedLines(text, edits), [
    { start: 1, end: 2 },
    { start: 5, end: 5 },
  ]);
  assert.equal(textAfter(text, edits), ['a', 'new1', 'new2', 'b', 'd', 'E', 'f', ''].join('\n'));
});

test('changed lines: two edits on one line, and a character edit', () => {
  const text = 'x = a + b\ny = 1\n';
  assert.deepEqual(
    changedLines(text, [
      { range: range(0, 4, 0, 5), newText: 'aa' },
      { range: range(0, 8, 0, 9), newText: 'bb' },
    ]),
    [{ start: 0, end: 0 }],
  );
  assert.deepEqual(changedLines(text, [{ range: range(1, 4, 1, 5), newText: '2\nz = 3' }]), [{ start: 1, end: 2 }]);
});

test('changed lines: a new file is all changed (its (0,0)-(1,0) range clamped to the empty text)', () => {
  assert.deepEqual(changedLines('', [{ range: range(0, 0, 1, 0), newText: 'import a\n\n\ndef test_a():\n    pass\n' }]), [
    { start: 0, end: 4 },
  ]);
  assert.equal(textAfter('', [{ range: range(0, 0, 1, 0), newText: 'x\n' }]), 'x\n');
});

test('changed lines: overlapping or reversed edits are refused, a no-op changes nothing', () => {
  const text = 'a\nb\n';
  assert.deepEqual(
    changedLines(text, [
      { range: range(0, 0, 1, 1), newText: 'x' },
      { range: range(1, 0, 1, 1), newText: 'y' },
    ]),
    [],
  );
  assert.equal(textAfter(text, [{ range: range(1, 1, 0, 0), newText: '' }]), undefined);
  assert.deepEqual(changedLines(text, [{ range: range(0, 0, 2, 0), newText: 'a\nb\n' }]), []);
});

test('changed lines with CRLF text', () => {
  const text = 'a\r\nb\r\n';
  assert.deepEqual(changedLines(text, [{ range: range(1, 0, 1, 0), newText: 'new\n' }]), [{ start: 1, end: 1 }]);
  assert.equal(textAfter(text, [{ range: range(1, 0, 1, 0), newText: 'new\n' }], '\r\n'), 'a\r\nnew\r\nb\r\n');
});
