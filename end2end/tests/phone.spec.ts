import { test, expect, type Page } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { apiSignIn, axe, collectErrors, hydrated, sidewaysOverflow, signIn, tabLeavesDialog, untilLockChain } from './helpers';

// The main flows on a phone (390 × 844), by keyboard where a keyboard user would: find and end
// a lock chain, VACUUM with progress, filter the audit trail.
const demo = `http://127.0.0.1:${demoPort}`;
test.use({ viewport: { width: 390, height: 844 } });

async function fitsTheScreen(page: Page, testid: string) {
  const box = await page.getByTestId(testid).boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  expect(box!.y + box!.height).toBeLessThanOrEqual(844);
}

test('on a phone, a DBA finds the lock chain, reads a waiter by keyboard and ends the root', async ({ page, request }) => {
  test.setTimeout(150_000);
  const errors = collectErrors(page);
  await apiSignIn(request, demo, 'dba');
  const graph = await untilLockChain(request, demo);
  const root = graph.roots[0].pid;
  const waiter = graph.edges.find((e: { blocker: number }) => e.blocker === root).waiter;

  await signIn(page, demo, 'dba', '/locks?target=demo');
  await expect(page.getByTestId('lock-headline')).toContainText(`root blocker pid ${root}`);
  await expect(page.getByTestId('lock-announce')).toContainText(`root blocker pid ${root}`);
  const rootNode = page.locator(`[data-testid="lock-node"][data-pid="${root}"]`);
  await expect(rootNode).toBeInViewport();
  await expect(rootNode).toHaveAccessibleName(new RegExp(`^pid ${root} · .*ROOT`));
  await expect(rootNode).toHaveAccessibleDescription(new RegExp(`^pid ${root}, .*root blocker`));
  expect(await sidewaysOverflow(page)).toEqual([]);

  // The nodes are buttons: Enter on a waiter shows its details.
  const waiterNode = page.locator(`[data-testid="lock-node"][data-pid="${waiter}"]`);
  await expect(waiterNode).toHaveAttribute('role', 'button');
  await expect(waiterNode).toHaveAccessibleDescription(new RegExp(`blocked by pid .*${root}`));
  await waiterNode.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('lock-details')).toHaveAttribute('data-pid', String(waiter));
  // On a phone the details come below the graph, not beside it.
  const graphBox = (await page.getByTestId('lock-graph').boundingBox())!;
  const detailsBox = (await page.getByTestId('lock-details').boundingBox())!;
  expect(detailsBox.y).toBeGreaterThanOrEqual(graphBox.y + graphBox.height - 1);
  expect(detailsBox.x + detailsBox.width).toBeLessThanOrEqual(390);
  await rootNode.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('lock-details')).toHaveAttribute('data-pid', String(root));

  // Terminate: a red dialog that fits the screen; Escape closes it and focus comes back.
  const terminate = page.getByTestId('terminate-backend');
  await terminate.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: `Terminate the session of pid ${root}?` });
  await expect(dialog).toBeVisible();
  await expect(dialog).toHaveClass(/danger/);
  await fitsTheScreen(page, 'action-confirm');
  expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
  // Tab stays in the dialog (the page behind is inert), and the open dialog passes axe-core.
  expect(await tabLeavesDialog(page, 8)).toEqual([]);
  expect((await axe(page)).serious).toEqual([]);
  await page.screenshot({ path: 'screenshots/phone-locks-terminate.png' });
  await page.keyboard.press('Escape');
  // Gone from the page, not only closed (the page drops it on the dialog's close event, which
  // comes after the browser has given focus back: an Enter before it reopens nothing).
  await expect(page.getByTestId('action-confirm')).toHaveCount(0);
  await expect(terminate).toBeFocused();

  await page.keyboard.press('Enter');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('action-run').click();
  await expect(page.getByTestId('lock-headline')).toHaveText('No session is waiting on a lock.', { timeout: 30_000 });
  await expect(page.getByTestId('action-result')).toContainText(`pid ${root} is gone`);
  await expect(page.getByTestId('lock-announce')).toHaveText('No session is waiting on a lock.');
  await page.screenshot({ path: 'screenshots/phone-locks.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('on a phone, a DBA runs VACUUM from the keyboard and follows it to the end', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'dba', '/maintenance?order=dead');
  const events = page.locator('[data-testid="table-row"][data-table="public.events"]');
  await expect(events).toHaveCount(1);
  expect(await sidewaysOverflow(page)).toEqual([]);
  const vacuum = events.getByTestId('vacuum');
  // Each row's button says which table it vacuums.
  await expect(vacuum).toHaveAccessibleName('VACUUM… public.events');
  await vacuum.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: /^VACUUM public\.events in / });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('job-sql')).toHaveText('VACUUM (ANALYZE) public.events;');
  await fitsTheScreen(page, 'job-dialog');
  expect(await tabLeavesDialog(page, 8)).toEqual([]);
  expect((await axe(page)).serious).toEqual([]);
  await page.screenshot({ path: 'screenshots/phone-vacuum.png' });
  await page.keyboard.press('Escape');
  // Gone from the page, not only closed (the page drops it on the dialog's close event, which
  // comes after the browser has given focus back: an Enter before it reopens nothing).
  await expect(page.getByTestId('job-dialog')).toHaveCount(0);
  await expect(vacuum).toBeFocused();

  await page.keyboard.press('Enter');
  await dialog.getByTestId('job-run').click();
  await expect(dialog).toHaveCount(0);
  const job = page.locator('[data-testid="job-row"]', { hasText: 'VACUUM (ANALYZE) public.events;' }).first();
  await expect(job).toHaveAttribute('data-state', /running|succeeded/);
  await expect(job).toHaveAttribute('data-state', 'succeeded', { timeout: 60_000 });
  await expect(page.getByTestId('job-announce')).toHaveText(/^Job \d+: VACUUM public\.events succeeded\.$/);
  await page.screenshot({ path: 'screenshots/phone-vacuum-done.png', fullPage: true });
  expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
});

