import { test, expect, type APIRequestContext } from '@playwright/test';
import { demoPort, downPort } from '../playwright.config';
import { apiSignIn, collectErrors, hydrated, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;
const down = `http://127.0.0.1:${downPort}`;

type Target = { status: { state: string }; databases: unknown };

// Targets are checked a moment after the server answers /readyz: wait until every one of them
// is in `state` (and, when up, has its database sizes).
async function waitForTargets(request: APIRequestContext, base: string, state: string) {
  await apiSignIn(request, base, 'admin');
  await expect
    .poll(
      async () => {
        const res = await request.get(`${base}/api/targets`);
        const targets: Target[] = await res.json();
        return (
          targets.length > 0 &&
          targets.every((t) => t.status.state === state && (state !== 'up' || t.databases))
        );
      },
      { timeout: 60_000 },
    )
    .toBeTruthy();
}

test.beforeAll(async ({ request }) => {
  await waitForTargets(request, demo, 'up');
  await waitForTargets(request, down, 'unreachable');
});

test('the server renders the Overview with the data in the HTML and a nonce CSP', async ({ request }) => {
  await apiSignIn(request, demo, 'analyst');
  const res = await request.get(`${demo}/`);
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toContain('Demo cluster');
  expect(html).toMatch(/PostgreSQL 1\d\.\d+/);
  expect(html).toContain('shop');
  expect(html).toContain('pgpanel_monitor');

  const csp = res.headers()['content-security-policy'];
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain("'unsafe-eval'");
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).toContain("frame-ancestors 'none'");
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce).toBeTruthy();
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  expect(scripts.length).toBeGreaterThan(0);
  for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  expect(res.headers()['x-content-type-options']).toBe('nosniff');
  expect(res.headers()['referrer-policy']).toBe('same-origin');
});

test('the Overview hydrates, sorts databases on click and switches theme', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'dba');

  // One target per Overview: the first, or the one in ?target=.
  await expect(page.getByTestId('target-card')).toHaveCount(1);
  const card = page.locator('[data-testid="target-card"][data-target="demo"]');
  await expect(card).toHaveAttribute('data-state', 'up');
  await expect(card.getByTestId('status-line')).toContainText('Up');
  const names = card.locator('[data-testid="database-table"] tbody td.name');

  // Default: largest first. The shop database carries the workload.
  await expect(names.first()).toHaveText('shop');
  await card.getByTestId('sort-name').click();
  await expect(names).toHaveText(['postgres', 'shop']);
  await expect(card.locator('th[aria-sort="ascending"]')).toContainText('Database');
  await card.getByTestId('sort-name').click();
  await expect(names).toHaveText(['shop', 'postgres']);

  await expect(card.getByTestId('capabilities').locator('li.ok')).toHaveCount(7);
  await expect(card.getByTestId('capabilities')).toContainText('pg_read_all_stats');
  await expect(card.getByTestId('capabilities')).toContainText('pg_stat_statements');

  await page.screenshot({ path: 'screenshots/overview-facts.png', fullPage: true });

  // Theme: system -> dark, remembered across a reload (rendered by the server from the cookie).
  const app = page.locator('.app');
  await expect(app).toHaveAttribute('data-theme', 'auto');
  await page.getByTestId('theme-toggle').click();
  await expect(app).toHaveAttribute('data-theme', 'dark');
  // The whole document switches (the root element carries the choice), not only the app.
  const rootScheme = () => page.evaluate(() => getComputedStyle(document.documentElement).colorScheme);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await rootScheme()).toBe('dark');
  await page.reload();
  await hydrated(page);
  await expect(app).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await rootScheme()).toBe('dark');
  await page.screenshot({ path: 'screenshots/overview-dark.png', fullPage: true });

  expect(errors).toEqual([]);
});

test('missing capabilities say what to run, with a copy button', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst', '/?target=legacy');
  const legacy = page.locator('[data-testid="target-card"][data-target="legacy"]');
  await expect(legacy).toHaveAttribute('data-state', 'up');
  const caps = legacy.getByTestId('capabilities');
  await expect(caps.locator('li.missing')).toHaveCount(6);
  // The legacy cluster logs to stderr without the collector: the Logs page cannot read it.
  await expect(caps.locator('li[data-capability="server_log"] pre code')).toContainText(
    'ALTER SYSTEM SET logging_collector = on;',
  );
  // Missing ones come first, each with the exact SQL.
  const monitor = caps.locator('li[data-capability="pg_monitor"]');
  await expect(monitor.locator('pre code')).toHaveText('GRANT pg_monitor TO legacy_monitor;');
  await expect(caps.locator('li[data-capability="track_io_timing"] pre code')).toContainText(
    'ALTER SYSTEM SET track_io_timing = on;',
  );
  await expect(caps.locator('li[data-capability="pg_stat_statements"] pre code')).toHaveText(
    'CREATE EXTENSION pg_stat_statements;',
  );
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await monitor.getByRole('button', { name: 'Copy' }).click();
  await expect(monitor.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
    'GRANT pg_monitor TO legacy_monitor;',
  );
  // And the whole of it as one script.
  await expect(legacy.getByTestId('setup-sql-hint')).toContainText('pgpanel setup-sql --target legacy');
  await legacy.scrollIntoViewIfNeeded();
  await legacy.screenshot({ path: 'screenshots/overview-missing-capabilities.png' });
  expect(errors).toEqual([]);
});

