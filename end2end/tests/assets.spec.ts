import { statSync } from 'node:fs';
import { test, expect, type Page } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { apiSignIn, hydrated } from './helpers';

// The browser's files are named by content hash and cached for a year: a second visit downloads no
// wasm, JS or CSS. Each page loads its own wasm (its island and the frame's) and no other page's.
// A failed download says so, with a reload.
const demo = `http://127.0.0.1:${demoPort}`;
// The tests run in end2end/ (as the web servers' commands do).
const precompressedWasm = (bundle: string) => `${process.cwd()}/../target/site/pkg/pgpanel-${bundle}.wasm.br`;

// Bytes fetched over the network per kind of file, from the page's Resource Timing entries
// (transferSize is 0 for what came from the browser's cache).
async function fetched(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = { wasm: 0, js: 0, css: 0 };
    for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
      const ext = new URL(e.name).pathname.split('.').pop() ?? '';
      if (ext in out) out[ext] += e.transferSize;
    }
    return out;
  });
}

// The wasm files one page load asked for.
function wasmRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('.wasm')) seen.push(new URL(r.url()).pathname);
  });
  return seen;
}

test('a page writes its data into the HTML once', async ({ request }) => {
  // The page's island is built once on the server: each of its resources is handed to the browser
  // once (a gate that built the page three times wrote Activity's sessions three times).
  await apiSignIn(request, demo, 'analyst');
  for (const path of ['/', '/activity', '/locks', '/audit']) {
    const html = await (await request.get(`${demo}${path}`)).text();
    const payloads = [...html.matchAll(/__RESOLVED_RESOURCES\[\d+\] = ("(?:[^"\\]|\\.)*")/g)].map((m) => m[1]);
    expect(payloads.length, `${path}: its data is in the page`).toBeGreaterThan(0);
    expect(new Set(payloads).size, `${path}: no resource written twice`).toBe(payloads.length);
  }
});

test('a second visit downloads no wasm, JS or CSS (hashed names, cached for a year)', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  const wasm = page.waitForResponse((r) => /\/pkg\/pgpanel-activity\.[0-9a-f]{16}\.wasm$/.test(r.url()));
  await page.goto(`${demo}/activity`);
  const res = await wasm;
  expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  // The build's brotli copy (quality 11), sent as it is: its length is that file's.
  expect(res.headers()['content-encoding']).toBe('br');
  expect(Number(res.headers()['content-length'])).toBe(statSync(precompressedWasm('activity')).size);
  await hydrated(page);
  const first = await fetched(page);
  expect(first.wasm).toBeGreaterThan(10_000);
  expect(first.css).toBeGreaterThan(1_000);

  await page.goto(`${demo}/locks`);
  await hydrated(page);
  // Another page: its own wasm, but the stylesheet from the cache.
  const other = await fetched(page);
  expect(other.wasm).toBeGreaterThan(10_000);
  expect(other.css).toBe(0);

  await page.goto(`${demo}/activity`);
  await hydrated(page);
  expect(await fetched(page)).toEqual({ wasm: 0, js: 0, css: 0 });
});

test('each page loads its own wasm, and no other page\'s', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  const pages: Record<string, string> = {
    '/': 'overview', '/activity': 'activity', '/queries': 'queries', '/locks': 'locks',
    '/maintenance': 'maintenance', '/advice': 'advice', '/logs': 'logs', '/audit': 'audit',
    '/audit/app': 'app_audit', '/fleet': 'fleet', '/nowhere': 'login',
  };
  const seen = wasmRequests(page);
  for (const [path, bundle] of Object.entries(pages)) {
    seen.length = 0;
    await page.goto(`${demo}${path}`);
    await hydrated(page);
    expect(seen, path).toHaveLength(1);
    expect(seen[0], path).toMatch(new RegExp(`^/pkg/pgpanel-${bundle}\\.[0-9a-f]{16}\\.wasm$`));
  }
  // The sign-in page and the admin's Users page too.
  await page.context().clearCookies();
  seen.length = 0;
  await page.goto(`${demo}/login`);
  await hydrated(page);
  expect(seen).toEqual([expect.stringMatching(/^\/pkg\/pgpanel-login\.[0-9a-f]{16}\.wasm$/)]);
  await apiSignIn(page.request, demo, 'admin');
  seen.length = 0;
  await page.goto(`${demo}/users`);
  await hydrated(page);
  expect(seen).toEqual([expect.stringMatching(/^\/pkg\/pgpanel-users\.[0-9a-f]{16}\.wasm$/)]);
});

