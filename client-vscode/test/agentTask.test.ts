import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerApproval,
  applyUnifiedDiff,
  canKeep,
  canUndo,
  changesFromSteps,
  diffStats,
  listedSteps,
  newTask,
  parseStep,
  reviewable,
  taskSummaryText,
  toolSteps,
  usageLine,
  waitingApprovals,
  withApproval,
  withChanges,
  withStep,
} from '../src/lib/agentTask';
import type { AgentChange, AgentStepParams } from '../src/protocol';

const step = (index: number, status: AgentStepParams['status'], title: string, more: Partial<AgentStepParams> = {}): AgentStepParams => ({
  taskId: 't1',
  index,
  kind: 'read',
  title,
  status,
  ...more,
});

test('a running step is replaced by its end, in index order whatever the arrival order', () => {
  let task = newTask('t1', 'deep', 'gpt-5.3-codex');
  task = withStep(task, step(1, 'running', 'Reading `pricing.py`'));
  task = withStep(task, step(0, 'running', 'Reading `cart.py`'));
  task = withStep(task, step(0, 'done', 'Reading `cart.py` 1-2', { detail: '1\tdef total(items):' }));
  assert.deepEqual(task.steps, [
    { index: 0, kind: 'read', title: 'Reading `cart.py` 1-2', status: 'done', detail: '1\tdef total(items):' },
    { index: 1, kind: 'read', title: 'Reading `pricing.py`', status: 'running' },
  ]);
  assert.equal(task.status, 'running');
});

test('usage follows the latest step; a switch step moves the role', () => {
  let task = newTask('t1', 'deep');
  task = withStep(task, step(0, 'done', 'Reading `a.py`', { usage: { inputTokens: 1200, outputTokens: 30, costUsd: null } }));
  task = withStep(task, step(1, 'done', 'Switched to the fast model (gpt-5.3-codex-spark)', { kind: 'switch' }));
  assert.equal(task.role, 'fast');
  assert.deepEqual(task.usage, { inputTokens: 1200, outputTokens: 30, costUsd: null });
  assert.equal(usageLine(task.usage, toolSteps(task)), '1.2k in · 30 out · 1 step');
  assert.equal(usageLine({ inputTokens: 15000, outputTokens: 2100, costUsd: 0.0213 }, 6), '15.0k in · 2.1k out · $0.02 · 6 steps');
});

test('step notifications are checked before use', () => {
  assert.equal(parseStep({ taskId: 't', index: -1, kind: 'read', title: 'x', status: 'done' }), undefined);
  assert.equal(parseStep({ taskId: 't', index: 0, kind: 'read', title: 'x', status: 'finished' }), undefined);
  assert.equal(parseStep({ index: 0, kind: 'read', title: 'x', status: 'done' }), undefined);
  assert.deepEqual(parseStep({ taskId: 't', index: 2, kind: 'teleport', title: 'x', status: 'done', detail: '' }), {
    taskId: 't',
    index: 2,
    kind: 'message',
    title: 'x',
    status: 'done',
  });
});

test('an approval belongs to the running step; its answer is sent once', () => {
  let task = newTask('t1', 'deep');
  task = withStep(task, step(0, 'done', 'Reading `cart.py`'));
  task = withStep(task, step(1, 'running', 'Waiting for approval to run `pytest -q`', { kind: 'command' }));
  task = withApproval(task, { id: 'a1', command: 'pytest -q', cwd: '/w' });
  assert.deepEqual(task.approvals, [{ id: 'a1', command: 'pytest -q', cwd: '/w', step: 1, state: 'waiting' }]);
  assert.deepEqual(waitingApprovals(task), ['a1']);

  const answered = answerApproval(task, 'a1', 'always');
  assert.deepEqual(answered.reply, { approved: true, always: true });
  assert.equal(answered.task.approvals[0].state, 'always');
  // A second click (or the task ending) changes nothing and sends nothing.
  const again = answerApproval(answered.task, 'a1', 'skip');
  assert.equal(again.reply, undefined);
  assert.equal(again.task.approvals[0].state, 'always');
  assert.deepEqual(waitingApprovals(answered.task), []);

  assert.deepEqual(answerApproval(task, 'a1', 'run').reply, { approved: true });
  assert.deepEqual(answerApproval(task, 'a1', 'skip').reply, { approved: false });
  const expired = answerApproval(task, 'a1', 'expired');
  assert.deepEqual(expired.reply, { approved: false });
  assert.equal(expired.task.approvals[0].state, 'expired');
  assert.equal(answerApproval(task, 'nope', 'run').reply, undefined);
});

