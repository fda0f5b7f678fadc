/**
 * Reading a code action's LSP WorkspaceEdit without `vscode`: what it touches, which lines of
 * each file it changes, whether to preview it first (`sparkforge.actions.preview`), the
 * annotations stripped of `needsConfirmation`, and the past-tense title of the notification
 * ("Document split_bill with sparkforge" -> "Documented `split_bill`").
 */

import type { LspTextDocumentEdit, LspWorkspaceEdit, Position, TextEdit } from '../protocol';
import { applyEdits, checkEdits, splitLines } from './editLayout';

export type PreviewSetting = 'never' | 'multiFile' | 'always';

export function previewSetting(value: unknown): PreviewSetting {
  return value === 'always' || value === 'multiFile' ? value : 'never';
}

/** A resource operation of the edit, as VS Code would carry it out. */
export interface FileOperation {
  kind: 'create' | 'rename' | 'delete';
  uri: string;
  newUri?: string;
}

export interface EditSummary {
  /** Every file the edit touches, in the order the edit names them (no repeats). */
  files: string[];
  /** Files the edit creates. */
  created: string[];
  operations: FileOperation[];
  /** The text edits per file, with the version they were made for (null: any version). */
  textEdits: Map<string, { version: number | null; edits: TextEdit[] }>;
}

export function summarizeEdit(edit: LspWorkspaceEdit): EditSummary {
  const files: string[] = [];
  const touch = (uri: string) => {
    if (!files.includes(uri)) {
      files.push(uri);
    }
  };
  const operations: FileOperation[] = [];
  const textEdits = new Map<string, { version: number | null; edits: TextEdit[] }>();
  const addText = (uri: string, version: number | null, edits: TextEdit[]) => {
    touch(uri);
    const entry = textEdits.get(uri) ?? { version: null, edits: [] };
    entry.version = version ?? entry.version;
    entry.edits.push(...edits.map(({ range, newText }) => ({ range, newText })));
    textEdits.set(uri, entry);
  };
  for (const change of edit.documentChanges ?? []) {
    if ('kind' in change) {
      const op = change as { kind: FileOperation['kind']; uri?: string; oldUri?: string; newUri?: string };
      const uri = op.kind === 'rename' ? op.oldUri : op.uri;
      if (typeof uri !== 'string') {
        continue;
      }
      operations.push(op.kind === 'rename' ? { kind: 'rename', uri, newUri: op.newUri } : { kind: op.kind, uri });
      touch(uri);
      if (op.kind === 'rename' && op.newUri) {
        touch(op.newUri);
      }
      continue;
    }
    const docEdit = change as LspTextDocumentEdit;
    addText(docEdit.textDocument.uri, docEdit.textDocument.version ?? null, docEdit.edits);
  }
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    addText(uri, null, edits);
  }
  const created = operations.filter((o) => o.kind === 'create').map((o) => o.uri);
  return { files, created, operations, textEdits };
}

/** `never`: apply at once; `always`: show the diff first; `multiFile`: only when the edit
 *  touches more than one file or creates, renames or deletes one. */
export function shouldPreview(setting: PreviewSetting, summary: EditSummary): boolean {
  if (setting === 'always') {
    return true;
  }
  if (setting === 'multiFile') {
    return summary.files.length > 1 || summary.operations.length > 0;
  }
  return false;
}

/** The same edit with no annotation asking for confirmation, so VS Code never opens its
 *  refactor preview (where every entry starts unticked). */
export function withoutConfirmation(edit: LspWorkspaceEdit): LspWorkspaceEdit {
  if (!edit.changeAnnotations) {
    return edit;
  }
  const changeAnnotations: NonNullable<LspWorkspaceEdit['changeAnnotations']> = {};
  for (const [id, annotation] of Object.entries(edit.changeAnnotations)) {
    const { needsConfirmation: _dropped, ...rest } = annotation;
    changeAnnotations[id] = rest;
  }
  return { ...edit, changeAnnotations };
}

/** Lines (0-based, inclusive) of a file after an edit. */
export interface LineSpan {
  start: number;
  end: number;
}

function clamp(lines: readonly string[], pos: Position): Position {
  if (pos.line >= lines.length) {
    return { line: lines.length - 1, character: lines[lines.length - 1].length };
  }
  return { line: Math.max(0, pos.line), character: Math.min(Math.max(0, pos.character), lines[pos.line].length) };
}

/** The edits with positions past the end clamped to it (as editors do: a new file's content
 *  replaces (0,0)-(1,0)), sorted; undefined if they overlap or are malformed. */
