/**
 * Markdown to safe HTML for chat answers, run inside the chat webview (bundled into
 * dist/chat.js): markdown-it for the Markdown, highlight.js core with a few languages for code.
 *
 * Raw HTML in an answer is never rendered: markdown-it runs with `html: false`, so tags come
 * out escaped. Links are kept for http(s) only, and images are off (the webview's CSP would
 * block them anyway). Each fenced block gets Copy and Apply buttons; a fence that is still
 * open while the answer streams has no Apply.
 *
 * Streaming: `settledLength` finds where the finished blocks of a growing text end, so the
 * webview renders those once and appends them, and re-renders only the tail.
 */

import MarkdownIt from 'markdown-it';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const LANGUAGES = { bash, cpp, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) {
  hljs.registerLanguage(name, language);
}
hljs.registerAliases(['sh', 'shell', 'zsh', 'console'], { languageName: 'bash' });
hljs.registerAliases(['py', 'python3'], { languageName: 'python' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['js', 'jsx', 'mjs', 'cjs'], { languageName: 'javascript' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['patch', 'udiff'], { languageName: 'diff' });

/** Longer code is shown plain: highlighting is regex work the webview need not pay for. */
const HIGHLIGHT_MAX_CHARS = 20_000;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

interface RenderEnv {
  /** The source's lines, to tell a closed fence from one still streaming. */
  lines: string[];
}

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });
md.disable('image');
md.validateLink = (url: string) => /^https?:\/\//i.test(url.trim());
// Table alignment comes out as a style attribute, which the webview's CSP refuses (and logs);
// a link whose URL failed validateLink keeps an empty href: drop the link, keep its text.
md.core.ruler.push('sparkforge_safe_attrs', (state) => {
  for (const token of state.tokens) {
    if (token.attrs) {
      token.attrs = token.attrs.filter(([name]) => name !== 'style');
    }
    let dropping = false;
    for (const child of token.children ?? []) {
      if (child.type === 'link_open' && !/^https?:\/\//i.test(child.attrGet('href') ?? '')) {
        dropping = true;
        child.type = child.tag = '';
        child.hidden = true;
      } else if (child.type === 'link_close' && dropping) {
        dropping = false;
        child.hidden = true;
      }
    }
  }
});

md.renderer.rules.fence = (tokens, idx, _options, env: RenderEnv) => {
  const token = tokens[idx];
  const language = token.info.trim().split(/\s+/, 1)[0] ?? '';
  const closed = fenceIsClosed(token.markup, token.map, env.lines);
  return codeBlock(token.content, language, closed);
};

function fenceIsClosed(markup: string, map: [number, number] | null, lines: string[]): boolean {
  if (!map || map[1] - map[0] < 2) {
    return false;
  }
  const last = (lines[map[1] - 1] ?? '').trim();
  return last.length >= markup.length && last === markup[0].repeat(last.length);
}

export function highlight(code: string, language: string): string {
  const name = language.toLowerCase();
  if (code.length > HIGHLIGHT_MAX_CHARS || !hljs.getLanguage(name)) {
    return escapeHtml(code);
  }
  try {
    return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}

function codeBlock(code: string, language: string, closed: boolean): string {
  const lang = escapeHtml(language);
  const codeClass = lang ? ` class="hljs language-${lang}"` : ' class="hljs"';
  return (
    `<div class="code-block${closed ? '' : ' streaming'}">` +
    `<div class="code-toolbar"><span class="code-lang">${lang}</span>` +
    '<button type="button" class="code-button" data-action="copy" title="Copy to the clipboard">Copy</button>' +
    '<button type="button" class="code-button" data-action="apply" title="Merge into the file and preview the change">Apply</button>' +
    '</div>' +
    `<pre><code${codeClass}>${highlight(code.replace(/\n$/, ''), language)}</code></pre>` +
    '</div>'
  );
}

/** Safe HTML for a piece of an answer. */
export function renderMarkdown(source: string): string {
  const text = source.replace(/\r\n?/g, '\n');
  return md.render(text, { lines: text.split('\n') } satisfies RenderEnv);
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;

/**
 * How much of `text`, from `from` (itself a settled offset, or 0), is made of finished
 * blocks: the offset just after the last blank line that is outside a code fence and is
 * followed by a line that starts a new top-level block (no indentation, so not a list item's
 * continuation or an indented code block). Text up to there renders the same whatever
 * arrives later. One pass over the lines, no backtracking.
 */
export function settledLength(text: string, from = 0): number {
  let settled = from;
  let fence: string | undefined;
  let blankAt = -1; // offset just after the last blank line outside a fence
  let offset = from;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    if (end < 0) {
      // The last line is still being written, but its first character already tells a new block.
      if (fence === undefined && blankAt >= 0 && /^\S/.test(text.slice(offset, offset + 1))) {
        settled = blankAt;
      }
      break;
    }
    const line = text.slice(offset, end).replace(/\r$/, '');
    if (fence !== undefined) {
      const trimmed = line.trim();
      if (trimmed.length >= fence.length && trimmed === fence[0].repeat(trimmed.length) && /^ {0,3}\S/.test(line)) {
        fence = undefined;
      }
    } else if (line.trim() === '') {
      blankAt = end + 1;
    } else {
      if (blankAt >= 0 && !/^\s/.test(line)) {
        settled = blankAt;
      }
      blankAt = -1;
      const open = FENCE_OPEN.exec(line);
      if (open && !(open[1][0] === '`' && line.slice(open.index + open[1].length).includes('`'))) {
        fence = open[1];
      }
    }
    offset = end + 1;
  }
  return settled;
}