const CART_DIFF = '--- a/cart.py\n+++ b/cart.py\n@@ -1,2 +1,3 @@\n+from pricing import rate\n def total(items):\n-    return sum(items)\n+    return sum(items) * 2\n';

const change = (path: string, state: AgentChange['state'], diff = CART_DIFF, more: Partial<AgentChange> = {}): AgentChange => ({
  uri: `file:///w/${path}`,
  path,
  kind: 'updated',
  diff,
  state,
  ...more,
});

test('the change set: result, then Keep/Undo answers replace files by path', () => {
  let task = newTask('t1', 'deep');
  task = withChanges(task, [change('cart.py', 'applied'), change('new.py', 'applied', '--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n', { kind: 'created' })]);
  assert.deepEqual(task.changes, [
    { path: 'cart.py', uri: 'file:///w/cart.py', kind: 'updated', state: 'applied', added: 2, removed: 1, diffKnown: true },
    { path: 'new.py', uri: 'file:///w/new.py', kind: 'created', state: 'applied', added: 1, removed: 0, diffKnown: true },
  ]);
  assert.deepEqual(reviewable(task, 'keep'), ['cart.py', 'new.py']);
  task = withChanges(task, [change('cart.py', 'kept')]);
  assert.deepEqual(reviewable(task, 'keep'), ['new.py']);
  assert.deepEqual(reviewable(task, 'undo'), ['cart.py', 'new.py']);
  task = withChanges(task, [change('new.py', 'applied', '--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n', { kind: 'created', problem: 'new.py changed since the agent\'s last edit; left as it is' })]);
  assert.equal(task.changes[1].problem, "new.py changed since the agent's last edit; left as it is");
  task = withChanges(task, [change('cart.py', 'undone'), change('new.py', 'undone')]);
  assert.deepEqual(reviewable(task, 'keep'), []);
  assert.deepEqual(reviewable(task, 'undo'), []);
  assert.equal(canKeep(task.changes[0]), false);
  assert.equal(canUndo(task.changes[0]), false);
  assert.equal(canKeep({ ...task.changes[0], state: 'pending' }), true);
  assert.equal(canUndo({ ...task.changes[0], state: 'kept' }), true);
});

test('a stopped task: its files from the edit steps, without diffs', () => {
  let task = newTask('t1', 'deep');
  task = withStep(task, step(0, 'done', 'Editing 2 files', { kind: 'edit', detail: 'updated cart.py, created tests/test cart.py' }));
  task = withStep(task, step(1, 'done', 'Editing `tests/test cart.py`', { kind: 'edit', detail: 'updated tests/test cart.py' }));
  task = withStep(task, step(2, 'failed', 'Editing `x.py`', { kind: 'edit', detail: 'not applied: x.py changed' }));
  task = changesFromSteps(task, (p) => `file:///w/${p}`);
  assert.deepEqual(task.changes, [
    { path: 'cart.py', uri: 'file:///w/cart.py', kind: 'updated', state: 'applied', added: 0, removed: 0, diffKnown: false },
    { path: 'tests/test cart.py', uri: 'file:///w/tests/test cart.py', kind: 'created', state: 'applied', added: 0, removed: 0, diffKnown: false },
  ]);
});

test('diff stats ignore the file headers', () => {
  assert.deepEqual(diffStats(CART_DIFF), { added: 2, removed: 1 });
  assert.deepEqual(diffStats(''), { added: 0, removed: 0 });
});

