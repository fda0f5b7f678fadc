/**
 * Where a next-edit suggestion is drawn, and what the document looks like once it is applied.
 *
 * Pure functions over the document's lines: the server's edits are checked (in bounds, not
 * overlapping), trimmed to what really changes (common prefix and suffix; per line when an edit
 * keeps its number of lines), and laid out as struck-through removals, inserted text shown
 * after a position, a hint, and the position that Tab jumps to.
 */

import type { Position, Range, TextEdit } from '../protocol';

export function comparePositions(a: Position, b: Position): number {
  return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

export function normalizeEol(text: string, eol: string): string {
  return text.replace(/\r\n|\r|\n/g, eol);
}

/** The position reached after `text` is inserted at `start`. */
export function advance(start: Position, text: string): Position {
  const parts = splitLines(text);
  if (parts.length === 1) {
    return { line: start.line, character: start.character + text.length };
  }
  return { line: start.line + parts.length - 1, character: parts[parts.length - 1].length };
}

export function isEmptyRange(range: Range): boolean {
  return comparePositions(range.start, range.end) === 0;
}

export function offsetAt(lines: readonly string[], eol: string, pos: Position): number {
  let offset = 0;
  for (let i = 0; i < pos.line; i++) {
    offset += lines[i].length + eol.length;
  }
  return offset + pos.character;
}

export function positionAt(text: string, offset: number): Position {
  const before = splitLines(text.slice(0, offset));
  return { line: before.length - 1, character: before[before.length - 1].length };
}

export function textInRange(lines: readonly string[], eol: string, range: Range): string {
  const { start, end } = range;
  if (start.line === end.line) {
    return lines[start.line].slice(start.character, end.character);
  }
  const parts = [lines[start.line].slice(start.character)];
  for (let i = start.line + 1; i < end.line; i++) {
    parts.push(lines[i]);
  }
  parts.push(lines[end.line].slice(0, end.character));
  return parts.join(eol);
}

function isValidPosition(lines: readonly string[], pos: Position): boolean {
  return (
    Number.isInteger(pos.line) &&
    Number.isInteger(pos.character) &&
    pos.line >= 0 &&
    pos.line < lines.length &&
    pos.character >= 0 &&
    pos.character <= lines[pos.line].length
  );
}

/** The edits sorted by position, or undefined if one is out of bounds or two overlap. */
export function checkEdits(lines: readonly string[], edits: readonly TextEdit[]): TextEdit[] | undefined {
  const sorted = [...edits].sort((a, b) => comparePositions(a.range.start, b.range.start));
  for (let i = 0; i < sorted.length; i++) {
    const { range, newText } = sorted[i];
    if (typeof newText !== 'string' || !isValidPosition(lines, range.start) || !isValidPosition(lines, range.end)) {
      return undefined;
    }
    if (comparePositions(range.start, range.end) > 0) {
      return undefined;
    }
    if (i > 0 && comparePositions(sorted[i - 1].range.end, range.start) > 0) {
      return undefined;
    }
  }
  return sorted;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The edit cut down to what changes (undefined for a no-op); never splits a surrogate pair. */
export function minimizeEdit(lines: readonly string[], eol: string, edit: TextEdit): TextEdit | undefined {
  const oldText = textInRange(lines, eol, edit.range);
  const newText = normalizeEol(edit.newText, eol);
  if (oldText === newText) {
    return undefined;
  }
  const max = Math.min(oldText.length, newText.length);
  let prefix = 0;
  while (prefix < max && oldText.charCodeAt(prefix) === newText.charCodeAt(prefix)) {
    prefix++;
  }
  if (prefix > 0 && isHighSurrogate(oldText.charCodeAt(prefix - 1))) {
    prefix--;
  }
  // Never cut between the two characters of a CRLF.
  if (prefix > 0 && oldText[prefix - 1] === '\r') {
    prefix--;
  }
  let suffix = 0;
  while (
    suffix < max - prefix &&
    oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)
  ) {
    suffix++;
  }
  if (suffix > 0 && isLowSurrogate(oldText.charCodeAt(oldText.length - suffix))) {
    suffix--;
  }
  if (suffix > 0 && oldText[oldText.length - suffix] === '\n' && oldText[oldText.length - suffix - 1] === '\r') {
    suffix--;
  }
  const start = advance(edit.range.start, oldText.slice(0, prefix));
  const end = advance(start, oldText.slice(prefix, oldText.length - suffix));
  return { range: { start, end }, newText: newText.slice(prefix, newText.length - suffix) };
}

/** Minimal pieces of an edit: per line when the old and new text have as many lines. */
export function refineEdit(lines: readonly string[], eol: string, edit: TextEdit): TextEdit[] {
  const minimal = minimizeEdit(lines, eol, edit);
  if (!minimal) {
    return [];
  }
  const oldLines = splitLines(textInRange(lines, eol, minimal.range));
  const newLines = splitLines(minimal.newText);
  if (oldLines.length === 1 || oldLines.length !== newLines.length) {
    return [minimal];
  }
  const pieces: TextEdit[] = [];
  for (let i = 0; i < oldLines.length; i++) {
    const line = minimal.range.start.line + i;
    const startChar = i === 0 ? minimal.range.start.character : 0;
    const range = { start: { line, character: startChar }, end: { line, character: startChar + oldLines[i].length } };
    const piece = minimizeEdit(lines, eol, { range, newText: newLines[i] });
    if (piece) {
      pieces.push(piece);
    }
  }
  return pieces;
}

/** The document text after the (checked, sorted) edits. */
export function applyEdits(lines: readonly string[], eol: string, edits: readonly TextEdit[]): string {
  const text = lines.join(eol);
  let result = '';
  let last = 0;
  for (const edit of edits) {
    const start = offsetAt(lines, eol, edit.range.start);
    result += text.slice(last, start) + normalizeEol(edit.newText, eol);
    last = offsetAt(lines, eol, edit.range.end);
  }
  return result + text.slice(last);
}

/** Where the cursor lands after the edits: the end of the last edit's new text. */
export function cursorAfterEdits(lines: readonly string[], eol: string, edits: readonly TextEdit[]): Position | undefined {
  if (edits.length === 0) {
    return undefined;
  }
  let delta = 0;
  for (let i = 0; i < edits.length - 1; i++) {
    const e = edits[i];
    delta += normalizeEol(e.newText, eol).length - (offsetAt(lines, eol, e.range.end) - offsetAt(lines, eol, e.range.start));
  }
  const lastEdit = edits[edits.length - 1];
  const end = offsetAt(lines, eol, lastEdit.range.start) + delta + normalizeEol(lastEdit.newText, eol).length;
  return positionAt(applyEdits(lines, eol, edits), end);
}

export interface Insertion {
  /** Where the inserted text is drawn (after this position). */
  position: Position;
  /** One line, for an `after` decoration. */
  label: string;
  /** The whole inserted text, for the hover. */
  text: string;
}

export interface Hint {
  line: number;
  text: string;
}

export interface NextEditLayout {
  /** The minimal pieces, in document order. */
  pieces: TextEdit[];
  removed: Range[];
  inserted: Insertion[];
  /** Where Tab moves the cursor when it is not at the edit yet. */
  target: Position;
  /** True when the cursor is on (or next to) a piece: Tab applies. */
  atCursor: boolean;
  /** At the end of the target piece's last line. */
  hint: Hint;
  /** At the end of the cursor's line, for when the target is out of view. */
  cursorHint?: Hint;
}

const MAX_LABEL = 100;

export function insertionLabel(text: string): string {
  const rows = text.split('\n');
  let label = rows.map((row, i) => (i === 0 ? row : `↵ ${row.trim()}`)).join(' ');
  if (label.trim() === '') {
    label = label.replace(/ /g, '·').replace(/\t/g, '→');
  }
  if (label.length > MAX_LABEL) {
    label = label.slice(0, MAX_LABEL - 1) + '…';
  }
  return label;
}

function insertionOf(lines: readonly string[], piece: TextEdit): Insertion | undefined {
  let text = piece.newText.replace(/\r\n?/g, '\n');
  if (!text) {
    return undefined;
  }
  let position = piece.range.end;
  // Whole lines inserted before line L read better after the end of line L-1.
  if (isEmptyRange(piece.range) && position.character === 0 && position.line > 0 && text.endsWith('\n')) {
    position = { line: position.line - 1, character: lines[position.line - 1].length };
    text = '\n' + text.slice(0, -1);
  }
  return { position, label: insertionLabel(text), text: piece.newText };
}

function lineDistance(piece: TextEdit, line: number): number {
  if (line < piece.range.start.line) {
    return piece.range.start.line - line;
  }
  if (line > piece.range.end.line) {
    return line - piece.range.end.line;
  }
  return 0;
}

/**
 * The layout of a suggestion, or undefined when the edits are invalid or change nothing.
 * `lines` are the document's lines at the version the edits were computed for.
 */
export function layoutNextEdit(
  lines: readonly string[],
  eol: string,
  edits: readonly TextEdit[],
  cursor: Position,
): NextEditLayout | undefined {
  const checked = checkEdits(lines, edits);
  if (!checked) {
    return undefined;
  }
  const pieces = checked.flatMap((edit) => refineEdit(lines, eol, edit));
  if (pieces.length === 0) {
    return undefined;
  }
  const removed = pieces.filter((p) => !isEmptyRange(p.range)).map((p) => p.range);
  const inserted = pieces.map((p) => insertionOf(lines, p)).filter((i): i is Insertion => i !== undefined);

  let nearest = pieces[0];
  for (const piece of pieces) {
    const d = lineDistance(piece, cursor.line);
    const best = lineDistance(nearest, cursor.line);
    if (d < best || (d === best && comparePositions(piece.range.start, cursor) >= 0 && comparePositions(nearest.range.start, cursor) < 0)) {
      nearest = piece;
    }
  }
  const atCursor = lineDistance(nearest, cursor.line) <= 1;
  const hintLine = nearest.range.end.line;
  const hint: Hint = atCursor
    ? { line: hintLine, text: 'Tab to accept · Esc to dismiss' }
    : { line: hintLine, text: 'Tab to jump here' };
  let cursorHint: Hint | undefined;
  if (!atCursor) {
    const arrow = nearest.range.start.line > cursor.line ? '↓' : '↑';
    cursorHint = { line: cursor.line, text: `Tab: next edit at line ${nearest.range.start.line + 1} ${arrow}` };
  }
  return { pieces, removed, inserted, target: nearest.range.start, atCursor, hint, cursorHint };
}
