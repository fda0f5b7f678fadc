/**
 * API keys in VS Code's secret storage, one per role. They reach the server only as
 * environment variables of its process; never settings, never initializationOptions, never
 * the log.
 */

import * as vscode from 'vscode';
import type { Role } from './protocol';

const ROLES: readonly Role[] = ['fast', 'deep'];

function secretName(role: Role): string {
  return `sparkforge.apiKey.${role}`;
}

export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(role: Role): Thenable<string | undefined> {
    return this.secrets.get(secretName(role));
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
