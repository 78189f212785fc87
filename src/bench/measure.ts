import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The median of a non-empty list (the mean of the two middle values for an even length). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A finished child process with its wall time and peak memory. */
export interface MeasuredChild {
  /** Exit code (1 when killed by a signal). */
  code: number;
  stdout: string;
  /** The last 50-100 kB of its standard error (GNU time's report included). */
  stderr: string;
  /** Wall time, seconds. */
  seconds: number;
  /** Peak resident set size, kB; null when it could not be read. */
  peakRssKb: number | null;
  /** Where the peak came from: '/usr/bin/time -v' or 'child maxRSS at exit'. */
  peakRssSource: string;
}

/**
 * Run `node <args>` as a child process (stdin closed, `env` added to this process's environment)
 * and measure its wall time and peak RSS: from GNU time's "Maximum resident set size" when
 * `/usr/bin/time` exists, else from an `--import` hook (written to `tmp`) that records the child's
 * own `process.resourceUsage().maxRSS` at exit. The caller checks `code`.
 * @throws Error when the child cannot be started.
 */
export async function runMeasuredNode(
  args: readonly string[],
  tmp: string,
  env: Record<string, string> = {},
): Promise<MeasuredChild> {
  const useTime = existsSync('/usr/bin/time');
  const rssFile = path.join(tmp, 'child-rss.txt');
  rmSync(rssFile, { force: true });
  const hook = path.join(tmp, 'rss-hook.mjs');
  writeFileSync(
    hook,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.MHMTL_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
  );
  const [cmd, cmdArgs] = useTime
    ? ['/usr/bin/time', ['-v', process.execPath, ...args]]
    : [process.execPath, ['--import', hook, ...args]];
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, MHMTL_BENCH_RSS_FILE: rssFile },
    });
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const seconds = (performance.now() - t0) / 1000;
  const timed = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const peakRssKb = useTime
    ? timed
      ? Number(timed[1])
      : null
    : existsSync(rssFile)
      ? Number(readFileSync(rssFile, 'utf8'))
      : null;
  return {
    code,
    stdout,
    stderr,
    seconds,
    peakRssKb,
    peakRssSource: useTime ? '/usr/bin/time -v' : 'child maxRSS at exit',
  };
}
