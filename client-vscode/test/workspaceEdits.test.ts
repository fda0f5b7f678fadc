import { test } from 'node:test';
import assert from 'node:assert/strict';
import { singleDocumentEdit } from '../src/lib/workspaceEdits';

const r = { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } };

test('a versioned edit of one document', () => {
  assert.deepEqual(
    singleDocumentEdit({
      documentChanges: [{ textDocument: { uri: 'file:///a.py', version: 3 }, edits: [{ range: r, newText: 'x\n', annotationId: 'a' }] }],
      changeAnnotations: { a: { label: 'chat', needsConfirmation: true } },
    }),
    { uri: 'file:///a.py', version: 3, edits: [{ range: r, newText: 'x\n' }] },
  );
  assert.deepEqual(singleDocumentEdit({ changes: { 'file:///a.py': [{ range: r, newText: '' }] } }), {
    uri: 'file:///a.py',
    version: undefined,
    edits: [{ range: r, newText: '' }],
  });
});

test('several documents, file operations or nothing: not a single-document edit', () => {
  assert.equal(singleDocumentEdit({}), undefined);
  assert.equal(singleDocumentEdit({ changes: { 'file:///a.py': [], 'file:///b.py': [] } }), undefined);
  assert.equal(
    singleDocumentEdit({ documentChanges: [{ kind: 'create', uri: 'file:///t.py' }, { textDocument: { uri: 'file:///t.py', version: null }, edits: [] }] }),
    undefined,
  );
});
