--[[
driver.lua: one scenario of tests/nvim/test_neovim.py, played by a real headless Neovim.

Shows what a Neovim user gets from `sparkforge lsp`: Neovim's own LSP client starts the
server, negotiates the position encoding, opens a file, and each step goes through
Neovim's own machinery where it has one (vim.lsp.buf.code_action with `apply` and a title
filter, codeAction/resolve, vim.lsp.util.apply_text_edits / apply_workspace_edit with the
client's offset_encoding, window/showDocument). Everything observed is written as JSON for
pytest to check against text written by hand.

Run:  nvim --headless --clean -l driver.lua
  SPARKFORGE_NVIM_PLAN    the plan (JSON, written by tests/nvim/conftest.py):
      { server_cmd, root, file, filetype, settings (initializationOptions),
        encodings (nil: Neovim's default capabilities, else general.positionEncodings),
        timeout_ms (for each wait), steps = [ {op=..., name=..., ...}, ... ] }
  SPARKFORGE_NVIM_RESULT  where the result goes (JSON):
      { offset_encoding, server_encoding, steps = [...], messages = [...],
        show_documents = [...], progress = [...], requests = [...], buffers = [...],
        files = {rel = text}, cache_files = {path = text}, attached, errors = [...] }

Steps (lines count from 0; `col` is "end" or a number of characters from the line start):
  inline        {line, col}  cursor there; textDocument/inlineCompletion (Invoked) with
                             make_position_params(0, offset_encoding); the first item's
                             insertText is applied at its range with apply_text_edits.
  actions       {line, col}  vim.lsp.buf.code_action(); the menu offered (vim.ui.select).
  apply         {line, col, title, wait_for?}  vim.lsp.buf.code_action({apply = true,
                             filter = title prefix}); waits until every request is answered
                             (and wait_for: "show_document" has come, or an error was shown).
  write_all     {}           :wall

Synchronisation is always vim.wait(timeout, condition), never a bare sleep.
--]]

local started = vim.uv.hrtime()
local function elapsed_ms()
  return math.floor((vim.uv.hrtime() - started) / 1e6)
end

local plan_path = assert(os.getenv('SPARKFORGE_NVIM_PLAN'), 'SPARKFORGE_NVIM_PLAN is not set')
local result_path = assert(os.getenv('SPARKFORGE_NVIM_RESULT'), 'SPARKFORGE_NVIM_RESULT is not set')

local function read_file(path)
  local f = io.open(path, 'rb')
  if not f then
    return nil
  end
  local data = f:read('*a')
  f:close()
  return data
end

local plan_text = assert(read_file(plan_path), 'cannot read the plan')
local plan = vim.json.decode(plan_text, { luanil = { object = true, array = true } })
local TIMEOUT = plan.timeout_ms or 20000

-- Everything observed; written to SPARKFORGE_NVIM_RESULT at the end, whatever happened.
local out = {
  steps = {},
  messages = {}, -- {source = notify|showMessage|logMessage|print, level, text}
  show_documents = {}, -- window/showDocument params, with Neovim's answer and the buffer shown
  progress = {}, -- $/progress begin titles and end messages
  requests = {}, -- client -> server requests: {method, done, error?}
  errors = {}, -- the driver's own problems: timeouts, Lua errors
  timing_ms = {}, -- when each phase ended, from the driver's start
}

local function note_error(msg)
  table.insert(out.errors, msg)
end

-- Messages -------------------------------------------------------------------------------
local function record_message(source, level, text)
  table.insert(out.messages, { source = source, level = level, text = tostring(text) })
end

vim.notify = function(msg, level, _)
  record_message('notify', level or vim.log.levels.INFO, msg)
end

_G.print = function(...)
  local parts = {}
  for i = 1, select('#', ...) do
    parts[#parts + 1] = tostring(select(i, ...))
  end
  record_message('print', nil, table.concat(parts, ''))
end

local function wait_for(what, condition, timeout)
  local ok = vim.wait(timeout or TIMEOUT, condition, 10)
  if not ok then
    note_error('timed out waiting for ' .. what)
  end
  return ok
end

-- Handlers that record, then do what Neovim does by default.
local handlers = {
  ['window/showMessage'] = function(err, params, ctx, config)
    record_message('showMessage', params.type, params.message)
    return vim.lsp.handlers['window/showMessage'](err, params, ctx, config)
  end,
  ['window/logMessage'] = function(err, params, ctx, config)
    record_message('logMessage', params.type, params.message)
    return vim.lsp.handlers['window/logMessage'](err, params, ctx, config)
  end,
  ['window/showDocument'] = function(err, params, ctx, config)
    local seen = { params = params }
    table.insert(out.show_documents, seen)
    local answer = vim.lsp.handlers['window/showDocument'](err, params, ctx, config)
    seen.answer = answer
    seen.shown_buffer = vim.api.nvim_buf_get_name(0)
    return answer
  end,
  ['$/progress'] = function(err, params, ctx, config)
    local value = params and params.value or {}
    if value.kind == 'begin' then
      table.insert(out.progress, { kind = 'begin', title = value.title })
    elseif value.kind == 'end' then
      table.insert(out.progress, { kind = 'end', message = value.message })
    end
    return vim.lsp.handlers['$/progress'](err, params, ctx, config)
  end,
}

-- Start -----------------------------------------------------------------------------------
-- No remote-plugin providers: Python's ftplugin would otherwise probe for a Python host
-- (pynvim) when the file opens, which takes seconds and has nothing to do with LSP.
for _, provider in ipairs({ 'python3', 'ruby', 'node', 'perl' }) do
  vim.g['loaded_' .. provider .. '_provider'] = 0
end
vim.o.virtualedit = 'onemore' -- so the cursor can sit after a line's last character
vim.o.swapfile = false
vim.lsp.log.set_level(vim.log.levels.WARN)

vim.cmd.edit(vim.fn.fnameescape(plan.file))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = plan.filetype

local capabilities = nil -- nil: Neovim's defaults (positionEncodings utf-8, utf-16, utf-32)
if plan.encodings ~= nil then
  capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.general.positionEncodings = plan.encodings
end

local client_id = vim.lsp.start({
  name = 'sparkforge',
  cmd = plan.server_cmd,
  root_dir = plan.root,
  init_options = plan.settings,
  capabilities = capabilities,
  handlers = handlers,
}, { bufnr = buf })

local client = client_id and vim.lsp.get_client_by_id(client_id)

-- Count client -> server requests in flight: a step is over when every request it caused
-- (codeAction, then codeAction/resolve, then workspace/executeCommand...) has its answer
-- handled. A handler that sends the next request does so before its own is counted done.
local inflight = 0
local function track_requests(c)
  local class_request = c.request
  c.request = function(self, method, params, handler, bufnr)
    handler = handler or self.handlers[method] or vim.lsp.handlers[method]
    local entry = { method = method, done = false }
    table.insert(out.requests, entry)
    inflight = inflight + 1
    local function on_answer(err, result, ctx, config)
      if err then
        entry.error = { code = err.code, message = err.message }
      end
      local ok, problem = pcall(handler, err, result, ctx, config)
      if not ok then
        note_error(method .. ' handler failed: ' .. tostring(problem))
      end
      entry.done = true
      inflight = inflight - 1
    end
    local sent, id = class_request(self, method, params, on_answer, bufnr)
    if not sent then
      entry.done = true
      entry.error = { message = 'not sent' }
      inflight = inflight - 1
    end
    return sent, id
  end
end

local function idle()
  return inflight == 0
end

local function alarming_since(first)
  for i = first, #out.messages do
    local m = out.messages[i]
    if m.source == 'notify' and (m.level or 0) >= vim.log.levels.WARN then
      return true
    end
    if m.source == 'showMessage' and m.level ~= nil and m.level <= 2 then -- Error, Warning
      return true
    end
  end
  return false
end

-- Snapshots -------------------------------------------------------------------------------
local function buffer_text(b)
  return table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n') .. '\n'
end

local function main_lines()
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function move_cursor(step)
  local lines = main_lines()
  local text = lines[step.line + 1] or ''
  local col
  if step.col == nil or step.col == 'end' then
    col = #text
  else
    col = vim.fn.byteidx(text, step.col)
  end
  vim.api.nvim_set_current_buf(buf)
  vim.api.nvim_win_set_cursor(0, { step.line + 1, col })
  return { vim.api.nvim_win_get_cursor(0)[1] - 1, vim.api.nvim_win_get_cursor(0)[2] }
end

local function files_under(root, depth)
  local found = vim.empty_dict() -- {} is a JSON object even when no file is found
  if vim.fn.isdirectory(root) == 0 then
    return found
  end
  for name, kind in vim.fs.dir(root, { depth = depth }) do
    if kind == 'file' then
      found[name] = read_file(root .. '/' .. name)
    end
  end
  return found
end

-- Steps -----------------------------------------------------------------------------------
local ops = {}

function ops.inline(step, rec)
  rec.cursor = move_cursor(step)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 1 } -- Invoked: no debounce
  rec.position = params.position
  local answer
  client:request('textDocument/inlineCompletion', params, function(err, result)
    answer = { err = err, result = result }
  end, buf)
  if not wait_for('the inlineCompletion answer', function()
    return answer ~= nil
  end) then
    return
  end
  if answer.err then
    rec.error = { code = answer.err.code, message = answer.err.message }
    return
  end
  local items = answer.result
  if type(items) == 'table' and items.items then
    items = items.items
  end
  local item = type(items) == 'table' and items[1] or nil
  if not item then
    rec.item = vim.NIL
    return
  end
  rec.item = { insertText = item.insertText, range = item.range, command = item.command }
  vim.lsp.util.apply_text_edits(
    { { range = item.range, newText = item.insertText } },
    buf,
    client.offset_encoding
  )
  rec.line_after = main_lines()[step.line + 1]
end

function ops.actions(step, rec)
  rec.cursor = move_cursor(step)
  local first_message = #out.messages + 1
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = {}
    for _, item in ipairs(items) do
      local a = item.action
      table.insert(offered, {
        title = opts.format_item and opts.format_item(item) or a.title,
        kind = a.kind,
        command = type(a.command) == 'table' and a.command.command or a.command,
      })
    end
    on_choice(nil) -- look only
  end
  vim.lsp.buf.code_action()
  -- Neovim calls vim.ui.select from the codeAction handler, before the answer counts as done.
  wait_for('the code action menu', idle)
  rec.offered = offered or vim.NIL
  rec.messages = vim.list_slice(out.messages, first_message)
end

function ops.apply(step, rec)
  rec.cursor = move_cursor(step)
  local first_message = #out.messages + 1
  local first_document = #out.show_documents + 1
  local first_request = #out.requests + 1
  vim.ui.select = function(items, _, on_choice)
    rec.ambiguous = vim.tbl_map(function(i)
      return i.action.title
    end, items)
    on_choice(nil)
  end
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return vim.startswith(action.title, step.title)
    end,
  })
  wait_for('every request of the action to be answered', idle)
  if step.wait_for == 'show_document' then
    wait_for('window/showDocument', function()
      return #out.show_documents >= first_document or alarming_since(first_message)
    end)
  end
  rec.lines = main_lines()
  rec.requests = vim.list_slice(out.requests, first_request)
  rec.messages = vim.list_slice(out.messages, first_message)
