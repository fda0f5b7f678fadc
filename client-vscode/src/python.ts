/**
 * Which Python runs the server: `sparkforge.python.interpreter` if set, else the environment
 * selected in the Python extension (when it is installed; it is not a dependency), else
 * `python3`. Follows the vscode-python-tools-extension-template.
 */

import * as vscode from 'vscode';
import { interpreterSetting } from './settings';

/** The small part of the Python extension's API used here. */
interface PythonExtensionApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      environment: { id: string; path: string } | string,
    ): Promise<
      | {
          executable: { uri?: vscode.Uri };
          version?: { major?: number; minor?: number; micro?: number };
        }
      | undefined
    >;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

const PYTHON_EXTENSION = 'ms-python.python';
const MIN_VERSION = { major: 3, minor: 10 };

export interface Interpreter {
  command: string[];
  /** Where it came from, for the log. */
  source: 'setting' | 'python extension' | 'default';
}

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION);
  if (!extension) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    return api?.environments ? api : undefined;
  } catch {
    return undefined;
  }
}

export async function findInterpreter(
  resource: vscode.Uri | undefined,
  log: vscode.LogOutputChannel,
): Promise<Interpreter> {
  const configured = interpreterSetting(resource);
  if (configured) {
    return { command: configured, source: 'setting' };
  }
  const api = await pythonApi();
  if (api) {
    try {
      const active = api.environments.getActiveEnvironmentPath(resource);
      const env = await api.environments.resolveEnvironment(active);
      const path = env?.executable.uri?.fsPath;
      const version = env?.version;
      if (path) {
        if (
          version?.major !== undefined &&
          version.minor !== undefined &&
          (version.major < MIN_VERSION.major || (version.major === MIN_VERSION.major && version.minor < MIN_VERSION.minor))
        ) {
          log.warn(
            `The selected Python (${path}) is ${version.major}.${version.minor}; sparkforge needs ${MIN_VERSION.major}.${MIN_VERSION.minor} or later. Using python3.`,
          );
        } else {
          return { command: [path], source: 'python extension' };
        }
      }
    } catch (err) {
      log.warn(`Could not ask the Python extension for an interpreter: ${String(err)}`);
    }
  }
  return { command: ['python3'], source: 'default' };
}

/** Fires when the Python extension's selected environment changes (never, without it). */
export async function onDidChangePythonInterpreter(listener: () => void): Promise<vscode.Disposable> {
  const api = await pythonApi();
  return api ? api.environments.onDidChangeActiveEnvironmentPath(() => listener()) : new vscode.Disposable(() => {});
}
