import { test, expect } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { demoPort } from '../playwright.config';
import { apiSignIn, axe, hydrated, pagePath, sameNamedRowControls, type PageSpec } from './helpers';
import pagesFile from '../pages.json';

// axe-core on every page (the list in pages.json), in both themes: WCAG 2.1 A and AA rules;
// a serious or critical violation fails the page, and so do two row controls with one name. Every finding (minor ones too) is written to
// screenshots/axe-<page>-<theme>.json for reading, beside a screenshot of the page as audited.
const demo = `http://127.0.0.1:${demoPort}`;

const pages: PageSpec[] = pagesFile.pages;

for (const theme of ['light', 'dark'] as const) {
  for (const p of pages) {
    test(`${p.name}, ${theme} theme: no serious or critical axe-core violation`, async ({ page, request }) => {
      test.setTimeout(60_000);
      await page.context().addCookies([{ name: 'pgpanel_theme', value: theme, url: demo }]);
      if (!p.signedOut) await apiSignIn(page.request, demo, p.role ?? 'dba');
      const path = await pagePath(p, request, demo);
      await page.goto(`${demo}${path}`);
      await hydrated(page);
      await expect(page.locator(`.app[data-theme="${theme}"]`)).toBeVisible();
      // Live data in place (tables, charts) before the audit.
      await page.waitForTimeout(1500);
      const { violations, serious } = await axe(page);
      mkdirSync('screenshots', { recursive: true });
      await page.screenshot({ path: `screenshots/a11y-${p.name.replace(/\W+/g, '-')}-${theme}.png` });
      writeFileSync(
        `screenshots/axe-${p.name.replace(/\W+/g, '-')}-${theme}.json`,
        JSON.stringify(violations, null, 2),
      );
      expect(serious, `axe-core on ${p.path} (${theme})`).toEqual([]);
      expect(await sameNamedRowControls(page), `row controls sharing a name on ${p.path}`).toEqual([]);
    });
  }
}

test('the first Tab reaches "Skip to content", which moves focus to the page', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  await page.goto(`${demo}/activity`);
  await hydrated(page);
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#content')).toBeFocused();
});

test('the dark theme covers the whole document, also past the page on a phone', async ({ page }) => {
  await page.context().addCookies([{ name: 'pgpanel_theme', value: 'dark', url: demo }]);
  await apiSignIn(page.request, demo, 'dba');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${demo}/activity`);
  await hydrated(page);
  const html = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  expect(html).toBe('rgb(17, 21, 28)');
});

test('Activity sorts from the keyboard: each sortable header is a button', async ({ page }) => {
  await apiSignIn(page.request, demo, 'dba');
  await page.goto(`${demo}/activity?target=demo`);
  await hydrated(page);
  const header = page.locator('[data-testid="sessions"] th.sortable', { hasText: 'pid' });
  await expect(header).toHaveAttribute('aria-sort', 'none');
  const button = header.getByRole('button', { name: 'pid' });
  await button.focus();
  await page.keyboard.press('Enter');
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  await page.keyboard.press('Space');
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  const pids = await page.locator('[data-testid="session"]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-pid'))));
  expect(pids.length).toBeGreaterThan(1);
  expect(pids).toEqual([...pids].sort((a, b) => a - b));
});
