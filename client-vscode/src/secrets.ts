/**
 * API keys in VS Code's secret storage, one per role. They reach the server only as
 * environment variables of its process; never settings, never initializationOptions, never
 * the log.
 */

import * as vscode from 'vscode';
import { hostOf, keyHostDecision, DEFAULT_KEY_HOST } from './lib/keyHost';
import type { Role } from './protocol';
import { baseUrlOf } from './settings';

const ROLES: readonly Role[] = ['fast', 'deep'];

function secretName(role: Role): string {
  return `sparkforge.apiKey.${role}`;
}

/** Where the role's key was stored for (the host of its base URL at the time). */
function hostName(role: Role): string {
  return `sparkforge.apiKeyHost.${role}`;
}

export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(role: Role): Thenable<string | undefined> {
    return this.secrets.get(secretName(role));
  }

  /**
   * The role's key, if it may go to the role's base URL now: it was stored for that host, or
   * the user confirms sending it there (a modal; "Send" records the new host). Undefined when
   * there is no key or the user declines.
   */
  async forServer(role: Role, log?: (message: string) => void): Promise<string | undefined> {
    const key = await this.get(role);
    if (!key) {
      return undefined;
    }
    const stored = await this.secrets.get(hostName(role));
    const baseUrl = baseUrlOf(role);
    if (keyHostDecision(stored, baseUrl) === 'send') {
      return key;
    }
    const host = hostOf(baseUrl) ?? String(baseUrl);
    const send = `Send to ${host}`;
    const answer = await vscode.window.showWarningMessage(
      `sparkforge: the API key stored for the ${role} model was stored for ${stored ?? DEFAULT_KEY_HOST}, ` +
        `but sparkforge.${role}.baseUrl now points to ${host}. Send the key there?`,
      { modal: true, detail: 'Only send it if you trust that server: it receives your key with every request.' },
      send,
    );
    if (answer !== send) {
      log?.(`The stored ${role} key was not given to the server: ${host} is not the host it was stored for.`);
      return undefined;
    }
    await this.secrets.store(hostName(role), host);
    return key;
  }

  async has(role: Role): Promise<boolean> {
    return Boolean(await this.get(role));
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((e) => {
      if (ROLES.some((role) => e.key === secretName(role))) {
        listener();
      }
    });
  }

  /** Command `sparkforge.setApiKey`: asks the role, then the key (masked). */
  async promptAndStore(preselected?: Role): Promise<boolean> {
    const roles = preselected ? [preselected] : await pickRoles('Store an API key for which model?');
    if (!roles) {
      return false;
    }
    const key = await vscode.window.showInputBox({
      title: `sparkforge: API key for ${roles.join(' and ')}`,
      prompt: 'Stored in VS Code\'s secret storage and given to the sparkforge server as an environment variable.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (/\s/.test(value.trim()) ? 'A key has no spaces' : undefined),
    });
    if (!key || !key.trim()) {
      return false;
    }
    for (const role of roles) {
      await this.secrets.store(secretName(role), key.trim());
      const host = hostOf(baseUrlOf(role));
      if (host) {
        await this.secrets.store(hostName(role), host);
      }
    }
    return true;
  }

  /** Command `sparkforge.clearApiKey`. */
  async promptAndDelete(): Promise<boolean> {
    const roles = await pickRoles('Forget the stored API key of which model?');
    if (!roles) {
      return false;
    }
    for (const role of roles) {
      await this.secrets.delete(secretName(role));
      await this.secrets.delete(hostName(role));
    }
    return true;
  }
}

async function pickRoles(title: string): Promise<Role[] | undefined> {
  const items: Array<vscode.QuickPickItem & { roles: Role[] }> = [
    { label: 'fast', description: 'ghost text and next edits', roles: ['fast'] },
    { label: 'deep', description: 'code actions and chat', roles: ['deep'] },
    { label: 'both', description: 'the same key for both models', roles: ['fast', 'deep'] },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `sparkforge: ${title}`, ignoreFocusOut: true });
  return pick?.roles;
}
