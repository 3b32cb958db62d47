import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { demoPort, demoUrlFile } from '../playwright.config';
import { collectErrors, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;
const run = Math.random().toString(36).slice(2, 8);

function client(url: string, application: string): pg.Client {
  const c = new pg.Client({ connectionString: url, application_name: application });
  c.on('error', () => {});
  return c;
}

test('a DBA terminates a session from Activity; a superuser session asks for its pid first', async ({ page }) => {
  const errors = collectErrors(page);
  const superUrl = readFileSync(demoUrlFile, 'utf8');
  const admin = client(superUrl, `e2e-admin-${run}`);
  await admin.connect();
  const role = `e2e_app_${run}`;
  await admin.query(`create role ${role} login password 'e2e'`);
  const url = new URL(superUrl);
  url.username = role;
  url.password = 'e2e';
  const victim = client(url.toString(), `e2e-victim-${run}`);
  await victim.connect();
  await victim.query('begin');
  await victim.query('select 1');
  try {
    await signIn(page, demo, 'dba', '/activity');
    const row = page.locator('[data-testid="session"]', { hasText: `e2e-victim-${run}` });
    await expect(row).toHaveCount(1, { timeout: 15_000 });
    await row.getByTestId('act-on-session').click();
    const card = page.getByTestId('picked-session');
    await card.getByTestId('terminate-backend').click();
    const pid = await row.getAttribute('data-pid');
    await expect(card.getByTestId('action-sql')).toHaveText(`SELECT pg_terminate_backend(${pid}, 5000);`);
    await page.screenshot({ path: 'screenshots/activity-terminate.png' });
    await card.getByTestId('action-run').click();
    await expect(card.getByTestId('action-result')).toContainText(`pid ${pid} is gone`);
    await expect(row).toHaveCount(0, { timeout: 15_000 });

    // A superuser's session: its pid must be typed; then the server refuses the action login
    // (not a superuser), and says so.
    const adminRow = page.locator('[data-testid="session"]', { hasText: `e2e-admin-${run}` });
    await adminRow.getByTestId('act-on-session').click();
    await card.getByTestId('terminate-backend').click();
    await card.getByTestId('action-run').click();
    await expect(card.getByTestId('action-error')).toContainText('superuser');
    await card.getByTestId('action-confirm-pid').fill((await adminRow.getAttribute('data-pid')) ?? '');
    await card.getByTestId('action-run').click();
    await expect(card.getByTestId('action-error')).toContainText('privilege');
    await expect(adminRow).toHaveCount(1);
  } finally {
    await victim.end().catch(() => {});
    await admin.query(`drop role if exists ${role}`).catch(() => {});
    await admin.end();
  }
  // The refusals (400, 403) show up as failed loads; nothing else may.
  expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
});

test('an analyst has no action buttons on Activity', async ({ page }) => {
  await signIn(page, demo, 'analyst', '/activity');
  await expect(page.getByTestId('session').first()).toBeVisible();
  await expect(page.getByTestId('act-on-session')).toHaveCount(0);
  await expect(page.getByTestId('idle-bulk')).toHaveCount(0);
});

test('a DBA previews the sessions idle in transaction before ending them in bulk', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'dba', '/activity');
  const bar = page.getByTestId('idle-bulk');
  await bar.getByTestId('idle-minutes').fill('0');
  // The demo keeps one session idle in transaction.
  await expect(bar.getByTestId('idle-count')).not.toHaveText('0 session(s)');
  await bar.getByTestId('idle-terminate').click();
  const confirm = bar.getByTestId('idle-confirm');
  await expect(confirm.locator('tbody tr').first()).toBeVisible();
  await expect(confirm.getByTestId('idle-sql')).toContainText("interval '0 minutes'");
  await page.screenshot({ path: 'screenshots/activity-idle-bulk.png' });
  await confirm.getByRole('button', { name: 'Back' }).click();
  await expect(confirm).toHaveCount(0);
  expect(errors).toEqual([]);
});
