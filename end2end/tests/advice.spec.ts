import { test, expect } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { apiSignIn, collectErrors, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('a DBA analyses the demo database and reads each finding with its DDL', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'dba', '/advice?target=demo');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Advice · Demo cluster');
  await expect(page.getByTestId('advice-database')).toHaveValue(/database=shop/);
  const analyse = page.getByTestId('advice-refresh');
  // The schedule may be analysing already (a minute after start): then the button waits.
  await expect(analyse).toBeEnabled({ timeout: 60_000 });
  await analyse.click();
  await expect(page.getByTestId('advice-summary')).toContainText('Analysed', { timeout: 30_000 });
  await expect(page.getByTestId('advice-running')).toHaveCount(0, { timeout: 30_000 });

  const group = (kind: string) => page.locator(`[data-testid="advice-group"][data-kind="${kind}"]`);
  // The copy the workload scans less is the one to drop (either, as the planner chose).
  await expect(group('duplicate_index')).toContainText(
    /orders_customer(_id)?_idx is the same index as orders_customer(_id)?_idx/,
  );
  await expect(group('duplicate_index').getByTestId('finding-ddl')).toContainText(
    /^DROP INDEX CONCURRENTLY public\.orders_customer(_id)?_idx;/,
  );
  await expect(group('redundant_index')).toContainText('orders_status_idx is covered by orders_status_created_idx');
  await expect(group('invalid_index')).toContainText('orders_status_uq is invalid');
  await expect(group('invalid_index').getByTestId('finding-ddl')).toContainText(
    'SELECT status, count(*) FROM public.orders GROUP BY status HAVING count(*) > 1;',
  );
  await expect(group('fk_without_index').getByTestId('finding-ddl')).toContainText(
    'CREATE INDEX CONCURRENTLY ON public.order_items (order_id);',
  );
  await expect(group('sequence_exhaustion')).toContainText('public.invoice_no has used 93.1 % of its range');
  await expect(group('unused_index')).toContainText('orders_note_idx has not been scanned');
  await expect(page.getByTestId('advice-counts')).toContainText('critical');
  await page.screenshot({ path: 'screenshots/advice.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('an analyst reads the advice without the button, also on a phone', async ({ page, request }) => {
  const errors = collectErrors(page);
  // A DBA has analysed the database (the analyst cannot).
  await apiSignIn(request, demo, 'dba');
  const started = await request.post(`${demo}/api/advice/refresh`, {
    form: { target: 'demo', database: 'shop' },
    headers: { origin: demo },
  });
  expect(started.status()).toBe(200);
  await expect
    .poll(async () => (await (await request.get(`${demo}/api/advice?target=demo&database=shop`)).json()).running, {
      timeout: 30_000,
    })
    .toBe(false);
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, demo, 'analyst', '/advice?target=demo');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Advice · Demo cluster');
  await expect(page.locator('[data-testid="advice-group"]').first()).toBeVisible();
  await expect(page.getByTestId('advice-refresh')).toHaveCount(0);
  await page.screenshot({ path: 'screenshots/advice-phone.png', fullPage: false });
  // Nothing wider than the screen (the navigation strip scrolls sideways by design).
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => !e.closest('.sidenav'))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
  );
  expect(wide).toEqual([]);
  expect(errors).toEqual([]);
});
