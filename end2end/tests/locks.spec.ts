import { test, expect } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { apiSignIn, collectErrors, hydrated, signIn, untilLockChain } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('the Locks page shows the demo lock chain with the root blocker highlighted', async ({ page, request }) => {
  test.setTimeout(150_000);
  const errors = collectErrors(page);
  await apiSignIn(request, demo, 'dba');
  const graph = await untilLockChain(request, demo);
  const root = graph.roots[0].pid;

  await signIn(page, demo, 'dba');
  await page.goto(`${demo}/locks?target=demo`);
  await expect(page.getByTestId('lock-headline')).toContainText('sessions waiting');
  await expect(page.getByTestId('lock-headline')).toContainText(`root blocker pid ${root}`);
  await expect(page.getByTestId('lock-headline')).toContainText('billing-batch');
  // The root is idle in transaction: both clocks, idle for and the transaction's age.
  await expect(page.getByTestId('lock-headline')).toContainText(/idle in transaction for .+, transaction open \d/);
  const rootNode = page.locator(`[data-testid="lock-node"][data-pid="${root}"]`);
  await expect(rootNode).toHaveAttribute('data-root', 'true');
  await expect(rootNode).toHaveClass(/lk-root/);
  await expect(rootNode.locator('.lk-what')).toContainText(/ROOT · idle .+ · tx \d/);
  await expect(page.locator('.lk-edge').first()).toBeVisible();
  await expect(page.getByTestId('waiting-sessions').locator('tbody tr')).not.toHaveCount(0);
  await expect(page.getByTestId('lock-summary')).toContainText('public.inventory');
  // Row-lock waits name the table (and the row), not only a transaction number; the edge keeps
  // the table on a line of its own.
  await expect(page.locator('.lk-edge-object', { hasText: 'row of public.inventory' }).first()).toBeVisible();
  await expect(page.getByTestId('waits-for').filter({ hasText: /row \(\d+,\d+\) of public\.inventory held by transaction \d+/ }).first()).toBeVisible();
  // The Locks entry of the navigation counts the sessions waiting.
  await expect(page.getByTestId('locks-badge')).toHaveText(/^[1-9]\d*$/);
  // The root is idle in transaction: cancel would do nothing, so it is off, with the reason.
  await expect(page.getByTestId('cancel-backend')).toBeDisabled();
  await expect(page.getByTestId('cancel-off')).toContainText('Only Terminate');
  // The root's details (selected by default) carry the buttons that end it.
  await expect(page.getByTestId('lock-details')).toHaveAttribute('data-pid', String(root));
  await expect(page.getByTestId('session-actions')).toHaveAttribute('data-pid', String(root));
  await page.screenshot({ path: 'screenshots/locks.png', fullPage: true });

  // Clicking a waiter shows its wait, and no buttons (it is not a root).
  const waiter = graph.edges[0].waiter;
  await page.locator(`[data-testid="lock-node"][data-pid="${waiter}"]`).click();
  await expect(page.getByTestId('lock-details')).toHaveAttribute('data-pid', String(waiter));
  await expect(page.getByTestId('lock-details')).toContainText('Waits for');
  await expect(page.getByTestId('session-actions')).toHaveCount(0);

  // Terminate the root blocker: the exact SQL first, then the waiters clear.
  await page.locator(`[data-testid="lock-node"][data-pid="${root}"]`).click();
  await page.getByTestId('terminate-backend').click();
  await expect(page.getByTestId('action-sql')).toContainText('pg_terminate_backend(a.pid, $4::int8)');
  await expect(page.getByTestId('action-sql')).toContainText(`-- $1 = ${root}, `);
  await expect(page.getByTestId('action-confirm')).toContainText(/frees \d+ waiting sessions/);
  await page.screenshot({ path: 'screenshots/locks-terminate.png' });
  const answer = page.waitForResponse((r) => r.url().includes('/api/actions/terminate_backend'));
  await page.getByTestId('action-run').click();
  const res = await answer;
  expect(res.status()).toBe(200);
  expect((await res.json()).gone).toBe(true);
  await expect(page.getByTestId('lock-headline')).toHaveText('No session is waiting on a lock.', {
    timeout: 30_000,
  });
  // The answer stays on screen after the chain (and the root) are gone.
  await expect(page.getByTestId('action-result')).toContainText(`pid ${root} is gone`);
  await expect(page.getByTestId('lock-details-gone')).toBeVisible();
  await expect(page.getByTestId('locks-badge')).toHaveCount(0);

  // …and it is in the audit trail: one entry, the outcome with the intent folded in. The
  // sidebar's Audit link is the whole trail (no target filter hiding sign-ins).
  await expect(page.getByTestId('sidenav').getByRole('link', { name: 'Audit' })).toHaveAttribute('href', '/audit');
  await page.getByTestId('sidenav').getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByTestId('audit-filters')).toBeVisible();
  await page.getByTestId('filter-action').selectOption('terminate_backend');
  await page.getByTestId('filter-object').fill(`pid ${root}`);
  await page.getByTestId('filter-apply').click();
  await page.waitForURL(/action=terminate_backend/);
  await hydrated(page);
  const rows = page.getByTestId('audit-row').filter({ has: page.locator('td.query', { hasText: new RegExp(`^pid ${root}$`) }) });
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toHaveAttribute('data-outcome', 'success');
  await expect(rows.nth(0)).toHaveAttribute('data-intent', /\d+/);
  await expect(rows.nth(0)).toContainText('Terminate session');
  await expect(rows.nth(0)).toContainText(`-- $1 = ${root}, `);
  await expect(rows.nth(0)).toContainText('dba');
  await rows.nth(0).getByTestId('audit-intent').locator('summary').click();
  await expect(rows.nth(0).getByTestId('audit-intent')).toContainText('before anything was sent');
  await page.screenshot({ path: 'screenshots/audit.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('analysts see the graph but no SQL to end a session; the episode is kept', async ({ page, request }) => {
  test.setTimeout(150_000);
  await apiSignIn(request, demo, 'analyst');
  await untilLockChain(request, demo);
  await signIn(page, demo, 'analyst');
  // The Overview says it too: a "waiting on a lock" card, amber or red once a wait is long.
  const lockCard = page.locator('[data-testid="health"][data-key="lock_waiting"]');
  await expect(lockCard).toHaveAttribute('data-level', /level-(warn|critical)/, { timeout: 30_000 });
  await expect(lockCard).toContainText('longest wait');
  await page.screenshot({ path: 'screenshots/overview-locks.png' });
  await page.goto(`${demo}/locks?target=demo`);
  await expect(page.getByTestId('lock-node').first()).toBeVisible();
  await expect(page.getByTestId('read-only-note')).toContainText('need the dba role');
  await expect(page.getByTestId('lock-details')).toBeVisible();
  await expect(page.getByTestId('session-actions')).toHaveCount(0);
  await expect(page.getByTestId('terminate-backend')).toHaveCount(0);

  const history = await (await request.get(`${demo}/api/locks/history?target=demo`)).json();
  expect(history.length).toBeGreaterThan(0);
  expect(history[0].roots.length).toBeGreaterThan(0);
  const peak = await (
    await request.get(`${demo}/api/locks/peak?target=demo&started_ms=${history[0].started_ms}`)
  ).json();
  expect(peak.waiting).toBe(history[0].peak_waiting);
  expect(peak.nodes.length).toBeGreaterThan(0);

  // Repeats of the chain are one group with a count; the newest episode's peak is drawn again.
  const group = page.getByTestId('episode-group').first();
  await expect(group).toHaveAttribute('data-count', /^[1-9]\d*$/);
  const sameRoot = history.filter(
    (e: { roots: { application_name: string }[] }) => e.roots[0]?.application_name === history[0].roots[0]?.application_name,
  ).length;
  expect(Number(await group.getAttribute('data-count'))).toBeGreaterThanOrEqual(Math.min(sameRoot, 2));
  await page.locator(`[data-testid="show-peak"][data-started="${history[0].started_ms}"]`).click();
  await expect(page.getByTestId('lock-peak-title')).toContainText('Peak of the episode');
  await expect(page.getByTestId('lock-peak-title')).toContainText(`${peak.waiting} session`);
  await expect(page.getByTestId('lock-peak').getByTestId('lock-node').first()).toBeVisible();
  await expect(page.getByTestId('lock-peak').getByTestId('session-actions')).toHaveCount(0);
  await page
    .locator('.card', { has: page.getByTestId('lock-history') })
    .screenshot({ path: 'screenshots/locks-peak.png' });
  // Paging and bad input of the grouped list.
  const groups = await (await request.get(`${demo}/api/locks/episodes?target=demo&limit=1`)).json();
  expect(groups.groups.length).toBe(1);
  expect(groups.total_episodes).toBeGreaterThanOrEqual(history.length);
  expect((await request.get(`${demo}/api/locks/episodes?target=demo&offset=-1`)).status()).toBe(400);
  expect((await request.get(`${demo}/api/locks/episodes?target=demo&limit=0`)).status()).toBe(400);
  expect((await request.get(`${demo}/api/locks/episodes?target=nope`)).status()).toBe(404);
  const bad = await request.get(`${demo}/api/locks/graph?target=nope`);
  expect(bad.status()).toBe(404);
});
