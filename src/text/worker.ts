import { parentPort, workerData } from 'node:worker_threads';
import { copyTextArray } from './copy.js';
import { type TokenizerConfig, Tokenizer } from './tokenizer.js';
import type { WorkerRequest, WorkerResponse } from './pool.js';

/**
 * A tokenizer worker thread (started by {@link TokenizerPool} from the compiled dist/text/worker.js).
 * It answers each request with the tokens of its texts, or with their COPY-encoded `text[]` values.
 */
const tokenizer = new Tokenizer((workerData as { config: TokenizerConfig }).config);
const port = parentPort!;

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    if (request.mode === 'tokens') {
      response = { id: request.id, tokens: request.texts.map((t) => tokenizer.tokenize(t)) };
    } else {
      const literals: string[] = new Array(request.texts.length);
      const counts = new Int32Array(request.texts.length);
      let total = 0;
      for (let i = 0; i < request.texts.length; i++) {
        const tokens = tokenizer.tokenize(request.texts[i]!);
        literals[i] = copyTextArray(tokens);
        counts[i] = tokens.length;
        total += tokens.length;
      }
      response = { id: request.id, literals, counts, total };
    }
  } catch (error) {
    response = {
      id: request.id,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  port.postMessage(response);
});
