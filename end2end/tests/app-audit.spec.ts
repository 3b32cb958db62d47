import { test, expect } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { collectErrors, hydrated, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('an analyst browses the application audit table, opens a diff, follows a row\'s history and downloads it', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst', '/audit');
  // The Audit area: pgpanel's own trail, then the application's tables.
  await page.getByRole('navigation', { name: 'Audit area' }).getByRole('link', { name: 'Application audit tables' }).click();
  await page.waitForURL(/\/audit\/app/);
  await hydrated(page);
  await expect(page.getByTestId('app-audit-source')).toContainText('audit_log in database shop');
  await expect(page.getByTestId('app-audit-row').first()).toBeVisible();

  // The demo's note: written with markup, corrected by someone else, removed.
  await page.getByTestId('app-audit-table').fill('Customer Notes');
  await page.getByTestId('app-audit-operation').selectOption('UPDATE');
  await page.getByTestId('app-audit-apply').click();
  await page.waitForURL(/operation=UPDATE/);
  await hydrated(page);
  const row = page.getByTestId('app-audit-row').first();
  await expect(row).toHaveAttribute('data-operation', 'UPDATE');
  await row.getByTestId('app-audit-diff').locator('summary').click();
  const note = row.locator('[data-testid="app-audit-change"][data-field="Note"]');
  await expect(note.locator('.diff-old')).toHaveText('call back <script>alert(1)</script>');
  await expect(note.locator('.diff-new')).toHaveText('called back, all good ✓');
  await expect(row).toContainText('support: Ilja');
  await page.screenshot({ path: 'screenshots/app-audit.png', fullPage: true });

  // The row's whole history, newest first.
  await row.getByTestId('app-audit-row-history').click();
  await page.waitForURL(/record=3/);
  await hydrated(page);
  await expect(page.getByTestId('app-audit-history')).toContainText('History of row 3 of Customer Notes');
  const ops = await page.getByTestId('app-audit-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-operation')));
  expect(ops).toEqual(['DELETE', 'UPDATE', 'INSERT']);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'screenshots/app-audit-phone.png', fullPage: true });
  await page.setViewportSize({ width: 1440, height: 900 });

  // The same view as CSV: a header and the three changes. (The links are read as the browser
  // would fetch them, with the page's session.)
  const fetchLink = async (testId: string) => {
    const href = await page.getByTestId(testId).getAttribute('href');
    expect(href).toBeTruthy();
    const res = await page.request.get(`${demo}${href}`);
    expect(res.status()).toBe(200);
    return res;
  };
  const csvRes = await fetchLink('app-audit-export-csv');
  expect(csvRes.headers()['content-disposition']).toMatch(/^attachment; filename="pgpanel-app-audit-demo-audit_log-.*\.csv"$/);
  const csv = (await csvRes.text()).trim().split('\r\n');
  expect(csv[0]).toMatch(/^time,id,table,operation,actor/);
  expect(csv.slice(1).map((l) => l.split(',')[3])).toEqual(['DELETE', 'UPDATE', 'INSERT']);

  // The Logs page and pgpanel's trail download the same way.
  await page.goto(`${demo}/audit?action=auth.login`);
  await hydrated(page);
  const events = (await (await fetchLink('audit-export-jsonl')).text()).trim().split('\n').map((l) => JSON.parse(l));
  expect(events.length).toBeGreaterThan(0);
  expect(events.every((e) => e.action === 'auth.login')).toBe(true);
  await page.goto(`${demo}/logs?target=demo&kind=error`);
  await hydrated(page);
  const lines = (await (await fetchLink('logs-export-csv')).text()).trim().split('\r\n');
  expect(lines[0]).toMatch(/^time,severity,kind,sqlstate/);
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((l) => l.split(',')[2] === 'error')).toBe(true);
  expect(errors).toEqual([]);
});
