// What the console's end-to-end tests share: Debian's Chromium driven by playwright-core, the console built from its
// sources, screenshots kept as artefacts, and the browser console's errors collected.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildConsole, consoleStaleness } from '../src/server/console-build.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');

/** Outside CI a machine without Chromium skips the browser tests; with CI=true they run and fail. */
export const withoutChromium = !existsSync(CHROMIUM) && process.env.CI !== 'true';

/** Builds the console when its sources changed since the last build, and makes the screenshot folder. */
export async function prepareConsole(): Promise<void> {
  if (consoleStaleness()) {
    const built = await buildConsole();
    if (!built.ok) throw new Error(`console build failed:\n${built.output}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });

/** Adds the page's console errors and warnings and its uncaught errors to `problems` (tests expect none). */
export function collectProblems(page: Page, problems: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message} (${page.url()})`));
}
