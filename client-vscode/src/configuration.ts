/**
 * `workspace/configuration` answers go through the same filter as initializationOptions
 * (`serverSettings`, plus `agent.trusted` from workspace trust): the server pulls the
 * `sparkforge` section, and what it pulls must never hold a key or the extension's own
 * settings. `baseUrl`, `apiKeyEnv` and the interpreter are machine-scoped in package.json, so a
 * repository's `.vscode/settings.json` cannot set where code and keys go.
 */

import type { Middleware } from 'vscode-languageclient/node';
import { forServer, SECTION } from './settings';

export const configurationMiddleware: Middleware = {
  workspace: {
    configuration: async (params, token, next) => {
      const answer = await next(params, token);
      if (!Array.isArray(answer)) {
        return answer;
      }
      return answer.map((value, i) => (params.items[i]?.section === SECTION ? forServer(value) : value));
    },
  },
};
