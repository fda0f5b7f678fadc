/**
 * When a next edit must give the keyboard back, as VS Code's own inline edits do: Tab on an
 * empty or indentation-only line indents, several cursors never accept, a suggestion the
 * cursor has walked away from goes, and one the user accepted and then undid is not offered
 * again. Pure functions: the controller (src/nextEdit.ts) feeds them the editor's state.
 */

/** How far (in lines) the cursor may wander from the suggestion before it is dismissed. */
export const NEIGHBOURHOOD_LINES = 12;

/** Tab indents instead of jumping: the text before the cursor is only whitespace, and the
 *  suggestion is not right at the cursor (there Tab applies it). */
export function tabShouldIndent(lineBeforeCursor: string, suggestionAtCursor: boolean): boolean {
  return !suggestionAtCursor && /^[ \t]*$/.test(lineBeforeCursor);
}

/** Whether a suggestion may be shown or accepted with this many cursors. */
export function singleCursor(selectionCount: number): boolean {
  return selectionCount <= 1;
}

/** The cursor has left the suggestion's neighbourhood: more than ``radius`` lines from both
 *  where it was asked and every line the suggestion touches. */
export function leftNeighbourhood(
  cursorLine: number,
  askedAtLine: number,
  editLines: ReadonlyArray<{ start: number; end: number }>,
  radius = NEIGHBOURHOOD_LINES,
): boolean {
  const near = (line: number) => Math.abs(cursorLine - line) <= radius;
  if (near(askedAtLine)) {
    return false;
  }
  return !editLines.some((e) => near(e.start) || near(e.end) || (cursorLine >= e.start && cursorLine <= e.end));
}

/** A key for "this suggestion on this text": the same edits offered again for the same text
 *  (after an undo of their acceptance) are recognised. */
export function acceptanceKey(
  uri: string,
  text: string,
  edits: ReadonlyArray<{ range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }>,
): string {
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  }
  const parts = edits.map((e) => `${e.range.start.line}:${e.range.start.character}-${e.range.end.line}:${e.range.end.character}=${e.newText}`);
  return `${uri}\u0000${text.length}:${hash}\u0000${parts.join('\u0000')}`;
}
