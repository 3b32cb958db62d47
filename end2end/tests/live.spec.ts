import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { demoPort, demoUrlFile } from '../playwright.config';
import { apiSignIn, collectErrors, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;
const run = Math.random().toString(36).slice(2, 8);

// A session of the test's own on the demo cluster (its superuser URL comes from the demo).
async function session(application: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: readFileSync(demoUrlFile, 'utf8'), application_name: application });
  await client.connect();
  return client;
}

async function polylinePoints(page: Page, chart: string): Promise<string> {
  // Data lines are 2 px wide; the grid and axes are thinner.
  return (await page.locator(`[data-chart="${chart}"] polyline[stroke-width="2"]`).evaluateAll((ls) =>
    ls.map((l) => l.getAttribute('points')).join('|'))) ?? '';
}

test.beforeAll(async ({ request }) => {
  await apiSignIn(request, demo, 'analyst');
  // Two samples at least, so the charts have rates.
  await expect
    .poll(async () => (await (await request.get(`${demo}/api/overview?target=demo`)).json()).fast?.length ?? 0, {
      timeout: 60_000,
    })
    .toBeGreaterThan(2);
});

test('Overview charts render on the server and move with the live stream', async ({ page, request }) => {
  const errors = collectErrors(page);
  await apiSignIn(request, demo, 'analyst');
  const html = await (await request.get(`${demo}/?target=demo`)).text();
  expect(html).toContain('data-chart="tps"');
  expect(html).toContain('<polyline');

  await signIn(page, demo, 'analyst');
  await expect(page.getByTestId('chart')).toHaveCount(10);
  await expect(page.getByTestId('stream-state')).toHaveText('live');
  await expect(page.locator('[data-testid="health"]')).toHaveCount(5);
  // Idle in transaction names both clocks; lock waits have a card of their own.
  await expect(page.locator('[data-testid="health"][data-key="idle_in_tx"]')).toContainText(/oldest transaction open .* idle for/);
  await expect(page.locator('[data-testid="health"][data-key="lock_waiting"]')).toBeVisible();
  const before = await polylinePoints(page, 'tps');
  expect(before.length).toBeGreaterThan(0);
  await expect.poll(() => polylinePoints(page, 'tps'), { timeout: 10_000 }).not.toBe(before);
  await page.screenshot({ path: 'screenshots/overview.png', fullPage: true });

  // Another range: the URL says which, the charts follow.
  await page.getByTestId('range').getByRole('link', { name: '1h' }).click();
  await expect(page).toHaveURL(/range=1h/);
  await expect(page.getByTestId('charts')).toHaveAttribute('data-range', '1h');
  // A flat line has no height (Playwright would call it hidden): check it has points.
  await expect(page.locator('[data-chart="sessions"] polyline[stroke-width="2"]').first()).toHaveAttribute('points', /\d/);
  expect(errors).toEqual([]);
});

test('Activity shows a session the test opened, as text, highlighted while idle in transaction', async ({ page }) => {
  const errors = collectErrors(page);
  let dialogs = 0;
  page.on('dialog', async (d) => {
    dialogs += 1;
    await d.dismiss();
  });
  const name = `e2e-${run} <img src=x onerror=alert(1)>`;
  const client = await session(name);
  try {
    await client.query('begin');
    await client.query('select 1');
    await signIn(page, demo, 'analyst', '/activity');
    const row = page.locator('[data-testid="session"]', { hasText: `e2e-${run}` });
    await expect(row).toHaveCount(1, { timeout: 15_000 });
    await expect(row).toContainText(name);
    await expect(row).toHaveClass(/row-idle-tx/);
    await expect(row).toContainText('idle in transaction');
    await expect(page.locator('[data-testid="session"][data-pgpanel="true"]').first()).toContainText('pgpanel');
    // A session that only names itself pgpanel (the demo's pgpanel-export, on another login) is
    // an ordinary one, marked as claiming to be pgpanel.
    const pretender = page.locator('[data-testid="session"]', { hasText: 'pgpanel-export' });
    await expect(pretender).toHaveCount(1, { timeout: 40_000 });
    await expect(pretender).toHaveAttribute('data-pgpanel', 'false');
    await expect(pretender.getByTestId('claims-pgpanel')).toHaveText('claims to be pgpanel');

    await page.locator('[data-filter="q"]').fill(`e2e-${run}`);
    await expect(page.getByTestId('session')).toHaveCount(1);
    await page.locator('[data-filter="q"]').fill('');
    await page.locator('[data-filter="state"]').selectOption('idle in transaction');
    await expect(page.locator('[data-testid="session"]', { hasText: `e2e-${run}` })).toHaveCount(1);
    await page.locator('[data-filter="state"]').selectOption('');
    await page.screenshot({ path: 'screenshots/activity.png', fullPage: true });
    expect(dialogs).toBe(0);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
  } finally {
    await client.end();
  }
  expect(errors).toEqual([]);
});

