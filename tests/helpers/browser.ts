import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sparticuz from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Where the Chromium shipped inside the npm package `@sparticuz/chromium` is unpacked: beside the
 * worktree's other caches, per package version. `MHMTL_TEST_BROWSER_CACHE` overrides it (the
 * fresh-machine check in `.ci/run` points it at an empty directory).
 */
export function browserCacheDir(): string {
  return (
    process.env.MHMTL_TEST_BROWSER_CACHE ?? path.join(ROOT, 'node_modules', '.cache', 'mhmtl-chromium-153')
  );
}

/**
 * The path of the Chromium binary that arrived with `npm install` (`@sparticuz/chromium` 153:
 * brotli-compressed inside the package, no download). The first call unpacks it (about 180 MB)
 * into a staging directory and renames that into place, so two test processes never run a
 * half-written binary; later calls reuse it. Never looks at a system browser or at PATH.
 * @throws Error when the package's files cannot be unpacked (e.g. not Linux x64/arm64).
 */
export async function bundledChromium(): Promise<string> {
  const dir = browserCacheDir();
  const exe = path.join(dir, 'chromium');
  if (existsSync(exe)) return exe;
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // The package unpacks into os.tmpdir(), which follows TMPDIR at each call.
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    await sparticuz.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  // The package's fonts.conf names /tmp/fonts; this one names the fonts unpacked here.
  writeFileSync(
    path.join(staging, 'fonts.conf'),
    `<?xml version="1.0"?>\n<fontconfig>\n  <dir>${path.join(dir, 'fonts', 'fonts')}</dir>\n  <cachedir>${path.join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
  );
  try {
    renameSync(staging, dir);
  } catch (e) {
    // Another process put its copy in place first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(exe)) throw e;
  }
  return exe;
}

/**
 * Launch the bundled headless Chromium through playwright-core, with the package's own flags
 * (single process, no sandbox, SwiftShader) plus those that keep it off the network at start-up.
 * The caller closes the browser.
 */
export async function launchBundledChromium(): Promise<Browser> {
  const executablePath = await bundledChromium();
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      ...sparticuz.args,
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    env: { ...process.env, FONTCONFIG_FILE: path.join(path.dirname(executablePath), 'fonts.conf') },
  });
}