test('when the wasm cannot be loaded, the page says so and offers a reload', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  await page.route(/\/pkg\/.*\.wasm$/, (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${demo}/activity`);
  const banner = page.locator('#load-failed');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('could not load its scripts');
  await expect(banner.getByRole('link', { name: 'Reload' })).toHaveAttribute('href', `${demo}/activity`);
  await page.screenshot({ path: 'screenshots/load-failed.png' });
  // The reload works once the file can be had again.
  await page.unroute(/\/pkg\/.*\.wasm$/);
  await banner.getByRole('link', { name: 'Reload' }).click();
  await hydrated(page);
  await expect(page.locator('#load-failed')).toHaveCount(0);
});

test('when the scripts stop after the page is interactive, the page says so and offers a reload', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  await page.goto(`${demo}/locks`);
  await hydrated(page);
  const banner = page.locator('#load-failed');
  // A rejected promise that is not the wasm's is not a stop.
  await page.evaluate(() => { void Promise.reject(new Error('someone else\'s promise')); });
  await page.waitForTimeout(300);
  await expect(banner).toHaveCount(0);
  // A trapped wasm (what a panic ends in, panic = "abort"), as the browser reports it.
  await page.evaluate(() => {
    window.dispatchEvent(new ErrorEvent('error', { error: new WebAssembly.RuntimeError('unreachable') }));
  });
  await expect(banner).toBeVisible();
  await expect(banner).toContainText("pgpanel's scripts stopped (unreachable)");
  await expect(banner.getByRole('link', { name: 'Reload' })).toHaveAttribute('href', `${demo}/locks`);
  // The panic hook's own call: one banner, the first reason kept.
  await page.evaluate(() => (window as unknown as { __pgpanelStopped: (m: string) => void }).__pgpanelStopped('a panic'));
  await expect(banner).toHaveCount(1);
  await page.screenshot({ path: 'screenshots/scripts-stopped.png' });
  await banner.getByRole('link', { name: 'Reload' }).click();
  await hydrated(page);
  await expect(banner).toHaveCount(0);
});

test('before the wasm has taken over, a control that needs it says so and changes nothing; then it works', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  // Hold the wasm until the test lets it through.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  await page.route(/\/pkg\/.*\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`${demo}/activity`, { waitUntil: 'domcontentloaded' });
  // The server's render already shows the threshold the bulk bar works with.
  await expect(page.getByTestId('idle-minutes')).toHaveValue(/^\d+$/);
  const app = page.locator('.app');
  await expect(app).toHaveAttribute('data-hydrated', 'false');
  const theme = await app.getAttribute('data-theme');
  // The theme button needs the scripts: clicked now it says so and the theme stays.
  await page.getByTestId('theme-toggle').click();
  await expect(page.getByTestId('still-loading')).toContainText('still loading');
  expect(await app.getAttribute('data-theme')).toBe(theme);
  await page.screenshot({ path: 'screenshots/still-loading.png' });
  // Links and the plain-form filters work without scripts: not held.
  release();
  await hydrated(page);
  await expect(page.getByTestId('still-loading')).toBeHidden();
  await page.getByTestId('theme-toggle').click();
  await expect(app).not.toHaveAttribute('data-theme', theme ?? '');
});