test('Queries shows a statement the test ran, with its history', async ({ page }) => {
  const errors = collectErrors(page);
  const marker = `e2e_probe_${run}`;
  // Wait for the sampler's baseline of pg_stat_statements before running it.
  await signIn(page, demo, 'analyst', '/queries');
  await expect(page.getByTestId('statement').first()).toBeVisible({ timeout: 30_000 });
  const client = await session(`e2e-${run}`);
  try {
    for (let i = 0; i < 3; i++) await client.query(`select count(*) as ${marker} from pg_class where relpages >= $1`, [i]);
  } finally {
    await client.end();
  }
  const row = page.locator('[data-testid="statement"]', { hasText: marker });
  await expect(row).toHaveCount(1, { timeout: 30_000 });
  await expect(row).toContainText('$1');
  await row.getByRole('link').first().click();
  await expect(page).toHaveURL(/queryid=/);
  const detail = page.getByTestId('query-detail');
  await expect(detail).toContainText(marker);
  await expect(detail.getByTestId('chart')).toHaveCount(2);
  // A heading in words, not the (often negative) queryid; every column pg_stat_statements has.
  await expect(detail.getByTestId('query-detail-title')).toContainText(marker);
  await expect(detail.getByTestId('query-detail-title')).not.toContainText('Statement -');
  for (const column of ['Stddev', 'Min · max', 'Planning', 'Hit %', 'I/O read', 'WAL', 'Lock wait']) {
    await expect(detail.getByTestId('query-entries').locator('th', { hasText: column })).toHaveCount(1);
  }
  await expect(page.getByTestId('queries').locator('th', { hasText: 'Shared read' })).toContainText('blocks');
  await page.screenshot({ path: 'screenshots/queries.png', fullPage: true });

  // Order by another column; unknown values are refused by the API.
  await page.getByRole('link', { name: 'Calls', exact: true }).click();
  await expect(page).toHaveURL(/order=calls/);
  // pgpanel's own statements are hidden by default, one click away.
  await expect(page.locator('[data-testid="statement"][data-own="true"]')).toHaveCount(0);
  await expect(page.getByTestId('queries-summary')).toContainText("of pgpanel's own hidden");
  await page.getByTestId('own-toggle').click();
  await expect(page).toHaveURL(/own=show/);
  await expect(page.locator('[data-testid="statement"][data-own="true"]').first()).toBeVisible();
  // The demo's lock chains: their updates are mostly waiting, and the row says so.
  await page.goto(`${demo}/queries?target=demo&window=1h&order=lock_wait`);
  await expect(page.getByTestId('lock-wait-hint').first()).toContainText('waiting on locks', { timeout: 90_000 });
  expect((await page.request.get(`${demo}/api/queries/top?target=demo&hide_own=maybe`)).status()).toBe(400);
  const bad = await page.request.get(`${demo}/api/queries/top?target=demo&window=2h`);
  expect(bad.status()).toBe(400);
  expect(errors).toEqual([]);
});

test('the switcher changes target; the fleet lists every target; missing pg_stat_statements says what to run', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst', '/queries');
  await page.getByTestId('target-switch').selectOption('legacy');
  await expect(page).toHaveURL(/target=legacy/);
  const missing = page.getByTestId('statements-unavailable');
  await expect(missing).toBeVisible();
  await expect(missing).toContainText('CREATE EXTENSION pg_stat_statements;');
  await page.screenshot({ path: 'screenshots/queries-unavailable.png', fullPage: true });

  await page.getByRole('link', { name: 'Fleet' }).click();
  await expect(page.getByTestId('fleet-row')).toHaveCount(2);
  await expect(page.getByTestId('fleet-table').locator('th', { hasText: 'Waiting on a lock' })).toBeVisible();
  // One number format for every target's rate.
  for (const cell of await page.getByTestId('fleet-commits').allTextContents()) {
    expect(cell).toMatch(/^(\d+\.\d|\d+(\.\d)?k|—)$/);
  }
  await page.screenshot({ path: 'screenshots/fleet.png', fullPage: true });

  // The search keeps the rows whose name or id holds the text, in any case, as it is typed.
  await expect(page.getByTestId('fleet-count')).toHaveText('2 targets');
  await page.getByTestId('fleet-find').fill('LEG');
  await expect(page.getByTestId('fleet-row').filter({ visible: true })).toHaveCount(1);
  await expect(page.locator('[data-testid="fleet-row"][data-target="legacy"]')).toBeVisible();
  await expect(page.getByTestId('fleet-count')).toHaveText('1 of 2 targets');
  await page.getByTestId('fleet-find').fill('no such target');
  await expect(page.getByTestId('fleet-row').filter({ visible: true })).toHaveCount(0);
  await expect(page.getByTestId('fleet-count')).toHaveText('0 of 2 targets');
  // The same from the address, rendered by the server (a link to a filtered fleet).
  await page.goto(`${demo}/fleet?q=demo`);
  await expect(page.getByTestId('fleet-find')).toHaveValue('demo');
  await expect(page.getByTestId('fleet-row').filter({ visible: true })).toHaveCount(1);
  await expect(page.locator('[data-testid="fleet-row"][data-target="demo"]')).toBeVisible();
  expect(errors).toEqual([]);
});
