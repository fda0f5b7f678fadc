import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, renderInline, renderMarkdown } from '../src/lib/markdown';

test('HTML in the text is escaped, never rendered', () => {
  const html = renderMarkdown('<script>alert(1)</script> and <img src=x onerror="alert(2)">');
  assert.ok(!html.includes('<script'));
  assert.ok(!html.includes('<img'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('onerror=&quot;alert(2)&quot;'));
});

test('a fenced code block is escaped and gets Copy and Apply buttons', () => {
  const html = renderMarkdown('Here:\n\n```python\nif a < b and "x":\n    print(\'<b>\')\n```\nDone.');
  assert.match(html, /<div class="code-block">/);
  assert.match(html, /<code class="language-python">if a &lt; b and &quot;x&quot;:\n    print\(&#39;&lt;b&gt;&#39;\)<\/code>/);
  assert.match(html, /data-action="copy"/);
  assert.match(html, /data-action="apply"/);
  assert.match(html, /<p>Done\.<\/p>$/);
});

test('an unterminated fence (still streaming) renders as an open code block', () => {
  const html = renderMarkdown('```ts\nconst x = 1;\nconst y');
  assert.match(html, /<div class="code-block streaming">/);
  assert.match(html, /const x = 1;\nconst y<\/code>/);
});

test('markdown inside code is literal', () => {
  const html = renderMarkdown('```\n**not bold** # not a heading\n```');
  assert.ok(html.includes('**not bold** # not a heading'));
  assert.ok(!html.includes('<strong>'));
  assert.equal(renderInline('use `a **b** <c>` here'), 'use <code>a **b** &lt;c&gt;</code> here');
});

test('a tilde fence and a longer backtick fence close only on their own marker', () => {
  const html = renderMarkdown('````md\n```js\nx\n```\n````');
  assert.ok(html.includes('```js\nx\n```'));
  assert.equal((html.match(/class="code-block"/g) ?? []).length, 1);
  assert.match(renderMarkdown('~~~\na\n~~~'), /<code>a<\/code>/);
});

test('emphasis, headings, lists, quotes and rules', () => {
  assert.equal(renderInline('**bold** and *it* and _it2_ and snake_case_name'), '<strong>bold</strong> and <em>it</em> and <em>it2</em> and snake_case_name');
  assert.equal(renderMarkdown('## Title'), '<h2>Title</h2>');
  assert.equal(renderMarkdown('- a\n- b'), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(renderMarkdown('1. one\n2. two'), '<ol><li>one</li><li>two</li></ol>');
  assert.equal(renderMarkdown('> quoted'), '<blockquote><p>quoted</p></blockquote>');
  assert.equal(renderMarkdown('---'), '<hr>');
  assert.equal(renderMarkdown('a\nb\n\nc'), '<p>a<br>b</p>\n<p>c</p>');
  assert.equal(renderInline('2 * 3 * 4'), '2 * 3 * 4');
});

test('links are kept only for http(s) URLs', () => {
  assert.equal(renderInline('[docs](https://example.com/a?b=1&c=2)'), '<a href="https://example.com/a?b=1&amp;c=2">docs</a>');
  assert.equal(renderInline('[click](javascript:void0)'), 'click');
  assert.equal(renderInline('[click](javascript:alert(1))'), 'click)');
  assert.equal(renderInline('[x](https://e.com/"onmouseover="a)'), '<a href="https://e.com/&quot;onmouseover=&quot;a">x</a>');
});

test('escapeHtml covers the five characters', () => {
  assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
});

test('CRLF text renders like LF text', () => {
  assert.equal(renderMarkdown('a\r\nb\r\n\r\n```\r\nx\r\n```'), renderMarkdown('a\nb\n\n```\nx\n```'));
});