function clampEdits(text: string, edits: readonly TextEdit[]): TextEdit[] | undefined {
  const lines = splitLines(text);
  return checkEdits(
    lines,
    edits.map((e) => ({ range: { start: clamp(lines, e.range.start), end: clamp(lines, e.range.end) }, newText: e.newText })),
  );
}

/** The text after the edits, or undefined if they do not fit it. */
export function textAfter(text: string, edits: readonly TextEdit[], eol = '\n'): string | undefined {
  const checked = clampEdits(text, edits);
  return checked ? applyEdits(splitLines(text), eol, checked) : undefined;
}

/**
 * The lines of the new text that the edits really change: each group of edits that share
 * lines is compared line by line with what it replaces, and the lines it keeps (a hunk's
 * context) are left out. A pure deletion changes no line of the new text.
 */
export function changedLines(text: string, edits: readonly TextEdit[]): LineSpan[] {
  const lines = splitLines(text);
  const checked = clampEdits(text, edits);
  if (!checked || checked.length === 0) {
    return [];
  }
  const groups: TextEdit[][] = [];
  for (const e of checked) {
    const last = groups.at(-1);
    if (last && e.range.start.line <= last[last.length - 1].range.end.line) {
      last.push(e);
    } else {
      groups.push([e]);
    }
  }
  const spans: LineSpan[] = [];
  let delta = 0;
  for (const group of groups) {
    const first = group[0].range.start.line;
    const lastLine = group[group.length - 1].range.end.line;
    const oldBlock = lines.slice(first, lastLine + 1);
    const shifted = group.map((e) => ({
      range: {
        start: { line: e.range.start.line - first, character: e.range.start.character },
        end: { line: e.range.end.line - first, character: e.range.end.character },
      },
      newText: e.newText,
    }));
    const newBlock = splitLines(applyEdits(oldBlock, '\n', shifted));
    let prefix = 0;
    while (prefix < oldBlock.length && prefix < newBlock.length && oldBlock[prefix] === newBlock[prefix]) {
      prefix++;
    }
    let suffix = 0;
    while (
      suffix < oldBlock.length - prefix &&
      suffix < newBlock.length - prefix &&
      oldBlock[oldBlock.length - 1 - suffix] === newBlock[newBlock.length - 1 - suffix]
    ) {
      suffix++;
    }
    const start = first + delta + prefix;
    const end = first + delta + newBlock.length - suffix - 1;
    if (end >= start) {
      spans.push({ start, end });
    }
    delta += newBlock.length - oldBlock.length;
  }
  return spans;
}

const PAST: Record<string, string> = {
  document: 'Documented',
  tests: 'Generated tests for',
  refactor: 'Refactored',
  fix: 'Fixed',
  explain: 'Explained',
};

function quoted(label: string): string {
  // A name is shown as code; a phrase ("the selection") as it is.
  return /^[\w.$:<>-]+$/u.test(label) ? `\`${label}\`` : label;
}

function pastTenseVerb(verb: string): string {
  if (/e$/i.test(verb)) {
    return `${verb}d`;
  }
  if (/[^aeiou]y$/i.test(verb)) {
    return `${verb.slice(0, -1)}ied`;
  }
  return `${verb}ed`;
}

/**
 * What the notification says once an action is applied, from the action's title and data:
 * "Document split_bill with sparkforge" -> "Documented `split_bill`",
 * "Generate tests for split_bill with sparkforge" -> "Generated tests for `split_bill`",
 * "Refactor with sparkforge…" (data.name "total") -> "Refactored `total`",
 * "Fix with sparkforge: undefined name 'x'" -> "Fixed: undefined name 'x'".
 */
export function doneTitle(title: string, data?: { kind?: unknown; name?: unknown }): string {
  const kind = typeof data?.kind === 'string' ? data.kind : undefined;
  const name = typeof data?.name === 'string' && data.name ? data.name : undefined;
  const clean = title.replace(/…$/u, '').trim();
  const fix = /^Fix with sparkforge(?::\s*(.+))?$/u.exec(clean);
  if (fix) {
    return fix[1] ? `Fixed: ${fix[1]}` : name ? `Fixed ${quoted(name)}` : 'Fixed';
  }
  const body = clean.replace(/\s+with sparkforge$/u, '');
  const past = kind ? PAST[kind] : undefined;
  if (past) {
    const rest = kind === 'tests' ? body.replace(/^Generate tests for\s*/u, '') : body.replace(/^\S+\s*/u, '');
    const target = rest || name;
    return target ? `${past} ${quoted(target)}` : past;
  }
  const [verb, ...words] = body.split(/\s+/u);
  if (!verb) {
    return 'Applied the change';
  }
  const target = words.join(' ') || name;
  return target ? `${pastTenseVerb(verb)} ${words.length === 1 ? quoted(target) : target}` : pastTenseVerb(verb);
}
