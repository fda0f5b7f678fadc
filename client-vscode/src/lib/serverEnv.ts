/**
 * What the server process is given: its settings object and its environment.
 *
 * Settings go to the server as `initializationOptions` and `workspace/didChangeConfiguration`;
 * the client-only parts (the interpreter, the trace level) are left out, and so is anything
 * that looks like a key. Keys travel only as environment variables of the server process,
 * under the names the settings give (`apiKeyEnv`).
 */

import type { Role } from '../protocol';

export type SettingsObject = { [key: string]: unknown };

/** Sections read by the client only; the server would report them as unknown settings. */
const CLIENT_ONLY = new Set(['python', 'trace']);

/** `apiKey`, `api_key`, `openaiApiKey`, `clientSecret`, ... but not `apiKeyEnv`. */
const SECRET_NAME = /(api[-_]?key|secret|password)$/i;

function clean(value: unknown, depth: number): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => clean(v, depth + 1));
  }
  if (value && typeof value === 'object') {
    const out: SettingsObject = {};
    for (const [key, v] of Object.entries(value as SettingsObject)) {
      if (SECRET_NAME.test(key) || (depth === 0 && CLIENT_ONLY.has(key)) || v === undefined || typeof v === 'function') {
        continue;
      }
      out[key] = clean(v, depth + 1);
    }
    return out;
  }
  return value;
}

/** The `sparkforge` section as the server should see it: a plain, key-free copy. */
export function serverSettings(section: unknown): SettingsObject {
  const cleaned = clean(section ?? {}, 0);
  return cleaned && typeof cleaned === 'object' && !Array.isArray(cleaned) ? (cleaned as SettingsObject) : {};
}

/**
 * `settings` with `agent.trusted` set to whether VS Code trusts the workspace: the server runs
 * no command for the agent in an untrusted one. Whatever a settings file says is overridden,
 * so a repository cannot declare itself trusted.
 */
export function withWorkspaceTrust(settings: SettingsObject, trusted: boolean): SettingsObject {
  const agent = settings.agent && typeof settings.agent === 'object' && !Array.isArray(settings.agent) ? (settings.agent as SettingsObject) : {};
  return { ...settings, agent: { ...agent, trusted } };
}

export interface RoleKey {
  /** The environment variable the server reads the role's key from. */
  envName: string;
  /** The key stored in VS Code's secret storage, if any. */
  key?: string;
}

export interface ServerEnvironment {
  env: { [name: string]: string };
  /** Plain-language notes for the log; they never contain a key. */
  notes: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The server's environment: the editor's own, with the bundled libraries first on PYTHONPATH
 * and each role's stored key under its variable name. When both roles name the same variable
 * with different stored keys, the fast role's key wins (and a note says so).
 */
export function serverEnvironment(
  base: { [name: string]: string | undefined },
  keys: Record<Role, RoleKey>,
  options: { bundledLibs?: string; pathDelimiter: string },
): ServerEnvironment {
  const env: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined) {
      env[name] = value;
    }
  }
  const notes: string[] = [];
  if (options.bundledLibs) {
    env.PYTHONPATH = env.PYTHONPATH ? `${options.bundledLibs}${options.pathDelimiter}${env.PYTHONPATH}` : options.bundledLibs;
  }
  // Python's stdio in UTF-8 whatever the locale: LSP messages are UTF-8.
  env.PYTHONIOENCODING = 'utf-8';
  const set = new Map<string, Role>();
  for (const role of ['deep', 'fast'] as const) {
    const { envName, key } = keys[role];
    if (!key) {
      continue;
    }
    if (!ENV_NAME.test(envName)) {
      notes.push(`sparkforge.${role}.apiKeyEnv is not a valid environment variable name; the stored ${role} key is not passed`);
      continue;
    }
    const other = set.get(envName);
    if (other && env[envName] !== key) {
      notes.push(`both models read ${envName}: the key stored for ${role} is used for both`);
    }
    env[envName] = key;
    set.set(envName, role);
  }
  for (const [envName, role] of set) {
    notes.push(`${envName}: stored key for ${role}`);
  }
  return { env, notes };
}

/** Setting changes that need a new server process (interpreter, key variable names). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return (
    affects('sparkforge.python') ||
    affects('sparkforge.fast.apiKeyEnv') ||
    affects('sparkforge.deep.apiKeyEnv')
  );
}
