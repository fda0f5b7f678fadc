// The sparkforge chat webview. It draws what the extension sends and reports what the user
// does; messages are {type, id, data} (see src/chat/messages.ts). Message HTML comes from the
// extension's escaping Markdown renderer; the page's CSP allows no other script.
// @ts-check
(function () {
  // @ts-ignore: provided by VS Code inside webviews
  const vscode = acquireVsCodeApi();

  const transcript = /** @type {HTMLElement} */ (document.getElementById('transcript'));
  const empty = /** @type {HTMLElement} */ (document.getElementById('empty'));
  const notice = /** @type {HTMLElement} */ (document.getElementById('notice'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('composer'));
  const input = /** @type {HTMLTextAreaElement} */ (document.getElementById('input'));
  const includeFile = /** @type {HTMLInputElement} */ (document.getElementById('includeFile'));
  const sendButton = /** @type {HTMLButtonElement} */ (document.getElementById('send'));
  const stopButton = /** @type {HTMLButtonElement} */ (document.getElementById('stop'));
  const contextLabel = /** @type {HTMLElement} */ (document.getElementById('context'));
  const roleButtons = /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('button.role'));

  let nextId = 1;
  /** @type {Map<string, (data: any) => void>} */
  const pending = new Map();
  let busy = false;

  /** @param {string} type @param {unknown} [data] */
  function post(type, data) {
    const id = String(nextId++);
    vscode.postMessage({ type, id, data });
    return id;
  }

  /** @param {string} type @param {unknown} data @returns {Promise<{ok: boolean, message?: string}>} */
  function request(type, data) {
    return new Promise((resolve) => pending.set(post(type, data), resolve));
  }

  // The draft and the checkbox survive the view being hidden or reloaded.
  const saved = vscode.getState() || {};
  input.value = typeof saved.draft === 'string' ? saved.draft : '';
  includeFile.checked = saved.includeFile === true;
  function saveState() {
    vscode.setState({ draft: input.value, includeFile: includeFile.checked });
  }
  input.addEventListener('input', saveState);
  includeFile.addEventListener('change', saveState);

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noticeTimer;
  /** @param {string} text @param {boolean} [error] */
  function showNotice(text, error) {
    notice.textContent = text;
    notice.classList.toggle('error', Boolean(error));
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => (notice.hidden = true), 4000);
  }

  function nearBottom() {
    return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  }

  /** @param {boolean} value */
  function setBusy(value) {
    busy = value;
    stopButton.hidden = !value;
    sendButton.disabled = value;
  }

  /** @param {string} role */
  function setRole(role) {
    roleButtons.forEach((b) => {
      const on = b.dataset.role === role;
      b.classList.toggle('selected', on);
      b.setAttribute('aria-checked', String(on));
    });
  }

  /**
   * @param {{id: string, author: string, role?: string, html: string, status: string, note?: string}} turn
   */
  function upsertTurn(turn) {
    const stick = nearBottom();
    let el = /** @type {HTMLElement | null} */ (transcript.querySelector(`[data-turn="${CSS.escape(turn.id)}"]`));
    if (!el) {
      el = document.createElement('section');
      el.dataset.turn = turn.id;
      const head = document.createElement('div');
      head.className = 'turn-head';
      const body = document.createElement('div');
      body.className = 'turn-body';
      const note = document.createElement('div');
      note.className = 'turn-note';
      el.append(head, body, note);
      transcript.append(el);
    }
    el.className = `turn ${turn.author} ${turn.status}`;
    const head = /** @type {HTMLElement} */ (el.querySelector('.turn-head'));
    head.textContent = turn.author === 'user' ? 'You' : `sparkforge · ${turn.role || ''}`;
    const body = /** @type {HTMLElement} */ (el.querySelector('.turn-body'));
    // Safe HTML: produced by the extension's escaping renderer (src/lib/markdown.ts).
    body.innerHTML = turn.html || (turn.status === 'streaming' ? '<p class="thinking">…</p>' : '');
    const note = /** @type {HTMLElement} */ (el.querySelector('.turn-note'));
    note.textContent = turn.note || '';
    note.hidden = !turn.note;
    empty.hidden = true;
    if (stick) {
      transcript.scrollTop = transcript.scrollHeight;
    }
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message.type !== 'string') {
      return;
    }
    const data = message.data || {};
    switch (message.type) {
      case 'state':
        transcript.replaceChildren();
        (data.turns || []).forEach(upsertTurn);
        empty.hidden = (data.turns || []).length > 0;
        setRole(data.role);
        setBusy(Boolean(data.busy));
        break;
      case 'turn':
        upsertTurn(data);
        break;
      case 'busy':
        setBusy(Boolean(data.busy));
        break;
      case 'role':
        setRole(data.role);
        break;
      case 'context':
        contextLabel.textContent = data.label || '';
        break;
      case 'reply': {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        if (resolve) {
          resolve(data);
        }
        break;
      }
    }
  });

  function send() {
    const text = input.value.trim();
    if (!text || busy) {
      return;
    }
    request('send', { text, includeFile: includeFile.checked }).then((reply) => {
      if (reply.ok) {
        input.value = '';
        saveState();
      } else if (reply.message) {
        showNotice(reply.message, true);
      }
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  stopButton.addEventListener('click', () => post('stop'));
  roleButtons.forEach((button) =>
    button.addEventListener('click', () => {
      setRole(button.dataset.role || 'deep');
      post('setRole', { role: button.dataset.role });
    }),
  );

  // Copy and Apply buttons of code blocks (drawn by the renderer, so found by delegation).
  transcript.addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLButtonElement | null} */ (target.closest('button[data-action]'));
    if (!button) {
      return;
    }
    const block = button.closest('.code-block');
    const code = block && block.querySelector('code');
    if (!code) {
      return;
    }
    const action = button.dataset.action;
    const label = button.textContent;
    button.disabled = true;
    request(action === 'apply' ? 'apply' : 'copy', { code: code.textContent || '' }).then((reply) => {
      button.disabled = false;
      if (reply.message) {
        button.textContent = reply.ok ? reply.message : label;
        if (!reply.ok) {
          showNotice(reply.message, true);
        }
        setTimeout(() => (button.textContent = label), 1500);
      }
    });
  });

  post('ready');
})();
