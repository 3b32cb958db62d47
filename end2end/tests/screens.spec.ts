import { test, expect } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { demoPort } from '../playwright.config';
import { apiSignIn, axe, hydrated, pagePath, sidewaysOverflow, type PageSpec } from './helpers';
import pagesFile from '../pages.json';

// Every page at a phone's, a tablet's and a desktop's size, in both themes: the document never
// scrolls sideways (wide tables scroll in their own box), the navigation is a menu below 900 px
// and a sidebar above, and a screenshot of each is written to screenshots/screen-*.png. At the
// phone's size axe-core audits each page too (the cards, the wrapped header, the menu button).
const demo = `http://127.0.0.1:${demoPort}`;
const pages: PageSpec[] = pagesFile.pages;
const sizes = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'tablet', width: 768, height: 1024 },
  { name: 'desktop', width: 1440, height: 900 },
];

for (const size of sizes) {
  for (const p of pages) {
    test(`${p.name} at ${size.width}×${size.height}, both themes: nothing overflows sideways`, async ({ page, request }) => {
      test.setTimeout(60_000);
      await page.setViewportSize({ width: size.width, height: size.height });
      if (!p.signedOut) await apiSignIn(page.request, demo, p.role ?? 'dba');
      const path = await pagePath(p, request, demo);
      for (const theme of ['light', 'dark'] as const) {
        await page.context().addCookies([{ name: 'pgpanel_theme', value: theme, url: demo }]);
        await page.goto(`${demo}${path}`);
        await hydrated(page);
        await page.waitForTimeout(1000);
        expect(await sidewaysOverflow(page), `${p.path} at ${size.width}px (${theme})`).toEqual([]);
        if (!p.signedOut) {
          const nav = page.getByTestId('sidenav');
          if (size.width < 900) {
            await expect(nav).toBeHidden();
            await expect(page.getByTestId('menu-button')).toBeVisible();
          } else {
            await expect(nav).toBeVisible();
            await expect(page.getByTestId('menu-button')).toBeHidden();
          }
        }
        if (size.name === 'phone') {
          const { serious } = await axe(page);
          expect(serious, `axe-core on ${p.path} at ${size.width}px (${theme})`).toEqual([]);
        }
        mkdirSync('screenshots', { recursive: true });
        await page.screenshot({
          path: `screenshots/screen-${p.name.replace(/\W+/g, '-')}-${size.name}-${theme}.png`,
          fullPage: true,
        });
      }
    });
  }
}

test('on a phone the Menu button opens the navigation, a link goes there and closes it', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await apiSignIn(page.request, demo, 'dba');
  await page.goto(`${demo}/activity`);
  await hydrated(page);
  const menu = page.getByTestId('menu-button');
  const nav = page.getByTestId('sidenav');
  await expect(nav).toBeHidden();
  await menu.click();
  await expect(nav).toBeVisible();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await page.screenshot({ path: 'screenshots/screen-menu-open-phone.png' });
  // Escape closes it, focus back on the button.
  await page.keyboard.press('Escape');
  await expect(nav).toBeHidden();
  await expect(menu).toBeFocused();
  await menu.click();
  await nav.getByRole('link', { name: 'Locks' }).click();
  await page.waitForURL(/\/locks/);
  await expect(nav).toBeHidden();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Locks');
});