test('a unified diff applied backwards gives the original, forwards the agent\'s text', () => {
  const original = 'def total(items):\n    return sum(items)\n';
  const agents = 'from pricing import rate\ndef total(items):\n    return sum(items) * 2\n';
  assert.equal(applyUnifiedDiff(agents, CART_DIFF, 'backward'), original);
  assert.equal(applyUnifiedDiff(original, CART_DIFF, 'forward'), agents);
  // The file changed since: no guess.
  assert.equal(applyUnifiedDiff('def total(items):\n    return 0\n', CART_DIFF, 'forward'), undefined);
});

test('unified diffs: two hunks, created and deleted files, CRLF and no final newline', () => {
  // difflib's output for these changes (server/sparkforge/agent/changes.py unified_diff).
  const twoHunks = '--- a/n.py\n+++ b/n.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -8,3 +8,4 @@\n h\n i\n j\n+k\n';
  const old = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n';
  const now = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
  assert.equal(applyUnifiedDiff(old, twoHunks, 'forward'), now);
  assert.equal(applyUnifiedDiff(now, twoHunks, 'backward'), old);

  const created = '--- /dev/null\n+++ b/t.py\n@@ -0,0 +1,2 @@\n+x\n+y\n\\ No newline at end of file\n';
  assert.equal(applyUnifiedDiff('', created, 'forward'), 'x\ny');
  assert.equal(applyUnifiedDiff('x\ny', created, 'backward'), '');

  const deleted = '--- a/t.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n';
  assert.equal(applyUnifiedDiff('x\ny\n', deleted, 'forward'), '');
  assert.equal(applyUnifiedDiff('', deleted, 'backward'), 'x\ny\n');

  const crlf = '--- a/t.py\n+++ b/t.py\n@@ -1,2 +1,2 @@\n x\r\n-y\n\\ No newline at end of file\n+z\r\n';
  assert.equal(applyUnifiedDiff('x\r\ny', crlf, 'forward'), 'x\r\nz\r\n');
  assert.equal(applyUnifiedDiff('x\r\nz\r\n', crlf, 'backward'), 'x\r\ny');
  assert.equal(applyUnifiedDiff('x', 'not a diff\n@@ nonsense\n', 'forward'), undefined);
});

test('the stored text of a task: its summary and files', () => {
  let task = newTask('t1', 'deep');
  task = { ...task, status: 'done', summary: 'Done: total() takes a code.' };
  task = withChanges(task, [change('cart.py', 'kept')]);
  assert.equal(taskSummaryText(task), 'Done: total() takes a code.\n\n- updated `cart.py` (kept)');
  assert.equal(taskSummaryText({ ...newTask('t2', 'fast'), status: 'cancelled' }), 'The agent task cancelled.');
});

test('a one-line message has no detail; the final message is not listed twice', () => {
  let task = newTask('t1', 'deep');
  task = withStep(task, step(0, 'done', 'Let me look.', { kind: 'message', detail: 'Let me look.' }));
  task = withStep(task, step(1, 'done', 'Reading `a.py` 1-3'));
  task = withStep(task, step(2, 'done', 'Done: fixed.', { kind: 'message', detail: 'Done: fixed.\n\nThe tests pass.' }));
  assert.equal(task.steps[0].detail, undefined);
  assert.equal(task.steps[2].detail, 'Done: fixed.\n\nThe tests pass.');
  assert.deepEqual(listedSteps(task).map((s) => s.index), [0, 1, 2]); // still running
  const done = { ...task, status: 'done' as const, summary: 'Done: fixed.\n\nThe tests pass.' };
  assert.deepEqual(listedSteps(done).map((s) => s.index), [0, 1]);
  // A summary that is not the last message (a budget stop) leaves the steps as they are.
  assert.deepEqual(listedSteps({ ...done, status: 'stopped', summary: 'stopped: the budget of 5 steps ran out' }).map((s) => s.index), [0, 1, 2]);
});