test('on a phone, an analyst filters the audit trail through the menu', async ({ page }) => {
  await signIn(page, demo, 'analyst', '/activity');
  await page.getByTestId('menu-button').click();
  await page.getByTestId('sidenav').getByRole('link', { name: 'Audit' }).click();
  await page.waitForURL(/\/audit$/);
  await hydrated(page);
  await page.getByTestId('filter-action').selectOption({ label: 'Sign-ins and sign-outs' });
  await page.getByTestId('filter-apply').click();
  await page.waitForURL(/action=/);
  await hydrated(page);
  const rows = page.getByTestId('audit-row');
  await expect(rows.first()).toBeVisible();
  await expect(rows.first()).toHaveAttribute('data-action', /^auth\./);
  expect(await sidewaysOverflow(page)).toEqual([]);
  await page.screenshot({ path: 'screenshots/phone-audit.png', fullPage: true });
});

test('on a phone, the sessions of Activity and the waiting sessions of Locks are cards', async ({ page, request }) => {
  test.setTimeout(150_000);
  await apiSignIn(request, demo, 'dba');
  await untilLockChain(request, demo);
  await signIn(page, demo, 'dba', '/activity?target=demo');
  const row = page.getByTestId('session').first();
  await expect(row).toBeVisible();
  // A card: the row is a block, each value follows its column's name.
  expect(await row.evaluate((r) => getComputedStyle(r).display)).toBe('block');
  const state = row.locator('td[data-label="State"]');
  expect(await state.evaluate((c) => getComputedStyle(c, '::before').content)).toMatch(/State|attr\(data-label\)/);
  expect(await state.evaluate((c) => getComputedStyle(c).display)).toBe('block');
  // The sortable headers are a "Sort by" strip of buttons above the cards.
  const sortBy = page.locator('[data-testid="sessions"] thead');
  await expect(sortBy.getByRole('button', { name: 'In state' })).toBeVisible();
  await sortBy.getByRole('button', { name: 'Transaction' }).click();
  await expect(page.locator('[data-testid="sessions"] th[aria-sort="descending"]')).toContainText('Transaction');
  const cardsWidth = await page.getByTestId('sessions').evaluate((t) => t.getBoundingClientRect().width);
  expect(cardsWidth).toBeLessThanOrEqual(390);
  expect(await sidewaysOverflow(page)).toEqual([]);
  await page.screenshot({ path: 'screenshots/phone-activity-cards.png', fullPage: true });

  await page.goto(`${demo}/locks?target=demo`);
  await hydrated(page);
  const waiting = page.locator('[data-testid="waiting-sessions"] tbody tr').first();
  await expect(waiting).toBeVisible();
  expect(await waiting.evaluate((r) => getComputedStyle(r).display)).toBe('block');
  await expect(page.locator('[data-testid="waiting-sessions"] thead')).toBeHidden();
  expect(await sidewaysOverflow(page)).toEqual([]);
  await page.getByTestId('waiting-sessions').scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/phone-locks-cards.png', fullPage: true });
});
