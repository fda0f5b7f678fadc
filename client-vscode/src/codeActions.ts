/**
 * Code actions come from the server through vscode-languageclient (`textDocument/codeAction`,
 * then `codeAction/resolve` when one is picked). Three client-side steps: an action whose
 * `data.needsInstruction` is true ("Refactor with sparkforge…") first asks what to do, and
 * sends it as `data.instruction`; a resolved action's edit is taken out and replaced by the
 * client command `sparkforge.applyAction` (actionApply.ts), which applies it in one click and
 * says what changed, instead of VS Code's refactor preview with every change unticked; Explain
 * (the server command `sparkforge.runAction` with `data.kind = "explain"`, which other editors
 * run on the server) opens the chat panel here instead, through `sparkforge.explain`.
 */

import * as vscode from 'vscode';
import { CodeActionResolveRequest, type CodeAction as LspCodeAction, type LanguageClient, type Middleware } from 'vscode-languageclient/node';
import { APPLY_ACTION, type ApplyActionArgs } from './actionApply';
import { withoutConfirmation } from './lib/actionEdit';
import { Command, type CodeActionData, type ExplainArgs, type LspWorkspaceEdit } from './protocol';

/** `clientOf` gives the running client (the middleware is made before the client is). */
export const codeActionMiddleware = (clientOf: () => LanguageClient | undefined): Middleware => ({
  executeCommand: async (command, args, next) => {
    const data = args?.[0] as { kind?: unknown; uri?: unknown; range?: unknown } | undefined;
    if (command === Command.runAction && data && typeof data === 'object' && data.kind === 'explain') {
      const explain: ExplainArgs = { uri: String(data.uri), range: data.range as ExplainArgs['range'] };
      return vscode.commands.executeCommand(Command.explain, explain);
    }
    return next(command, args);
  },
  resolveCodeAction: async (item, token, next) => {
    const holder = item as vscode.CodeAction & { data?: unknown };
    const data = holder.data as CodeActionData | undefined;
    if (data && typeof data === 'object' && data.needsInstruction && !data.instruction) {
      const instruction = await vscode.window.showInputBox({
        title: item.title,
        prompt: data.prompt ?? 'What should sparkforge do with this code?',
        placeHolder: data.placeholder ?? 'for example: extract the loop into a function named parse_rows',
        ignoreFocusOut: true,
      });
      if (!instruction || !instruction.trim() || token.isCancellationRequested) {
        // Cancelled: the action resolves to nothing, so nothing changes.
        return item;
      }
      holder.data = { ...data, instruction: instruction.trim() };
    }
    const client = clientOf();
    if (!client) {
      return next(item, token);
    }
    // The request is sent here rather than through `next`: the converted vscode.WorkspaceEdit
    // would lose the documents' versions and keep `needsConfirmation`, both needed below.
    let resolved: LspCodeAction;
    try {
      resolved = await client.sendRequest(CodeActionResolveRequest.type, client.code2ProtocolConverter.asCodeActionSync(item), token);
    } catch (error) {
      return client.handleFailedRequest(CodeActionResolveRequest.type, token, error, item);
    }
    if (token.isCancellationRequested || !resolved) {
      return item;
    }
    const { edit, ...rest } = resolved;
    if (!edit) {
      return client.protocol2CodeConverter.asCodeAction(resolved, token);
    }
    const stripped = withoutConfirmation(edit as LspWorkspaceEdit);
    if (rest.command) {
      // An edit and a command: VS Code must run both, in order; only the confirmation goes.
      return client.protocol2CodeConverter.asCodeAction({ ...resolved, edit: stripped as typeof edit }, token);
    }
    const action = await client.protocol2CodeConverter.asCodeAction(rest, token);
    const args: ApplyActionArgs = {
      edit: stripped,
      title: resolved.title,
      data: (resolved.data ?? holder.data) as ApplyActionArgs['data'],
    };
    action.command = { title: resolved.title, command: APPLY_ACTION, arguments: [args] };
    return action;
  },
});
