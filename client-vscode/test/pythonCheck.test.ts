import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundleServes,
  choosePython,
  defaultCandidates,
  noPythonMessage,
  parseVersion,
  probePython,
  type ProbeResult,
} from '../src/lib/pythonCheck';

const fakeProbe = (answers: Record<string, ProbeResult>) => async (command: string[]) =>
  answers[command.join(' ')] ?? ({ kind: 'missing' } as ProbeResult);

test('versions are read from sys.version_info[:2] and from "3.11"', () => {
  assert.deepEqual(parseVersion('(3, 11)'), [3, 11]);
  assert.deepEqual(parseVersion(' (3, 9)\n'), [3, 9]);
  assert.deepEqual(parseVersion('3.13'), [3, 13]);
  assert.equal(parseVersion('Python was not found'), undefined);
  assert.equal(parseVersion(''), undefined);
});

test('python3 then python on Linux and macOS; python, py -3, python3 on Windows', () => {
  assert.deepEqual(defaultCandidates('linux'), [['python3'], ['python']]);
  assert.deepEqual(defaultCandidates('darwin'), [['python3'], ['python']]);
  assert.deepEqual(defaultCandidates('win32'), [['python'], ['py', '-3'], ['python3']]);
});

test('the first candidate that is 3.10 or later wins; older and missing ones are skipped', async () => {
  const choice = await choosePython(
    [['python3'], ['python'], ['py', '-3']],
    fakeProbe({ python3: { kind: 'version', version: [3, 8] }, 'py -3': { kind: 'version', version: [3, 12] } }),
  );
  assert.deepEqual(choice, { ok: true, command: ['py', '-3'], version: [3, 12] });
  const exact = await choosePython([['python3']], fakeProbe({ python3: { kind: 'version', version: [3, 10] } }));
  assert.equal(exact.ok, true);
  const four = await choosePython([['python3']], fakeProbe({ python3: { kind: 'version', version: [4, 0] } }));
  assert.equal(four.ok, true);
});

test('no Python at all: one message that says what to install and what was tried', async () => {
  const choice = await choosePython(defaultCandidates('linux'), fakeProbe({}));
  assert.equal(choice.ok, false);
  if (choice.ok) return;
  const { message, log } = noPythonMessage(choice, 'default');
  assert.match(message, /needs Python 3\.10 or later/);
  assert.match(message, /none was found \(tried python3, python\)/);
  assert.match(message, /Install Python 3\.10\+/);
  assert.doesNotMatch(message, /-32097|connection/);
  assert.equal(log, 'python3: not found; python: not found');
});

test('only an old Python: the message names its version', async () => {
  const choice = await choosePython(defaultCandidates('linux'), fakeProbe({ python3: { kind: 'version', version: [3, 9] } }));
  assert.equal(choice.ok, false);
  if (choice.ok) return;
  const { message } = noPythonMessage(choice, 'default');
  assert.match(message, /needs Python 3\.10 or later, and python3 is Python 3\.9\./);
  assert.match(message, /sparkforge\.python\.interpreter/);
});

test('an interpreter from the setting that is too old or cannot run says so', async () => {
  const old = await choosePython([['/opt/py38/bin/python']], fakeProbe({ '/opt/py38/bin/python': { kind: 'version', version: [3, 8] } }));
  assert.equal(old.ok, false);
  if (old.ok) return;
  assert.equal(
    noPythonMessage(old, 'setting').message,
    'sparkforge needs Python 3.10 or later. /opt/py38/bin/python (from the sparkforge.python.interpreter setting) is Python 3.8.',
  );
  const gone = await choosePython([['uv', 'run', 'python']], fakeProbe({}));
  assert.equal(gone.ok, false);
  if (gone.ok) return;
  assert.match(noPythonMessage(gone, 'python extension').message, /uv run python \(from the Python extension\) could not be run\./);
});

test('the bundle manifest says which versions its compiled modules serve', () => {
  assert.equal(bundleServes(['3.10', '3.11', '3.12', '3.13'], [3, 11]), true);
  assert.equal(bundleServes(['3.10', '3.11', '3.12', '3.13'], [3, 14]), false);
  assert.equal(bundleServes(undefined, [3, 11]), undefined);
});

test('probePython runs the command and reads its version', { skip: process.platform === 'win32' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparkforge-probe-'));
  const script = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  const old = script('python39', 'echo "(3, 9)"');
  // The probe passes `-c <script>`: a wrapper command with a prefix keeps its own arguments.
  const wrapper = script('wrapper', '[ "$1" = "--flag" ] && [ "$2" = "-c" ] && echo "(3, 12)" && echo /opt/py/bin/python3.12');
  const broken = script('broken', 'echo "Traceback: boom" >&2; exit 1');
  assert.deepEqual(await probePython([old]), { kind: 'version', version: [3, 9] });
  assert.deepEqual(await probePython([wrapper, '--flag']), { kind: 'version', version: [3, 12], executable: '/opt/py/bin/python3.12' });
  assert.deepEqual(await probePython([join(dir, 'no-such-python')]), { kind: 'missing' });
  assert.deepEqual(await probePython([broken]), { kind: 'broken', detail: 'Traceback: boom' });
  assert.deepEqual(await probePython([]), { kind: 'missing' });
  if (process.env.SPARKFORGE_TEST_PYTHON !== 'skip') {
    // A real interpreter, when this machine has one.
    const real = await probePython(['python3']);
    if (real.kind === 'version') {
      assert.ok(real.version[0] === 3 && real.executable && real.executable.length > 0);
    }
  }
});
