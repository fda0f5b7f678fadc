import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, highlight, renderMarkdown, settledLength } from '../src/lib/chatMarkdown';

const TAGS = new Set(['p', 'br', 'em', 'strong', 's', 'code', 'pre', 'a', 'ul', 'ol', 'li', 'blockquote', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'span', 'button']);
const ATTRIBUTES = new Set(['class', 'href', 'start', 'type', 'title', 'data-action']);

/**
 * Every tag is one the renderer makes, with attributes it makes (text is escaped, so every
 * `<` in the output opens a real tag): no script, no event handler, no inline style (the CSP
 * would refuse it), no link other than http(s).
 */
function assertInert(html: string): void {
  for (const [, name, attrs] of html.matchAll(/<\/?([^\s>/]+)([^>]*)>/g)) {
    assert.ok(TAGS.has(name.toLowerCase()), `unexpected tag <${name}>`);
    for (const [, attr, value] of attrs.matchAll(/\s([^\s=]+)(?:="([^"]*)")?/g)) {
      assert.ok(ATTRIBUTES.has(attr), `unexpected attribute ${attr} on <${name}>`);
      if (attr === 'href') {
        assert.match(value, /^https?:\/\//);
      }
    }
  }
}

test('raw HTML in an answer is escaped, never rendered', () => {
  const html = renderMarkdown('<script>alert(1)</script>\n\nand <img src=x onerror="alert(2)"> inline\n\n<div onclick="x()">block</div>');
  assertInert(html);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;'));
  assert.ok(html.includes('&lt;div onclick=&quot;x()&quot;&gt;block&lt;/div&gt;'));
});

test('links are kept for http(s) only; images are not rendered', () => {
  assert.match(renderMarkdown('[docs](https://example.com/a?b=1&c=2)'), /<a href="https:\/\/example.com\/a\?b=1&amp;c=2">docs<\/a>/);
  for (const bad of ['[x](javascript:alert(1))', '[x](JAVASCRIPT:alert(1))', '[x](data:text/html,<b>)', '[x](vbscript:x)', '[x](file:///etc/passwd)', '[x](command:workbench.action.quit)']) {
    const html = renderMarkdown(bad);
    assertInert(html);
    assert.doesNotMatch(html, /<a /, bad);
  }
  const image = renderMarkdown('![alt](https://example.com/x.png)');
  assertInert(image);
  assert.doesNotMatch(image, /<img/);
});

test('a fenced code block is highlighted, escaped, and gets Copy and Apply', () => {
  const html = renderMarkdown('Here:\n\n```python\nif a < b and "x":\n    print(\'<b>\')\n```\nDone.');
  assertInert(html);
  assert.match(html, /<div class="code-block"><div class="code-toolbar"><span class="code-lang">python<\/span>/);
  assert.match(html, /data-action="copy"/);
  assert.match(html, /data-action="apply"/);
  assert.match(html, /<code class="hljs language-python"><span class="hljs-keyword">if<\/span> a &lt; b/);
  assert.ok(html.includes('&lt;b&gt;'));
  assert.match(html, /<p>Done\.<\/p>/);
});

test('an unknown language is escaped but not highlighted; a hostile language name is escaped', () => {
  const html = renderMarkdown('```cobol"><script>\nMOVE <x> TO Y\n```');
  assertInert(html);
  assert.ok(html.includes('MOVE &lt;x&gt; TO Y'));
  assert.equal(highlight('<a>', 'nope'), '&lt;a&gt;');
});

test('a fence still open (the answer streams) has no Apply until it closes', () => {
  assert.match(renderMarkdown('```ts\nconst x = 1;\nconst y'), /<div class="code-block streaming">/);
  assert.match(renderMarkdown('```ts\nconst x = 1;\n```'), /<div class="code-block">/);
  assert.match(renderMarkdown('````md\n```js\nx\n```\n````'), /<div class="code-block">.*```js/s);
  assert.match(renderMarkdown('````md\n```js\nx\n```'), /code-block streaming/);
});

test('emphasis, headings, lists, quotes, tables; newlines are kept', () => {
  const html = renderMarkdown('## Title\n\n**bold** and *it* and snake_case_name\n\n- a\n- b\n\n1. one\n2. two\n\n> quoted\n\na\nb');
  assert.ok(html.includes('<h2>Title</h2>'));
  assert.ok(html.includes('<strong>bold</strong> and <em>it</em> and snake_case_name'));
  assert.ok(html.includes('<ul>\n<li>a</li>\n<li>b</li>\n</ul>'));
  assert.ok(html.includes('<ol>\n<li>one</li>'));
  assert.ok(html.includes('<blockquote>\n<p>quoted</p>\n</blockquote>'));
  assert.ok(html.includes('<p>a<br>\nb</p>'));
  const table = renderMarkdown('| a | b |\n|:--|--:|\n| 1 | 2 |');
  assert.match(table, /<table>/);
  assertInert(table); // alignment would be an inline style, which the CSP refuses
});

test('CRLF text renders like LF text', () => {
  assert.equal(renderMarkdown('a\r\nb\r\n\r\n```\r\nx\r\n```'), renderMarkdown('a\nb\n\n```\nx\n```'));
});

test('escapeHtml covers the five characters', () => {
  assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
});

// -- streaming: what is settled renders the same whatever comes next -------------------------

test('settledLength ends at a blank line before a new top-level block, never inside a fence', () => {
  const text = 'Para one.\n\nPara two.\n\n```py\nx = 1\n\ny = 2\n';
  assert.equal(settledLength(text), 'Para one.\n\nPara two.\n\n'.length);
  assert.equal(settledLength(text + '```\n\nAfter.'), text.length + '```\n\n'.length);
  assert.equal(settledLength('- item\n\n  continued\n'), 0); // an indented line continues the list item
  assert.equal(settledLength('no newline yet'), 0);
  assert.equal(settledLength('a\n\nb\n\nc', 3), 'a\n\nb\n\n'.length);
});

test('rendering in settled pieces as text streams in gives the same blocks as rendering it whole', () => {
  const answer =
    'Here is the fix:\n\n```python\ndef f(x):\n\n    return x\n```\n\nThen:\n\n1. first\n2. second\n\n> note\n\n## Done\n\nBye.';
  let settled = 0;
  const pieces: string[] = [];
  for (let end = 1; end <= answer.length; end += 7) {
    const next = settledLength(answer.slice(0, end), settled);
    if (next > settled) {
      pieces.push(renderMarkdown(answer.slice(settled, next)));
      settled = next;
    }
  }
  pieces.push(renderMarkdown(answer.slice(settled)));
  assert.equal(pieces.join(''), renderMarkdown(answer));
});

// -- torture: inputs that made the old regex renderer take a minute or throw ----------------
// No timing thresholds: each must finish and give sane, inert output.

const TORTURE: Array<[string, string]> = [
  ['a heading with 6,000 spaces', '#' + ' '.repeat(6000) + 'x' + ' '.repeat(6000) + '#'],
  ['4,000 nested quotes', '>'.repeat(4000) + ' deep'],
  ['4,000 nested quotes with spaces', '> '.repeat(4000) + 'deep'],
  ['20,000 asterisks', '*'.repeat(20_000)],
  ['alternating emphasis markers', '*a_'.repeat(10_000)],
  ['20,000 unclosed brackets', '['.repeat(20_000) + 'x'],
  ['link openers without closers', '[a](' .repeat(5000)],
  ['20,000 backticks', '`'.repeat(20_000)],
  ['backtick runs of growing length', Array.from({ length: 300 }, (_, i) => '`'.repeat(i + 1) + 'x').join(' ')],
  ['5,000 nested list items', Array.from({ length: 5000 }, (_, i) => ' '.repeat(i * 2) + '- item').join('\n')],
  ['a 1 MB line', 'word '.repeat(200_000)],
  ['a 200 KB code line', '```python\n' + 'x = "' + 'a'.repeat(200_000) + '"\n```'],
  ['100,000 lines of code', '```js\n' + 'let a = 1;\n'.repeat(100_000) + '```'],
  ['many angle brackets', '<'.repeat(50_000) + '>'.repeat(50_000)],
  ['HTML comment opener', '<!--'.repeat(10_000)],
  ['emphasis at the limit', '**' + 'a '.repeat(50_000) + '*'],
  ['underscores in words', 'snake_case_'.repeat(20_000)],
  ['a long table', '| a | b |\n|---|---|\n' + '| 1 | 2 |\n'.repeat(20_000)],
  ['spaces then a hash', ' '.repeat(100_000) + '#'],
];

for (const [name, input] of TORTURE) {
  test(`torture: ${name}`, () => {
    const html = renderMarkdown(input);
    assert.equal(typeof html, 'string');
    assert.ok(html.length > 0);
    assertInert(html);
    assert.ok(settledLength(input) <= input.length);
  });
}

test('torture: random Markdown-ish noise renders inert', () => {
  const alphabet = ['*', '_', '`', '[', ']', '(', ')', '<', '>', '#', ' ', '\n', '-', '!', '|', '~', '\\', '&', '"', 'a', '1', '.', 'javascript:', 'http://', 'onerror='];
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 200; round++) {
    let text = '';
    for (let i = 0; i < 2000; i++) {
      text += alphabet[Math.floor(random() * alphabet.length)];
    }
    assertInert(renderMarkdown(text));
    settledLength(text);
  }
});
