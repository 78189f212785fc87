import { parentPort, workerData } from 'node:worker_threads';
import { encodeBatch, encodeRows } from './copy.js';
import type { WorkerRequest, WorkerResponse } from './pool.js';
import { type TokenizerConfig, Tokenizer } from './tokenizer.js';

/**
 * A tokenizer worker thread (started by {@link TokenizerPool} from the compiled dist/text/worker.js).
 * It answers each request with the tokens of its texts, their COPY-encoded `text[]` values, or
 * whole COPY lines as one string (the cheapest to hand back to the main thread).
 */
const tokenizer = new Tokenizer((workerData as { config: TokenizerConfig }).config);
const port = parentPort!;

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    if (request.mode === 'tokens')
      response = { id: request.id, tokens: tokenizer.tokenizeMany(request.texts) };
    else if (request.mode === 'copy') response = { id: request.id, ...encodeBatch(tokenizer, request.texts) };
    else response = { id: request.id, ...encodeRows(tokenizer, request.keys, request.texts, request.prefix) };
  } catch (error) {
    response = {
      id: request.id,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  port.postMessage(response);
});
