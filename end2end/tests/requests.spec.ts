import { test, expect, type Page } from '@playwright/test';
import { writeFileSync, mkdirSync } from 'node:fs';
import { demoPort } from '../playwright.config';
import { apiSignIn, hydrated, pagePath, type PageSpec } from './helpers';
import pagesFile from '../pages.json';

const demo = `http://127.0.0.1:${demoPort}`;
const SECONDS = 10;
// The budget: at most 2 requests per second on average after hydration, the live stream aside.
const BUDGET_PER_SECOND = 2;

const pages: PageSpec[] = pagesFile.pages;

// Requests the page makes after it hydrated, for SECONDS: everything but the one SSE stream.
async function count(page: Page): Promise<string[]> {
  const seen: string[] = [];
  const listener = (r: import('@playwright/test').Request) => {
    const url = new URL(r.url());
    if (url.pathname !== '/live') seen.push(`${r.method()} ${url.pathname}`);
  };
  page.on('request', listener);
  await page.waitForTimeout(SECONDS * 1000);
  page.off('request', listener);
  return seen;
}

const rates: Record<string, number> = {};

for (const p of pages) {
  test(`${p.name}: at most ${BUDGET_PER_SECOND} requests per second after hydration`, async ({ page, request }) => {
    test.setTimeout(60_000);
    if (!p.signedOut) await apiSignIn(page.request, demo, p.role ?? 'dba');
    const path = await pagePath(p, request, demo);
    await page.goto(`${demo}${path}`);
    await hydrated(page);
    if (p.detail) await expect(page.getByTestId('query-detail')).toBeVisible();
    const seen = await count(page);
    rates[p.name] = seen.length / SECONDS;
    // What was asked, for the report when this fails.
    const byPath: Record<string, number> = {};
    for (const s of seen) byPath[s] = (byPath[s] ?? 0) + 1;
    expect(seen.length, JSON.stringify(byPath)).toBeLessThanOrEqual(BUDGET_PER_SECOND * SECONDS);
    // Pages with a known rhythm are held to it (Queries: one read per pg_stat_statements sample).
    for (const [path, most] of Object.entries(p.most ?? {})) {
      const asked = seen.filter((s) => s.split(' ')[1] === path).length;
      expect(asked, `${path}: ${JSON.stringify(byPath)}`).toBeLessThanOrEqual(most);
    }
  });
}

test.afterAll(() => {
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/request-rates.json', JSON.stringify(rates, null, 2));
});
