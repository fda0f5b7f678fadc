/**
 * Code actions come from the server through vscode-languageclient (`textDocument/codeAction`,
 * then `codeAction/resolve` when one is picked; edits that need confirmation open VS Code's
 * refactor preview). Two client-side steps: an action whose `data.needsInstruction` is true
 * ("Refactor with sparkforge…") first asks what to do, and sends it as `data.instruction`;
 * Explain (the server command `sparkforge.runAction` with `data.kind = "explain"`, which other
 * editors run on the server) opens the chat panel here instead, through `sparkforge.explain`.
 */

import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { Command, type CodeActionData, type ExplainArgs } from './protocol';

export const codeActionMiddleware: Middleware = {
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
    return next(item, token);
  },
};
