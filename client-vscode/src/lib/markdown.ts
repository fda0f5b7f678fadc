/**
 * A small, safe Markdown renderer for chat answers.
 *
 * Every piece of text is HTML-escaped before any markup is added, so a model answer can never
 * inject HTML into the chat webview; links are kept only for http(s) URLs. It renders what
 * answers use: fenced code blocks (each with Copy and Apply buttons), inline code, bold,
 * italics, headings, lists, block quotes, rules and paragraphs. A fence that is still open
 * (the answer is streaming) renders as a code block up to the end.
 */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;

export function renderMarkdown(source: string): string {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | undefined;
  let quote: string[] = [];

  const flushParagraph = () => {
    if (paragraph.length) {
      out.push(`<p>${paragraph.map(renderInline).join('<br>')}</p>`);
      paragraph = [];
    }
  };
  const flushList = () => {
    if (list) {
      out.push(`<${list.tag}>${list.items.map((i) => `<li>${renderInline(i)}</li>`).join('')}</${list.tag}>`);
      list = undefined;
    }
  };
  const flushQuote = () => {
    if (quote.length) {
      out.push(`<blockquote>${renderMarkdown(quote.join('\n'))}</blockquote>`);
      quote = [];
    }
  };
  const flushAll = () => {
    flushParagraph();
    flushList();
    flushQuote();
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flushAll();
      const marker = fence[1];
      const language = fence[2];
      const body: string[] = [];
      let closed = false;
      const close = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
      for (i++; i < lines.length; i++) {
        if (close.test(lines[i])) {
          closed = true;
          break;
        }
        body.push(lines[i]);
      }
      out.push(renderCodeBlock(body.join('\n'), language, closed));
      continue;
    }
    const quoted = QUOTE.exec(line);
    if (quoted) {
      flushParagraph();
      flushList();
      quote.push(quoted[1]);
      continue;
    }
    flushQuote();
    if (line.trim() === '') {
      flushParagraph();
      flushList();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flushAll();
      const level = heading[1].length;
      out.push(`<h${level}>${renderInline(heading[2])}</h${level}>`);
      continue;
    }
    if (RULE.test(line)) {
      flushAll();
      out.push('<hr>');
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      flushParagraph();
      const tag = bullet ? 'ul' : 'ol';
      if (list && list.tag !== tag) {
        flushList();
      }
      list ??= { tag, items: [] };
      list.items.push(bullet ? bullet[2] : ordered![3]);
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      // A continuation line of the last list item.
      list.items[list.items.length - 1] += ' ' + line.trim();
      continue;
    }
    flushList();
    paragraph.push(line);
  }
  flushAll();
  return out.join('\n');
}

function renderCodeBlock(code: string, language: string, closed: boolean): string {
  const lang = escapeHtml(language);
  const label = lang ? `<span class="code-lang">${lang}</span>` : '<span class="code-lang"></span>';
  const codeClass = lang ? ` class="language-${lang}"` : '';
  const state = closed ? '' : ' streaming';
  return (
    `<div class="code-block${state}">` +
    `<div class="code-toolbar">${label}` +
    '<button type="button" class="code-button" data-action="copy" title="Copy to the clipboard">Copy</button>' +
    '<button type="button" class="code-button" data-action="apply" title="Merge into the file and preview the change">Apply</button>' +
    '</div>' +
    `<pre><code${codeClass}>${escapeHtml(code)}</code></pre>` +
    '</div>'
  );
}

/** Inline markup: code spans first (their content is literal), then links and emphasis. */
export function renderInline(text: string): string {
  const parts: string[] = [];
  const codeSpan = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  let last = 0;
  for (let m = codeSpan.exec(text); m; m = codeSpan.exec(text)) {
    parts.push(renderEmphasisAndLinks(text.slice(last, m.index)));
    parts.push(`<code>${escapeHtml(m[2].trim() || m[2])}</code>`);
    last = m.index + m[0].length;
  }
  parts.push(renderEmphasisAndLinks(text.slice(last)));
  return parts.join('');
}

function renderEmphasisAndLinks(text: string): string {
  // Links are cut out before escaping so that their URL can be checked as written.
  const link = /\[([^\]\n]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
  const parts: string[] = [];
  let last = 0;
  for (let m = link.exec(text); m; m = link.exec(text)) {
    parts.push(renderEmphasis(escapeHtml(text.slice(last, m.index))));
    const label = renderEmphasis(escapeHtml(m[1]));
    const url = m[2];
    parts.push(/^https?:\/\//i.test(url) ? `<a href="${escapeHtml(url)}">${label}</a>` : label);
    last = m.index + m[0].length;
  }
  parts.push(renderEmphasis(escapeHtml(text.slice(last))));
  return parts.join('');
}

/** Bold and italics on already-escaped text (the markers are plain ASCII, never escaped). */
function renderEmphasis(html: string): string {
  return html
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*]*?[^\s*])\*(?!\*)/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, '$1<em>$2</em>');
}
