/**
 * A stored API key belongs to the host it was stored for. Before the key is given to the
 * server for a role whose base URL now points elsewhere (a changed setting, a proxy, a typo, a
 * machine setting someone else wrote), the user confirms: a key is never sent to a new host
 * silently.
 */

/** OpenAI's API: where a key stored before hosts were recorded was meant to go. */
export const DEFAULT_KEY_HOST = 'api.openai.com';

/** The host (lower case, with a non-default port) of a base URL; undefined if unparsable. */
export function hostOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) {
    return undefined;
  }
  try {
    const url = new URL(baseUrl);
    return url.host.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** `send` when the key was stored for this host; `ask` otherwise (or when the URL is bad). */
export function keyHostDecision(storedHost: string | undefined, baseUrl: string | undefined): 'send' | 'ask' {
  const host = hostOf(baseUrl);
  return host !== undefined && host === (storedHost ?? DEFAULT_KEY_HOST) ? 'send' : 'ask';
}
