/**
 * Is there a Python that can run the server? Each candidate command is asked for its version
 * (`-c 'import sys; print(sys.version_info[:2]); print(sys.executable)'`) before a language client is made, so a
 * missing or too old Python gets one plain message instead of the language client's
 * "couldn't create connection to server" (-32097).
 *
 * No `vscode` import: the choice is unit-tested with a fake probe, and `probePython` with
 * small scripts standing in for interpreters.
 */

import { execFile } from 'node:child_process';

const MIN_PYTHON: readonly [number, number] = [3, 10];

/** Where the user reads what to install: the README's section, shipped inside the extension. */
export const INSTALL_ANCHOR = 'requirements';

const VERSION_SCRIPT = 'import sys; print(sys.version_info[:2]); print(sys.executable)';

export type ProbeResult =
  | { kind: 'version'; version: [number, number]; executable?: string }
  /** The command does not exist (ENOENT), or is a launcher without a Python behind it. */
  | { kind: 'missing' }
  /** It ran but did not answer with a version. */
  | { kind: 'broken'; detail: string };

export type Probe = (command: string[]) => Promise<ProbeResult>;

/** Commands tried, in order, when nothing (setting, Python extension) chose an interpreter. */
export function defaultCandidates(platform: NodeJS.Platform): string[][] {
  return platform === 'win32' ? [['python'], ['py', '-3'], ['python3']] : [['python3'], ['python']];
}

/** `(3, 11)` (what the script prints) or `3.11`; undefined for anything else. */
export function parseVersion(output: string): [number, number] | undefined {
  const m = /^\s*\(?\s*(\d+)\s*[,.]\s*(\d+)\s*\)?\s*$/.exec(output);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function isSupported(version: [number, number]): boolean {
  return version[0] > MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] >= MIN_PYTHON[1]);
}

export type PythonChoice =
  | { ok: true; command: string[]; version: [number, number]; executable?: string }
  | {
      ok: false;
      /** What each candidate said, in order, for the message and the log. */
      tried: { command: string[]; result: ProbeResult }[];
    };

/** The first candidate that runs and is 3.10 or later. */
export async function choosePython(candidates: string[][], probe: Probe): Promise<PythonChoice> {
  const tried: { command: string[]; result: ProbeResult }[] = [];
  for (const command of candidates) {
    const result = await probe(command);
    if (result.kind === 'version' && isSupported(result.version)) {
      return result.executable ? { ok: true, command, version: result.version, executable: result.executable } : { ok: true, command, version: result.version };
    }
    tried.push({ command, result });
  }
  return { ok: false, tried };
}

const format = (v: readonly [number, number]) => `${v[0]}.${v[1]}`;

/**
 * The one message shown when no candidate can run the server, and the note for the log.
 * `chosenBy` names where a single candidate came from ('setting', 'python extension'); for
 * the default search it is 'default'.
 */
export function noPythonMessage(choice: Extract<PythonChoice, { ok: false }>, chosenBy: string): { message: string; log: string } {
  const need = `Python ${format(MIN_PYTHON)} or later`;
  const old = choice.tried.filter((t) => t.result.kind === 'version');
  const log = choice.tried
    .map(({ command, result }) => {
      const what = result.kind === 'version' ? `Python ${format(result.version)}` : result.kind === 'missing' ? 'not found' : `failed: ${result.detail}`;
      return `${command.join(' ')}: ${what}`;
    })
    .join('; ');
  if (chosenBy !== 'default') {
    const [{ command, result }] = choice.tried;
    const where = chosenBy === 'setting' ? 'the sparkforge.python.interpreter setting' : 'the Python extension';
    const problem =
      result.kind === 'version'
        ? `is Python ${format(result.version)}`
        : result.kind === 'missing'
          ? 'could not be run'
          : 'did not run as Python';
    return { message: `sparkforge needs ${need}. ${command.join(' ')} (from ${where}) ${problem}.`, log };
  }
  if (old.length > 0) {
    const found = old.map((t) => `${t.command.join(' ')} is Python ${format((t.result as { version: [number, number] }).version)}`).join(', ');
    return { message: `sparkforge needs ${need}, and ${found}. Install a newer Python, or choose one in the sparkforge.python.interpreter setting.`, log };
  }
  const names = choice.tried.map((t) => t.command.join(' ')).join(', ');
  return { message: `sparkforge needs ${need}, and none was found (tried ${names}). Install Python ${format(MIN_PYTHON)}+, then restart the server.`, log };
}

/** Runs `command -c 'print(sys.version_info[:2]); print(sys.executable)'`, with a timeout. */
export function probePython(
  command: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ProbeResult> {
  const [file, ...prefix] = command;
  return new Promise((resolve) => {
    if (!file) {
      resolve({ kind: 'missing' });
      return;
    }
    execFile(
      file,
      [...prefix, '-c', VERSION_SCRIPT],
      { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 15_000, windowsHide: true },
      (error, stdout, stderr) => {
        const [first = '', executable] = String(stdout).trim().split(/\r?\n/);
        const version = parseVersion(first);
        if (!error && version) {
          resolve(executable ? { kind: 'version', version, executable: executable.trim() } : { kind: 'version', version });
        } else if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          resolve({ kind: 'missing' });
        } else if (/Microsoft Store|was not found; run without arguments to install/i.test(String(stderr))) {
          // Windows' python.exe alias that only opens the Store.
          resolve({ kind: 'missing' });
        } else {
          const detail = String(stderr).trim().split(/\r?\n/).pop() || (error ? error.message : 'no version printed');
          resolve({ kind: 'broken', detail });
        }
      },
    );
  });
}

/** Whether the bundled libraries (`bundled/manifest.json`'s `python`) serve this version. */
export function bundleServes(manifestPython: unknown, version: [number, number]): boolean | undefined {
  if (!Array.isArray(manifestPython)) {
    return undefined;
  }
  return manifestPython.includes(format(version));
}
