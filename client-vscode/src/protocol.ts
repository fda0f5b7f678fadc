/**
 * Every custom sparkforge LSP method, with its params and result, listed once.
 *
 * The server side is documented in docs/protocol.md. Positions are LSP positions
 * (zero-based line, UTF-16 character), the same units VS Code uses. This module imports no
 * `vscode`, so the unit tests can use it.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

export type Role = 'fast' | 'deep';

// -- next edit ------------------------------------------------------------------------------

export interface NextEditParams {
  textDocument: { uri: string; version: number };
  position: Position;
  /** When set, the server may report final hunks early as `$/progress` NextEditPartialResults. */
  partialResultToken?: string;
}

export interface NextEditResult {
  id: string;
  /** The document version the edits were computed for (informative; the client keeps its own). */
  version?: number;
  /** Non-overlapping edits against the document version named in the params. */
  edits: TextEdit[];
  /** Where the cursor goes after the edits are applied, in the edited document. */
  cursor?: Position;
}

/**
 * One `$/progress` value for a nextEdit partialResultToken: hunks that became final, appended
 * to those reported before (the LSP rule for partial results). The final response, when not
 * null, replaces them all; a null response withdraws them.
 */
export interface NextEditPartialResult {
  edits: TextEdit[];
}

// -- feedback -------------------------------------------------------------------------------

export interface FeedbackParams {
  id: string;
}

export interface AcceptParams extends FeedbackParams {
  /** Characters of the suggestion that were accepted, when only a part was. */
  acceptedLength?: number;
}

// -- status ---------------------------------------------------------------------------------

/** A role paused after a 429 or an outage: nothing is sent to its model until it ends. */
export interface RolePause {
  reason: 'rateLimit' | 'unavailable';
  /** "fast model rate-limited, resuming in 4 s", as of the notification. */
  message: string;
  resumesInMs: number;
}

/** The key has no access to the role's model: the fallback that serves instead (null: none). */
export interface RoleAccess {
  model: string | null;
  /** What the server told the user once with window/showMessage; lastError says it too. */
  message: string;
}

export interface RoleStatus {
  model: string;
  api?: string;
  ready: boolean;
  /** Also says so while the role is paused (with the cause). */
  lastError?: string | null;
  paused?: RolePause | null;
  access?: RoleAccess | null;
  lastLatencyMs?: number | null;
  requests?: number;
  inputTokens?: number;
  /** The part of inputTokens the API read from its prompt cache (billed at the cached price). */
  cachedInputTokens?: number;
  outputTokens?: number;
  costUsd?: number | null;
}

export interface Usage {
  inputTokens: number;
  cachedInputTokens?: number;
  outputTokens: number;
  /** null when a model's price is unknown (local models). */
  costUsd?: number | null;
}

export interface SuggestionCounts {
  shown: number;
  accepted: number;
  rejected: number;
  acceptanceRate?: number | null;
}

export interface StatusParams {
  fast?: RoleStatus;
  deep?: RoleStatus;
  usage?: Usage;
  suggestions?: SuggestionCounts;
}

// -- chat -----------------------------------------------------------------------------------

export interface ChatContext {
  uri?: string;
  selection?: Range;
  includeFile?: boolean;
  files?: string[];
}

/** A turn of the conversation so far, for a server that does not know it (it restarted). */
export interface ChatHistoryEntry {
  role: 'user' | 'assistant';
  text: string;
  model?: string;
}

export interface ChatParams {
  conversationId: string;
  /** Client-made id, echoed in every chatDelta of this request. */
  requestId: string;
  role: Role;
  message: string;
  context: ChatContext;
  /** Used by the server only when it does not know the conversation. */
  history?: ChatHistoryEntry[];
}

export interface ChatResult {
  conversationId: string;
  text: string;
  role?: Role;
  /** The model that answered. */
  model?: string;
  usage?: Usage;
}

export interface ChatDeltaParams {
  conversationId: string;
  requestId: string;
  delta: string;
}

