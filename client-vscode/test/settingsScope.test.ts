import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Where code and keys go is the user's choice, never a repository's: VS Code ignores
// workspace (.vscode/settings.json) values of machine-scoped settings. Nor may a repository
// allow the agent to run its own commands without asking.
test('baseUrl, apiKeyEnv, the interpreter and the agent\'s allowed commands cannot be set by a workspace', () => {
  // npm test runs in client-vscode/
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
  const configuration = pkg.contributes.configuration;
  const sections = Array.isArray(configuration) ? configuration : [configuration];
  const properties: Record<string, { scope?: string }> = Object.assign({}, ...sections.map((c: { properties: object }) => c.properties));
  for (const name of ['sparkforge.fast.baseUrl', 'sparkforge.fast.apiKeyEnv', 'sparkforge.deep.baseUrl',
    'sparkforge.deep.apiKeyEnv', 'sparkforge.python.interpreter', 'sparkforge.agent.allowCommands', 'sparkforge.agent.maxCostUsd']) {
    assert.ok(['machine', 'application'].includes(properties[name]?.scope ?? ''), `${name} is ${properties[name]?.scope ?? 'window'}-scoped`);
  }
});