end

function ops.write_all(_, _)
  vim.cmd('silent! wall')
end

-- Run --------------------------------------------------------------------------------------
local function run()
  if not client then
    note_error('vim.lsp.start did not start a client')
    return
  end
  track_requests(client)
  wait_for('the server to initialize and attach', function()
    return client:is_stopped() or (client.initialized and vim.lsp.buf_is_attached(buf, client.id))
  end)
  if client:is_stopped() or not client.initialized then
    note_error('the server did not start (see lsp.log)')
    return
  end
  out.timing_ms.initialized = elapsed_ms()
  out.offset_encoding = client.offset_encoding
  out.server_encoding = client.server_capabilities.positionEncoding or vim.NIL
  for _, step in ipairs(plan.steps) do
    local rec = { name = step.name or step.op, op = step.op }
    table.insert(out.steps, rec)
    local ok, problem = xpcall(ops[step.op], debug.traceback, step, rec)
    if not ok then
      note_error(('step %s failed: %s'):format(rec.name, problem))
    end
    out.timing_ms[rec.name] = elapsed_ms()
  end
end

local ok, problem = xpcall(run, debug.traceback)
if not ok then
  note_error('driver failed: ' .. tostring(problem))
end

-- Final state: buffers, files, whether the client is still there.
out.attached = client ~= nil
  and not client:is_stopped()
  and vim.lsp.buf_is_attached(buf, client.id)
out.buffers = {}
for _, b in ipairs(vim.api.nvim_list_bufs()) do
  local name = vim.api.nvim_buf_get_name(b)
  if name ~= '' and vim.api.nvim_buf_is_loaded(b) then
    table.insert(out.buffers, {
      name = name,
      text = buffer_text(b),
      modified = vim.bo[b].modified,
      displayed = vim.fn.bufwinid(b) ~= -1,
      filetype = vim.bo[b].filetype,
    })
  end
end
out.files = files_under(plan.root, 4)
local cache = os.getenv('XDG_CACHE_HOME')
out.cache_files = vim.empty_dict()
if cache then
  for rel, text in pairs(files_under(cache .. '/sparkforge', 6)) do
    out.cache_files[cache .. '/sparkforge/' .. rel] = text
  end
end

-- Stop the server the way Neovim does (shutdown, exit), so no process outlives the test.
if client and not client:is_stopped() then
  client:stop()
  if not vim.wait(5000, function()
    return client:is_stopped()
  end, 10) then
    client:stop(true)
  end
end
out.timing_ms.stopped = elapsed_ms()

local f = assert(io.open(result_path, 'w'))
f:write(vim.json.encode(out))
f:close()
vim.cmd('qa!')
