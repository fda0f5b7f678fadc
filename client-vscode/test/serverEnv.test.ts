import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsRestart, serverEnvironment, serverSettings, withWorkspaceTrust } from '../src/lib/serverEnv';

test('server settings leave out client-only sections and anything like a key', () => {
  const section = {
    fast: { model: 'm', baseUrl: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'FAST_KEY', apiKey: 'sk-oops', timeouts: { firstToken: 5 } },
    deep: { model: 'd', reasoningEffort: null },
    inline: { enabled: true, debounceMs: null },
    python: { interpreter: ['python3'] },
    trace: { server: 'verbose' },
    exclude: ['secrets/**'],
    actions: { routing: { document: 'fast' } },
  };
  assert.deepEqual(serverSettings(section), {
    fast: { model: 'm', baseUrl: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'FAST_KEY', timeouts: { firstToken: 5 } },
    deep: { model: 'd', reasoningEffort: null },
    inline: { enabled: true, debounceMs: null },
    exclude: ['secrets/**'],
    actions: { routing: { document: 'fast' } },
  });
  assert.deepEqual(serverSettings(undefined), {});
});

test('stored keys become environment variables under the configured names', () => {
  const { env, notes } = serverEnvironment(
    { PATH: '/usr/bin', PYTHONPATH: '/mine', GONE: undefined },
    { fast: { envName: 'SPARK_KEY', key: 'sk-fast' }, deep: { envName: 'OPENAI_API_KEY', key: 'sk-deep' } },
    { bundledLibs: '/ext/bundled/libs', pathDelimiter: ':' },
  );
  assert.equal(env.SPARK_KEY, 'sk-fast');
  assert.equal(env.OPENAI_API_KEY, 'sk-deep');
  assert.equal(env.PYTHONPATH, '/ext/bundled/libs:/mine');
  assert.equal(env.PATH, '/usr/bin');
  assert.ok(!('GONE' in env));
  assert.ok(notes.every((n) => !n.includes('sk-')), 'notes never carry a key');
});

test('without stored keys the inherited variables stay', () => {
  const { env } = serverEnvironment(
    { OPENAI_API_KEY: 'from-shell' },
    { fast: { envName: 'OPENAI_API_KEY' }, deep: { envName: 'OPENAI_API_KEY' } },
    { pathDelimiter: ':' },
  );
  assert.equal(env.OPENAI_API_KEY, 'from-shell');
  assert.equal(env.PYTHONPATH, undefined);
});

test('one variable for both roles: the fast key wins, with a note', () => {
  const { env, notes } = serverEnvironment(
    {},
    { fast: { envName: 'OPENAI_API_KEY', key: 'sk-a' }, deep: { envName: 'OPENAI_API_KEY', key: 'sk-b' } },
    { pathDelimiter: ':' },
  );
  assert.equal(env.OPENAI_API_KEY, 'sk-a');
  assert.ok(notes.some((n) => n.includes('both models read OPENAI_API_KEY')));
});

test('a bad variable name is not used', () => {
  const { env, notes } = serverEnvironment({}, { fast: { envName: 'BAD NAME', key: 'sk-a' }, deep: { envName: 'OPENAI_API_KEY' } }, { pathDelimiter: ':' });
  assert.ok(!Object.values(env).includes('sk-a'));
  assert.ok(notes.some((n) => n.includes('not a valid environment variable name')));
});

test('which setting changes restart the server', () => {
  const changed = (...sections: string[]) => (s: string) => sections.some((c) => c === s || c.startsWith(s + '.'));
  assert.equal(needsRestart(changed('sparkforge.python.interpreter')), true);
  assert.equal(needsRestart(changed('sparkforge.deep.apiKeyEnv')), true);
  assert.equal(needsRestart(changed('sparkforge.fast.model')), false);
});

test('agent.trusted is the workspace trust, whatever the settings say', () => {
  assert.deepEqual(withWorkspaceTrust({ agent: { trusted: true, maxSteps: 10 }, exclude: [] }, false), {
    agent: { trusted: false, maxSteps: 10 },
    exclude: [],
  });
  assert.deepEqual(withWorkspaceTrust({}, true), { agent: { trusted: true } });
  assert.deepEqual(withWorkspaceTrust({ agent: 'yes' }, true), { agent: { trusted: true } });
});
