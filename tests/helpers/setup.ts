import { afterAll } from 'vitest';
import { removeTempDirs } from './tmp.js';

// Every test file: remove the temporary folders it made with makeTempDir.
afterAll(() => removeTempDirs());