export interface ChatApplyParams {
  uri: string;
  code: string;
  version?: number;
  /** Which model merges the code; default fast, deep is the retry after a refusal. */
  role?: Role;
}

export interface ChatApplyResult {
  /** An LSP WorkspaceEdit; kept loose here, converted by the client. */
  edit: LspWorkspaceEdit;
  diff: string;
}

export interface ChatResetParams {
  conversationId: string;
}

export interface LspTextDocumentEdit {
  textDocument: { uri: string; version: number | null };
  edits: Array<TextEdit & { annotationId?: string }>;
}

export interface LspCreateFile {
  kind: 'create';
  uri: string;
  options?: { overwrite?: boolean; ignoreIfExists?: boolean };
  annotationId?: string;
}

export interface LspChangeAnnotation {
  label: string;
  needsConfirmation?: boolean;
  description?: string;
}

export interface LspWorkspaceEdit {
  changes?: { [uri: string]: TextEdit[] };
  documentChanges?: Array<LspTextDocumentEdit | LspCreateFile | { kind: 'rename' | 'delete' }>;
  changeAnnotations?: { [id: string]: LspChangeAnnotation };
}

// -- agent ----------------------------------------------------------------------------------

export type AgentStatus = 'done' | 'stopped' | 'cancelled' | 'failed';
export type AgentStepKind = 'thinking' | 'read' | 'list' | 'search' | 'edit' | 'command' | 'message' | 'budget' | 'error' | 'switch';
export type AgentStepStatus = 'running' | 'done' | 'failed';
export type AgentChangeKind = 'created' | 'updated' | 'deleted';
export type AgentChangeState = 'applied' | 'pending' | 'kept' | 'undone';

export interface AgentContext {
  uri?: string;
  selection?: Range;
  /** Workspace-relative paths the user points at. */
  files?: string[];
}

export interface AgentBudget {
  steps?: number;
  tokens?: number;
  costUsd?: number;
  seconds?: number;
}

export interface AgentParams {
  /** Client-made, so that steps and approvals that arrive before the answer are recognised. */
  taskId?: string;
  conversationId?: string;
  task: string;
  role?: Role;
  context?: AgentContext;
  budget?: AgentBudget;
}

/** One file of a task's change set. */
export interface AgentChange {
  uri: string;
  /** Workspace-relative. */
  path: string;
  kind: AgentChangeKind;
  /** Unified diff of the whole task's change to the file (the original -> the agent's last text). */
  diff: string;
  state: AgentChangeState;
  /** Why the last Keep or Undo left this file as it was (the user changed it meanwhile, ...). */
  problem?: string;
}

export interface AgentResult {
  taskId: string;
  status: AgentStatus;
  summary: string;
  role?: Role;
  model?: string;
  changes: AgentChange[];
  usage?: Usage;
  /** Tool calls made. */
  steps?: number;
}

/** Server -> client: a step of a task; the same index comes again when a running step ends. */
export interface AgentStepParams {
  taskId: string;
  index: number;
  kind: AgentStepKind;
  title: string;
  status: AgentStepStatus;
  detail?: string;
  /** The task's usage so far. */
  usage?: Usage;
}

/** Server -> client request, for a client that declares `experimental.sparkforgeAgentApprovals`. */
export interface AgentApproveParams {
  taskId: string;
  command: string;
  cwd: string;
}

export interface AgentApproveResult {
  approved: boolean;
  /** Run this command line without asking for the rest of the session. */
  always?: boolean;
}

export interface AgentChangesParams {
  taskId: string;
  /** Workspace-relative paths; all of the task's files when absent. */
  paths?: string[];
}

export interface AgentChangesResult {
  changes: AgentChange[];
}

export interface AgentSwitchParams {
  taskId: string;
  role: Role;
}

/** The client capability (under `experimental`) that makes the server ask with agentApprove. */
export const AGENT_APPROVALS_CAPABILITY = 'sparkforgeAgentApprovals';

