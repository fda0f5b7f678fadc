/** Reading the `sparkforge` settings. */

import * as vscode from 'vscode';
import { previewSetting, type PreviewSetting } from './lib/actionEdit';
import type { Role } from './protocol';
import { serverSettings, SettingsObject, withWorkspaceTrust } from './lib/serverEnv';

export const SECTION = 'sparkforge';

/**
 * The whole `sparkforge` section (defaults included) as the server sees it, with
 * `agent.trusted` from VS Code's workspace trust.
 */
export function readServerSettings(scope?: vscode.ConfigurationScope): SettingsObject {
  return forServer(vscode.workspace.getConfiguration(undefined, scope).get(SECTION));
}

/** A `sparkforge` section as it may reach the server: key-free, with the workspace's trust. */
export function forServer(section: unknown): SettingsObject {
  return withWorkspaceTrust(serverSettings(section), vscode.workspace.isTrusted);
}

/** The interpreter command from `sparkforge.python.interpreter`, or undefined when unset. */
export function interpreterSetting(scope?: vscode.ConfigurationScope): string[] | undefined {
  const value = vscode.workspace.getConfiguration(SECTION, scope).get<unknown>('python.interpreter');
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0)) {
    return value as string[];
  }
  return undefined;
}

export function apiKeyEnv(role: Role): string {
  const name = vscode.workspace.getConfiguration(SECTION).get<string>(`${role}.apiKeyEnv`);
  return name && name.trim() ? name.trim() : 'OPENAI_API_KEY';
}

export function inlineEnabled(scope?: vscode.ConfigurationScope): boolean {
  return vscode.workspace.getConfiguration(SECTION, scope).get<boolean>('inline.enabled', true);
}

export function nextEditEnabled(scope?: vscode.ConfigurationScope): boolean {
  return vscode.workspace.getConfiguration(SECTION, scope).get<boolean>('nextEdit.enabled', true);
}

/** `sparkforge.<role>.model`: the name shown for an answer until the server says which. */
export function modelName(role: Role): string | undefined {
  return vscode.workspace.getConfiguration(SECTION).get<string>(`${role}.model`);
}

export function baseUrlOf(role: Role): string | undefined {
  return vscode.workspace.getConfiguration(SECTION).get<string>(`${role}.baseUrl`);
}

/** The model that serves a code action (`sparkforge.actions.routing`): deep unless routed. */
export function actionRole(kind: string): Role {
  const routing = vscode.workspace.getConfiguration(SECTION).get<Record<string, unknown>>('actions.routing') ?? {};
  return routing[kind] === 'fast' ? 'fast' : 'deep';
}

export function actionsPreview(scope?: vscode.ConfigurationScope): PreviewSetting {
  return previewSetting(vscode.workspace.getConfiguration(SECTION, scope).get('actions.preview'));
}