test('an unreachable target says since when and why, and pgpanel stays up', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, down, 'admin');
  const card = page.getByTestId('target-card');
  await expect(card).toHaveAttribute('data-state', 'unreachable');
  const status = card.getByTestId('status-line');
  await expect(status).toContainText('Unreachable since');
  await expect(status).toContainText('connection refused');
  await expect(page.getByTestId('health-none')).toBeVisible();
  await expect(card).toContainText('pgpanel_monitor@127.0.0.1:1/postgres');
  const html = await page.content();
  expect(html).not.toContain('not-a-real-password');
  await page.screenshot({ path: 'screenshots/overview-unreachable.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('with 40 targets the switcher lists the worst few and searches the rest on the Fleet page', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, down, 'admin', '/activity?target=shard-20');
  const sw = page.getByTestId('target-switch');
  // The chosen target, the first ten that are not up, and the way to every one of them.
  await expect(sw.locator('option')).toHaveCount(12);
  await expect(sw.locator('option').first()).toHaveText('○ Shard 20');
  await expect(sw.locator('option:checked')).toHaveText('○ Shard 20');
  await expect(sw.locator('optgroup')).toHaveAttribute('label', 'Not up (10 shown)');
  await expect(sw.locator('optgroup option').first()).toHaveText('○ Reporting replica');
  await expect(page.getByTestId('target-switch-all')).toHaveText('All 40 targets…');
  // Another target keeps the page.
  await sw.selectOption('shard-03');
  await page.waitForURL(`${down}/activity?target=shard-03`);
  await hydrated(page);
  await expect(page.getByTestId('target-switch').locator('option:checked')).toHaveText('○ Shard 03');
  await page.screenshot({ path: 'screenshots/switcher-fleet.png' });

  // The search box opens the Fleet page filtered (a plain form): odd names are found.
  const find = page.getByTestId('target-find').getByRole('searchbox', { name: 'Find a target' });
  await expect(find).toHaveAttribute('placeholder', 'Find among 40 targets');
  await find.fill('zürich');
  await find.press('Enter');
  await page.waitForURL(`${down}/fleet?q=z%C3%BCrich`);
  await hydrated(page);
  await expect(page.getByTestId('fleet-count')).toHaveText('1 of 40 targets');
  const row = page.getByTestId('fleet-row').filter({ visible: true });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('Zürich "east" replica');
  await row.getByRole('link').click();
  await page.waitForURL(`${down}/?target=zurich-east`);
  await expect(page.getByTestId('target-card')).toContainText('Zürich "east" replica');

  // The last entry opens the Fleet page with every target, worst first.
  await page.getByTestId('target-switch').selectOption({ label: 'All 40 targets…' });
  await page.waitForURL(`${down}/fleet`);
  await expect(page.getByTestId('fleet-count')).toHaveText('40 targets');
  await expect(page.getByTestId('fleet-row')).toHaveCount(40);

  // A phone keeps the switcher (the search is on the Fleet page there).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${down}/activity?target=zurich-east`);
  await hydrated(page);
  await expect(page.getByTestId('target-switch')).toBeVisible();
  await expect(page.getByTestId('target-find')).toBeHidden();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'screenshots/switcher-fleet-phone.png' });
  expect(errors).toEqual([]);
});

test('unknown pages get a real 404 inside the frame', async ({ page }) => {
  await signIn(page, demo, 'analyst');
  const res = await page.goto('/no/such/page');
  expect(res?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Overview' }).first()).toBeVisible();
  await page.screenshot({ path: 'screenshots/not-found.png' });
});

test('the JSON API answers with the contract statuses', async ({ request }) => {
  const anonymous = await request.get(`${demo}/api/targets`);
  expect(anonymous.status()).toBe(401);
  expect((await anonymous.json()).kind).toBe('unauthorized');
  await apiSignIn(request, demo, 'analyst');
  const targets = await request.get(`${demo}/api/targets`);
  expect(targets.status()).toBe(200);
  expect(targets.headers()['content-type']).toContain('application/json');
  const body = await targets.json();
  expect(body.map((t: { id: string }) => t.id)).toEqual(['demo', 'legacy']);

  const unknown = await request.get(`${demo}/api/no-such-endpoint`);
  expect(unknown.status()).toBe(404);
  expect((await unknown.json()).kind).toBe('not_found');

  const wrongMethod = await request.post(`${demo}/api/targets`, { headers: { Origin: demo } });
  expect(wrongMethod.status()).toBe(405);
  expect((await wrongMethod.json()).kind).toBe('method_not_allowed');
});
