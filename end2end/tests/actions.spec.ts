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

// A superuser session of the test's own on the demo cluster, a fresh login role, and its URL.
async function appRole(name: string): Promise<{ admin: pg.Client; role: string; url: string }> {
  const superUrl = readFileSync(demoUrlFile, 'utf8');
  const admin = client(superUrl, `e2e-admin-${name}-${run}`);
  await admin.connect();
  const role = `e2e_${name}_${run}`;
  await admin.query(`create role ${role} login password 'e2e'`);
  const url = new URL(superUrl);
  url.username = role;
  url.password = 'e2e';
  return { admin, role, url: url.toString() };
}

// Sessions of `url` left idle in an open transaction.
async function idleSessions(url: string, applications: string[]): Promise<pg.Client[]> {
  const sessions = applications.map((a) => client(url, a));
  for (const c of sessions) {
    await c.connect();
    await c.query('begin');
    await c.query('select 1');
  }
  return sessions;
}

test('a DBA terminates a session from Activity; a superuser session asks for its pid first', async ({ page }) => {
  const errors = collectErrors(page);
  const { admin, role, url } = await appRole('app');
  const [victim] = await idleSessions(url, [`e2e-victim-${run}`]);
  try {
    await signIn(page, demo, 'dba', '/activity');
    const row = page.locator('[data-testid="session"]', { hasText: `e2e-victim-${run}` });
    await expect(row).toHaveCount(1, { timeout: 15_000 });
    await row.getByTestId('act-on-session').click();
    const card = page.getByTestId('picked-session');
    await card.getByTestId('terminate-backend').click();
    const pid = await row.getAttribute('data-pid');
    await expect(card.getByTestId('action-sql')).toContainText('pg_terminate_backend(a.pid, $4::int8)');
    await expect(card.getByTestId('action-sql')).toContainText(`-- $1 = ${pid}, `);
    await page.screenshot({ path: 'screenshots/activity-terminate.png' });
    await card.getByTestId('action-run').click();
    await expect(card.getByTestId('action-result')).toContainText(`pid ${pid} is gone`);
    await expect(row).toHaveCount(0, { timeout: 15_000 });

    // A superuser's session: its pid must be typed; then the server refuses the action login
    // (not a superuser), and says so.
    const adminRow = page.locator('[data-testid="session"]', { hasText: `e2e-admin-app-${run}` });
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
  await expect(page.getByTestId('read-only-note')).toContainText('need the dba role');
  await expect(page.getByTestId('select-session')).toHaveCount(0);
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
  await expect(confirm.getByTestId('idle-sql')).toContainText('-- $1 = 0, ');
  // It goes by the transaction's age (xact_start), and shows both clocks.
  await expect(confirm.getByTestId('idle-sql')).toContainText('a.xact_start <=');
  await expect(confirm.locator('th', { hasText: 'transaction open' })).toBeVisible();
  await expect(confirm.locator('th', { hasText: 'idle for' })).toBeVisible();
  await page.screenshot({ path: 'screenshots/activity-idle-bulk.png' });
  await confirm.getByRole('button', { name: 'Back' }).click();
  await expect(confirm).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Activity rows stay put while the ages tick: a selection survives, Pause freezes, copy and several sessions at once', async ({ page, context }) => {
  const errors = collectErrors(page);
  const { admin, role, url } = await appRole('multi');
  const [a, b] = await idleSessions(url, [`e2e-multi-a-${run}`, `e2e-multi-b-${run}`]);
  try {
    await signIn(page, demo, 'dba', '/activity');
    const rowA = page.locator('[data-testid="session"]', { hasText: `e2e-multi-a-${run}` });
    const rowB = page.locator('[data-testid="session"]', { hasText: `e2e-multi-b-${run}` });
    await expect(rowA).toHaveCount(1, { timeout: 15_000 });
    await expect(rowB).toHaveCount(1);
    const pidA = (await rowA.getAttribute('data-pid')) ?? '';
    const pidB = (await rowB.getAttribute('data-pid')) ?? '';
    // Both clocks, labelled: in its state since state_change, its transaction since xact_start.
    await expect(page.locator('th', { hasText: 'In state' })).toHaveAttribute('title', /state_change/);
    await expect(page.locator('th', { hasText: 'Transaction' })).toHaveAttribute('title', /xact_start/);
    await expect(page.getByTestId('session-count')).toContainText('background process');

    // A selection in a row survives the frames (the row is updated in place, not rebuilt).
    const query = rowA.locator('td.query code.query-text');
    await query.evaluate((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      const sel = window.getSelection();
      sel?.removeAllRanges();
      sel?.addRange(range);
      (el.closest('tr') as unknown as { e2eMark: number }).e2eMark = 1;
    });
    const age = await rowA.getByTestId('xact-age').textContent();
    await page.waitForTimeout(3_500);
    expect(await page.evaluate(() => window.getSelection()?.toString())).toBe('select 1');
    expect(await rowA.evaluate((el) => (el as unknown as { e2eMark?: number }).e2eMark)).toBe(1);
    await expect(rowA.getByTestId('xact-age')).not.toHaveText(age ?? '');

    // Pause: the list freezes and says so; Resume catches up.
    await page.getByTestId('pause').click();
    const banner = page.getByTestId('paused-banner');
    await expect(banner).toContainText('Paused at');
    const frozen = (await rowA.getByTestId('xact-age').textContent()) ?? '';
    await expect(banner).toContainText(/[1-9]\d* newer sample/, { timeout: 5_000 });
    expect(await rowA.getByTestId('xact-age').textContent()).toBe(frozen);
    await page.screenshot({ path: 'screenshots/activity-paused.png' });
    await page.getByTestId('resume').click();
    await expect(banner).toHaveCount(0);
    await expect(rowA.getByTestId('xact-age')).not.toHaveText(frozen);

    // Copy the pid and the query.
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await rowA.getByRole('button', { name: `Copy pid ${pidA}` }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(pidA);
    await rowA.getByTestId('copy-query').click();
    await expect(rowA.getByTestId('copy-query')).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('select 1');
    await expect(rowA.getByRole('button', { name: `Actions for pid ${pidA}` })).toBeVisible();

    // Several sessions at once: each is checked and audited on its own.
    await rowA.getByTestId('select-session').check();
    await rowB.getByTestId('select-session').check();
    const bar = page.getByTestId('multi-actions');
    await expect(bar.getByTestId('multi-count')).toHaveText('2 selected');
    await bar.getByTestId('multi-terminate').click();
    await expect(bar.getByTestId('multi-sql')).toContainText(`-- $1 = ${pidA}, `);
    await expect(bar.getByTestId('multi-sql')).toContainText(`-- $1 = ${pidB}, `);
    await page.screenshot({ path: 'screenshots/activity-multi-select.png' });
    await bar.getByTestId('multi-run').click();
    const answers = bar.getByTestId('multi-answers');
    await expect(answers.locator('li[data-ok="true"]')).toHaveCount(2, { timeout: 20_000 });
    await expect(answers).toContainText(`pid ${pidA} is gone`);
    await expect(rowA).toHaveCount(0, { timeout: 15_000 });
    await expect(rowB).toHaveCount(0);
    const trail = await (await page.request.get(`${demo}/api/audit?action=terminate_backend&fold=true&limit=20`)).json();
    const objects = trail.events.map((e: { object: string }) => e.object);
    expect(objects).toContain(`pid ${pidA}`);
    expect(objects).toContain(`pid ${pidB}`);
  } finally {
    for (const c of [a, b]) await c.end().catch(() => {});
    await admin.query(`drop role if exists ${role}`).catch(() => {});
    await admin.end();
  }
  expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
});

test('Activity lists the first 50 matching sessions, longest in their state first, and all of them on request', async ({ page }) => {
  const errors = collectErrors(page);
  const superUrl = readFileSync(demoUrlFile, 'utf8');
  const apps = Array.from({ length: 53 }, (_, i) => `e2e-many-${run}-${String(i).padStart(2, '0')}`);
  const sessions = apps.map((a) => client(superUrl, a));
  try {
    // The first is idle the longest: listed first.
    for (const [i, c] of sessions.entries()) {
      await c.connect();
      await c.query('select 1');
      if (i === 0) await page.waitForTimeout(1_100);
    }
    await signIn(page, demo, 'analyst', '/activity');
    await page.locator('[data-filter="q"]').fill(`e2e-many-${run}`);
    const rows = page.getByTestId('session');
    await expect(page.getByTestId('session-count')).toContainText('53 of ');
    await expect(rows).toHaveCount(50);
    await expect(page.getByTestId('sessions-partial')).toHaveText('Showing the first 50 of 53 matching sessions in this order. Show all 53');
    await expect(rows.first()).toContainText(apps[0]);
    await page.getByTestId('sessions-partial').scrollIntoViewIfNeeded();
    await page.screenshot({ path: 'screenshots/activity-first-50.png' });
    await page.getByTestId('show-all-sessions').click();
    await expect(rows).toHaveCount(53);
    await expect(page.getByTestId('sessions-partial')).toHaveCount(0);
    // Still all of them after the next frames.
    await page.waitForTimeout(1_500);
    await expect(rows).toHaveCount(53);
  } finally {
    for (const c of sessions) await c.end().catch(() => {});
  }
  expect(errors).toEqual([]);
});
