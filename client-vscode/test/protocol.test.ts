import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, feedbackOf, Method } from '../src/protocol';
import { parseFromWebview } from '../src/chat/messages';

test('every custom method is namespaced sparkforge/', () => {
  for (const method of Object.values(Method)) {
    assert.match(method, /^sparkforge\/[a-zA-Z]+$/);
  }
  for (const command of Object.values(Command)) {
    assert.match(command, /^sparkforge\.[a-zA-Z]+$/);
  }
});

test('didAccept arguments in both shapes', () => {
  assert.deepEqual(feedbackOf(['abc']), { id: 'abc' });
  assert.deepEqual(feedbackOf([{ id: 'abc', acceptedLength: 3 }]), { id: 'abc', acceptedLength: 3 });
  assert.deepEqual(feedbackOf([{ id: 'abc', acceptedLength: 'x' }]), { id: 'abc' });
  assert.equal(feedbackOf([]), undefined);
  assert.equal(feedbackOf(undefined), undefined);
  assert.equal(feedbackOf([{ id: 4 }]), undefined);
});

test('webview messages are checked before use', () => {
  assert.deepEqual(parseFromWebview({ type: 'send', id: '1', data: { text: 'hi', includeFile: 'yes' } }), {
    type: 'send',
    id: '1',
    data: { text: 'hi', includeFile: false },
  });
  assert.deepEqual(parseFromWebview({ type: 'setRole', id: '2', data: { role: 'fast' } }), { type: 'setRole', id: '2', data: { role: 'fast' } });
  assert.equal(parseFromWebview({ type: 'setRole', id: '2', data: { role: 'huge' } }), undefined);
  assert.equal(parseFromWebview({ type: 'eval', id: '3', data: {} }), undefined);
  assert.equal(parseFromWebview({ type: 'apply', id: '4', data: { code: 5 } }), undefined);
  assert.equal(parseFromWebview('ready'), undefined);
  assert.deepEqual(parseFromWebview({ type: 'ready', id: '5' }), { type: 'ready', id: '5' });
});

test('agent messages from the webview are checked before use', () => {
  assert.deepEqual(parseFromWebview({ type: 'setMode', id: '1', data: { mode: 'agent' } }), { type: 'setMode', id: '1', data: { mode: 'agent' } });
  assert.equal(parseFromWebview({ type: 'setMode', id: '1', data: { mode: 'auto' } }), undefined);
  assert.deepEqual(parseFromWebview({ type: 'approve', id: '2', data: { taskId: 't', approval: 'a', answer: 'always' } }), {
    type: 'approve',
    id: '2',
    data: { taskId: 't', approval: 'a', answer: 'always' },
  });
  assert.equal(parseFromWebview({ type: 'approve', id: '2', data: { taskId: 't', approval: 'a', answer: 'yes please' } }), undefined);
  assert.deepEqual(parseFromWebview({ type: 'keep', id: '3', data: { taskId: 't' } }), { type: 'keep', id: '3', data: { taskId: 't' } });
  assert.deepEqual(parseFromWebview({ type: 'undo', id: '4', data: { taskId: 't', path: 'a.py' } }), { type: 'undo', id: '4', data: { taskId: 't', path: 'a.py' } });
  assert.equal(parseFromWebview({ type: 'undo', id: '4', data: { taskId: 't', path: 7 } }), undefined);
  assert.equal(parseFromWebview({ type: 'diff', id: '5', data: { taskId: 't' } }), undefined);
  assert.deepEqual(parseFromWebview({ type: 'handOff', id: '6', data: { taskId: 't', role: 'fast' } }), { type: 'handOff', id: '6', data: { taskId: 't', role: 'fast' } });
  assert.equal(parseFromWebview({ type: 'handOff', id: '6', data: { taskId: '', role: 'fast' } }), undefined);
});
