import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostOf, keyHostDecision } from '../src/lib/keyHost';

test('a key goes without asking only to the host it was stored for', () => {
  assert.equal(keyHostDecision('api.openai.com', 'https://api.openai.com/v1'), 'send');
  assert.equal(keyHostDecision(undefined, 'https://api.openai.com/v1'), 'send'); // stored before hosts were kept
  assert.equal(keyHostDecision('api.openai.com', 'https://evil.example/v1'), 'ask');
  assert.equal(keyHostDecision('api.openai.com', 'https://api.openai.com.evil.example/v1'), 'ask');
  assert.equal(keyHostDecision('litellm.internal:4000', 'http://LiteLLM.internal:4000/v1'), 'send');
  assert.equal(keyHostDecision('litellm.internal:4000', 'http://litellm.internal:4001/v1'), 'ask');
  assert.equal(keyHostDecision('api.openai.com', 'not a url'), 'ask');
});

test('hostOf keeps a non-default port and drops the default one', () => {
  assert.equal(hostOf('https://api.openai.com:443/v1'), 'api.openai.com');
  assert.equal(hostOf('http://127.0.0.1:11434/v1'), '127.0.0.1:11434');
  assert.equal(hostOf(undefined), undefined);
});
