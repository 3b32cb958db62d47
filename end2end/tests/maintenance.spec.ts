import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import pg from 'pg';
import { demoPort, demoUrlFile } from '../playwright.config';
import { collectErrors, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

function count(text: string | null): number {
  // "12.3k" style counts from the table.
  const t = (text ?? '').trim();
  const n = parseFloat(t);
  if (t.endsWith('k')) return n * 1e3;
  if (t.endsWith('M')) return n * 1e6;
  return n;
}

test('a DBA vacuums the bloated events table from Maintenance and watches its progress', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'dba', '/maintenance?order=dead');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Maintenance · Demo cluster');
  const events = page.locator('[data-testid="table-row"][data-table="public.events"]');
  await expect(events).toHaveCount(1);
  expect(count(await events.getByTestId('dead').textContent())).toBeGreaterThan(0);
  // The demo never vacuums events (autovacuum is off for it).
  await expect(events.getByTestId('last-vacuum')).toHaveText('never');

  // VACUUM FULL asks for the table's name and shows the lock it takes.
  await events.getByTestId('vacuum').click();
  const dialog = page.getByTestId('job-dialog');
  await expect(dialog.getByTestId('job-sql')).toHaveText('VACUUM (ANALYZE) public.events;');
  await expect(dialog.getByTestId('job-lock')).toContainText('SHARE UPDATE EXCLUSIVE');
  // One size, with how and when it was measured: the dialog measures exactly, and the list
  // shows that measurement from now on.
  await expect(dialog.getByTestId('job-size')).toContainText(/table [\d.]+ \w+, [\d.]+ \w+ with indexes \(exact, measured by pgpanel at /);
  const measured = /table ([\d.]+ \w+)/.exec((await dialog.getByTestId('job-size').textContent()) ?? '')?.[1];
  await dialog.getByTestId('opt-full').check();
  await expect(dialog.getByTestId('job-sql')).toHaveText('VACUUM (FULL, ANALYZE) public.events;');
  await expect(dialog.getByTestId('job-lock')).toContainText('ACCESS EXCLUSIVE');
  await expect(dialog.getByTestId('job-confirm')).toBeVisible();
  await page.screenshot({ path: 'screenshots/maintenance-vacuum-full.png' });
  await dialog.getByTestId('job-run').click();
  await expect(dialog.getByTestId('job-error')).toContainText('type public.events');
  await dialog.getByTestId('opt-full').uncheck();
  await expect(dialog.getByTestId('job-sql')).toHaveText('VACUUM (ANALYZE) public.events;');
  await expect(dialog.getByTestId('job-confirm')).toHaveCount(0);

  // The plain VACUUM runs in the background with a progress bar.
  await dialog.getByTestId('job-run').click();
  await expect(dialog).toHaveCount(0);
  const job = page.locator('[data-testid="job-row"]', { hasText: 'VACUUM (ANALYZE) public.events;' }).first();
  await expect(job).toHaveAttribute('data-state', 'running');
  await expect(job.getByTestId('job-progress')).toBeVisible();
  await expect(job.getByTestId('job-phase')).toContainText('VACUUM: ', { timeout: 10_000 });
  await page.screenshot({ path: 'screenshots/maintenance-progress.png' });
  await expect(job).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  await expect(job).toContainText(/table [\d.]+ \w+ → [\d.]+ \w+, with indexes/);
  expect(measured).toBeTruthy();

  // The table is read again when the job ends (the workload makes new dead tuples at once, so
  // the proof is the last vacuum time).
  await expect(events.getByTestId('last-vacuum')).toContainText('ago', { timeout: 15_000 });
  await expect(events.getByTestId('last-vacuum')).not.toContainText('(auto)');
  // The list shows the job's own after-size, exact, the same number as the job's result.
  await expect(events.getByTestId('table-size')).toHaveAttribute('data-method', 'exact');
  const after = /→ ([\d.]+ \w+),/.exec((await job.textContent()) ?? '')?.[1] ?? '';
  await expect(events.getByTestId('table-size')).toContainText(after);
  await page.screenshot({ path: 'screenshots/maintenance.png', fullPage: false });
  expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
});

test('an analyst sees the Maintenance page without buttons', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst', '/maintenance');
  await expect(page.getByTestId('table-row').first()).toBeVisible();
  await expect(page.getByTestId('read-only-note')).toContainText('need the dba role');
  await expect(page.getByTestId('table-size').first()).toHaveAttribute('title', /relpages|measured/);
  await expect(page.getByTestId('jobs')).toBeVisible();
  await expect(page.getByTestId('vacuum')).toHaveCount(0);
  await expect(page.getByTestId('analyze')).toHaveCount(0);
  await expect(page.getByTestId('job-cancel')).toHaveCount(0);
  // Sorting by name puts schema.name in order.
  await page.getByTestId('sort-name').click();
  await expect(page).toHaveURL(/order=name/);
  const names = () =>
    page
      .locator('[data-testid="table-row"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-table') ?? ''));
  await expect.poll(async () => {
    const n = await names();
    return n.length > 3 && n.join('|') === [...n].sort().join('|');
  }).toBe(true);
  expect(errors).toEqual([]);
});

test('a database of many tables opens with the first 50 in the chosen order, and shows all on request', async ({ page }) => {
  // A database of its own on the demo cluster, dropped afterwards: 205 empty tables.
  const superUrl = readFileSync(demoUrlFile, 'utf8');
  const admin = new pg.Client({ connectionString: superUrl });
  await admin.connect();
  await admin.query('drop database if exists e2e_many with (force)');
  await admin.query('create database e2e_many');
  const url = new URL(superUrl);
  url.pathname = '/e2e_many';
  const many = new pg.Client({ connectionString: url.toString() });
  await many.connect();
  await many.query(`do $$ begin
    for i in 1..205 loop execute format('create table t%s (id int)', lpad(i::text, 3, '0')); end loop;
  end $$`);
  await many.end();
  try {
    const errors = collectErrors(page);
    await signIn(page, demo, 'analyst', '/maintenance?target=demo&database=e2e_many&order=name');
    const rows = page.getByTestId('table-row');
    await expect(page.getByTestId('tables-partial')).toHaveText('Showing the first 50 of 205 tables, ordered by name. Show all 205');
    await expect(page.getByTestId('tables-summary')).toContainText('205 tables in e2e_many');
    await expect(rows).toHaveCount(50);
    await expect(rows.first()).toHaveAttribute('data-table', 'public.t001');
    await expect(rows.last()).toHaveAttribute('data-table', 'public.t050');
    await page.screenshot({ path: 'screenshots/maintenance-first-50.png' });
    await page.getByTestId('tables-show-all').click();
    await expect(page).toHaveURL(/show=all/);
    await expect(rows).toHaveCount(205);
    await expect(page.getByTestId('tables-partial')).toHaveCount(0);
    // Another order keeps every table.
    await page.getByTestId('sort-size').click();
    await expect(page).toHaveURL(/order=size/);
    await expect(page).toHaveURL(/show=all/);
    await expect(rows).toHaveCount(205);
    expect(errors).toEqual([]);
  } finally {
    await admin.query('drop database if exists e2e_many with (force)');
    await admin.end();
  }
});