// -- code actions ---------------------------------------------------------------------------

/** The parts of a code action's `data` the client reads; the rest is the server's. */
export interface CodeActionData {
  needsInstruction?: boolean;
  instruction?: string;
  /** Shown in the instruction input box, when the server offers one. */
  prompt?: string;
  placeholder?: string;
}

/** Arguments of the client-side command `sparkforge.explain` (the chat panel's Explain). */
export interface ExplainArgs {
  uri: string;
  range: Range;
}

// -- the method table -----------------------------------------------------------------------

export const Method = {
  nextEdit: 'sparkforge/nextEdit',
  didShow: 'sparkforge/didShow',
  didAccept: 'sparkforge/didAccept',
  didReject: 'sparkforge/didReject',
  status: 'sparkforge/status',
  getStatus: 'sparkforge/getStatus',
  chat: 'sparkforge/chat',
  chatDelta: 'sparkforge/chatDelta',
  chatApply: 'sparkforge/chatApply',
  chatReset: 'sparkforge/chatReset',
  agent: 'sparkforge/agent',
  agentStep: 'sparkforge/agentStep',
  agentApprove: 'sparkforge/agentApprove',
  agentKeep: 'sparkforge/agentKeep',
  agentUndo: 'sparkforge/agentUndo',
  agentSwitch: 'sparkforge/agentSwitch',
} as const;

/** Client -> server requests: method -> [params, result]. */
export interface Requests {
  [Method.nextEdit]: [NextEditParams, NextEditResult | null];
  [Method.getStatus]: [Record<string, never>, StatusParams];
  [Method.chat]: [ChatParams, ChatResult];
  [Method.chatApply]: [ChatApplyParams, ChatApplyResult];
  [Method.agent]: [AgentParams, AgentResult];
  [Method.agentKeep]: [AgentChangesParams, AgentChangesResult];
  [Method.agentUndo]: [AgentChangesParams, AgentChangesResult];
}

/** Server -> client requests: method -> [params, result]. */
export interface ServerRequests {
  [Method.agentApprove]: [AgentApproveParams, AgentApproveResult];
}

/** Notifications, both directions: method -> params. */
export interface Notifications {
  [Method.didShow]: FeedbackParams;
  [Method.didAccept]: AcceptParams;
  [Method.didReject]: FeedbackParams;
  [Method.chatReset]: ChatResetParams;
  [Method.status]: StatusParams; // server -> client
  [Method.chatDelta]: ChatDeltaParams; // server -> client
  [Method.agentSwitch]: AgentSwitchParams;
  [Method.agentStep]: AgentStepParams; // server -> client
}

/** VS Code commands named in the protocol. */
export const Command = {
  /** Carried by inline completion items; args `[id]` or `[{id, acceptedLength?}]`. A server
   *  command (the server lists it in executeCommandProvider, so the language client forwards
   *  it); the extension registers it itself only for a server that does not. */
  acceptSuggestion: 'sparkforge.acceptSuggestion',
  /** The chat panel's Explain; args `[{uri, range}]`. Client-side: the Explain code action's
   *  `sparkforge.runAction` with `data.kind = "explain"` is routed here by the middleware. */
  explain: 'sparkforge.explain',
  /** Server-side command (workspace/executeCommand), registered by the language client; it
   *  also carries the Explain code action (`[data]`, `data.kind = "explain"`). */
  runAction: 'sparkforge.runAction',
} as const;

/** The feedback id in a `sparkforge.acceptSuggestion` command's arguments, in either shape. */
export function feedbackOf(args: readonly unknown[] | undefined): AcceptParams | undefined {
  const first = args?.[0];
  if (typeof first === 'string' && first) {
    return { id: first };
  }
  if (first && typeof first === 'object' && typeof (first as { id?: unknown }).id === 'string') {
    const { id, acceptedLength } = first as { id: string; acceptedLength?: unknown };
    return typeof acceptedLength === 'number' ? { id, acceptedLength } : { id };
  }
  return undefined;
}
