import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { demoPort, demoUrlFile } from '../playwright.config';
import { collectErrors, hydrated, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('a DBA finds the error a session caused in the server log, opens it and follows it to the session', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = collectErrors(page);
  // A session of the test's own causes an error (a name that would be markup if rendered as
  // HTML) and stays connected, so its pid is on the Activity page.
  const marker = `e2e_missing_${Date.now()}`;
  const client = new pg.Client({ connectionString: readFileSync(demoUrlFile, 'utf8'), application_name: 'e2e-logs' });
  await client.connect();
  const pid: number = (await client.query('select pg_backend_pid() as pid')).rows[0].pid;
  await expect(client.query(`select * from "${marker}<b>" where note = 'secret'`)).rejects.toThrow();
  try {
    await signIn(page, demo, 'dba', '/logs?target=demo');
    await expect(page.getByTestId('logs-source')).toHaveAttribute('data-reading', 'true');
    await expect(page.getByTestId(/^logs-histogram/)).toBeVisible();
    // The form's choices become the URL: the view is a link.
    await page.getByTestId('filter-kind').selectOption('error');
    await page.getByTestId('filter-text').fill(marker);
    await page.getByTestId('filter-apply').click();
    await page.waitForURL(/kind=error/);
    await hydrated(page);
    const entry = page.getByTestId('logs-entry').first();
    // The tailer reads every 5 s: reload until the entry is there.
    await expect(async () => {
      await page.reload();
      await hydrated(page);
      await expect(entry).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
    await expect(entry).toHaveAttribute('data-severity', 'ERROR');
    await expect(entry).toContainText(`${marker}<b>`);
    await entry.locator('summary').click();
    const detail = entry.getByTestId('logs-detail');
    await expect(detail).toBeVisible();
    await expect(detail).toContainText('SQLSTATE 42P01');
    await expect(detail).toContainText("where note = 'secret'");
    await expect(detail).toContainText('application e2e-logs');
    await page.screenshot({ path: 'screenshots/logs.png', fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: 'screenshots/logs-phone.png', fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    // From the entry to the session.
    await detail.getByTestId('logs-to-activity').click();
    await page.waitForURL(new RegExp(`/activity\\?target=demo&pid=${pid}`));
    await hydrated(page);
    await expect(page.locator(`[data-testid="session"][data-pid="${pid}"]`)).toBeVisible();
    await expect(page.getByTestId('session')).toHaveCount(1);
  } finally {
    await client.end();
  }
  expect(errors).toEqual([]);
});

test('analysts see statements without their constants and pgaudit records split; a bad filter is explained', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst', '/logs?target=demo&kind=error');
  await expect(page.getByTestId('logs-summary')).toContainText('constants replaced');
  // The demo's batch makes and drops a scratch table every 20 s: pgaudit's DDL records.
  await page.goto(`${demo}/logs?target=demo&kind=audit`);
  const audit = page.locator('[data-testid="logs-entry"][data-kind="audit"]').first();
  await expect(async () => {
    await page.reload();
    await hydrated(page);
    await expect(audit).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 45_000 });
  await audit.locator('summary').click();
  await expect(audit.getByTestId('logs-audit')).toContainText(/SESSION · (DDL|ROLE)/);
  await page.screenshot({ path: 'screenshots/logs-pgaudit.png', fullPage: true });
  // Follow reads the newest page every 5 s: two reads in 11 s, not a loop.
  let reads = 0;
  page.on('request', (r) => {
    if (r.url().includes('/api/logs')) reads += 1;
  });
  await page.getByTestId('logs-follow').check();
  await page.waitForTimeout(11_000);
  expect(reads).toBeGreaterThanOrEqual(1);
  expect(reads).toBeLessThanOrEqual(3);
  const res = await page.goto(`${demo}/logs?target=demo&severity=LOUD`);
  expect(res?.status()).toBe(400);
  // The error page is a page: its policy allows its own scripts (CI twice saw the strict API
  // policy on a page: leptos' file handler took a page's headers for the favicon fetched
  // meanwhile; the site root's files are now served outside leptos, see server/tests/http.rs).
  expect(res?.headers()['content-security-policy']).toContain("'nonce-");
  await expect(page.getByRole('alert')).toContainText('severity must be one of');
  expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
});

test('a DBA reads the log from before pgpanel began following it, and sees how far the backfill got', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = collectErrors(page);
  // The demo's server logged its start before pgpanel's first read, which began at the end.
  await signIn(page, demo, 'dba', '/logs?target=demo');
  const section = page.getByTestId('logs-backfill');
  await expect(section).toContainText('were there before pgpanel began following this target');
  await page.getByTestId('logs-backfill-hours').selectOption('24');
  await page.getByTestId('logs-backfill-start').click();
  await expect(section).toContainText('Started: the progress shows here');
  // The page follows the log (every 5 s) once started: the status comes, then its end.
  const status = page.getByTestId('logs-backfill-status');
  await expect(status).toHaveAttribute('data-running', 'false', { timeout: 45_000 });
  await expect(status).toContainText(/Backfill by dba \(finished .*\): files modified since .*, [\d.]+ (bytes|kB|MB) of [\d.]+ (bytes|kB|MB) read, \d+ entries stored$/);
  await section.screenshot({ path: 'screenshots/logs-backfill.png' });
  // Nothing is left unread at the files' start: no button; a second backfill (by API) finds
  // nothing to read and stores nothing twice.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('logs-backfill-start')).toHaveCount(0);
  const again = await page.request.post(`${demo}/api/logs/backfill`, {
    form: { target: 'demo', hours: '24' },
    headers: { Origin: demo },
  });
  expect(again.status()).toBe(200);
  expect((await again.json()).running).toBe(true);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('logs-backfill-status')).toHaveAttribute('data-running', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('logs-backfill-status')).toContainText('0 bytes of 0 bytes read, 0 entries stored');
  await page.getByTestId('logs-backfill').screenshot({ path: 'screenshots/logs-backfill-phone.png' });
  expect(errors).toEqual([]);
});
