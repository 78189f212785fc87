import { readFileSync } from 'node:fs';

/**
 * A run started through npm (`npx mhmtl run ...`, `npm start`) is a grandchild of npm's process:
 * npm -> sh -c 'mhmtl ...' -> node. Killing npm with SIGKILL (a scheduler giving up on it) leaves
 * the shell and node running, node's parent unchanged, and the run holding the database's lock.
 * This module finds that chain at start and notices when it breaks.
 */

/** The parent process id of `pid` from /proc (Linux), or null when it cannot be read. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The wrapper processes between this process and npm's, npm's included, parent first: empty when
 * this process was not started by npm (npm sets `npm_command` in its children's environment) or
 * when /proc cannot be read (not Linux). At most 4 levels are searched.
 */
export function npmWrapperChain(env: NodeJS.ProcessEnv = process.env): number[] {
  if (env.npm_command === undefined) return [];
  const chain: number[] = [];
  let pid: number | null = process.ppid;
  for (let level = 0; level < 4 && pid !== null && pid > 1; level++) {
    chain.push(pid);
    if (commandName(pid).startsWith('npm')) return chain;
    pid = parentOf(pid);
  }
  return [];
}

/**
 * Watch the npm wrapper chain (see {@link npmWrapperChain}) every `intervalMs` milliseconds and
 * call `onGone` once, with a sentence saying which process is gone, when a process of the chain
 * exits or is re-parented (its parent was killed). The timer does not keep the process alive.
 * @returns a function that stops watching; a no-op watch when there is no chain.
 */
export function watchNpmWrapper(onGone: (why: string) => void, intervalMs = 1000): () => void {
  const chain = npmWrapperChain();
  if (chain.length === 0) return () => {};
  const npm = chain.at(-1)!;
  const timer = setInterval(() => {
    // The chain as it is now, walked up from this process's parent as far as at start.
    let pid: number | null = process.ppid;
    for (const expected of chain) {
      if (pid !== expected) {
        clearInterval(timer);
        onGone(`npm's process ${npm}, which started this run, is gone`);
        return;
      }
      pid = parentOf(pid);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
