import { test, expect } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { collectErrors, hydrated, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('analysts read the audit trail: newest first, filtered by the form, text only', async ({ page, request }) => {
  const errors = collectErrors(page);
  // A failed sign-in whose name would be markup if it were rendered as HTML.
  const res = await request.post(`${demo}/api/auth/login`, {
    form: { username: 'nobody', password: '<b>not-a-password</b>' },
    headers: { Origin: demo },
  });
  expect(res.status()).toBe(401);

  await signIn(page, demo, 'analyst', '/activity?target=demo');
  // From a page of one target, the Audit link is still the whole trail: sign-ins and refusals
  // have no target.
  await expect(page.getByTestId('sidenav').getByRole('link', { name: 'Audit' })).toHaveAttribute('href', '/audit');
  await page.getByTestId('sidenav').getByRole('link', { name: 'Audit' }).click();
  await page.waitForURL(/\/audit$/);
  await hydrated(page);
  // The analyst's own sign-in is the newest sign-in, labelled for people next to its code.
  const login = page.locator('[data-testid="audit-row"][data-action="auth.login"]').first();
  await expect(login).toHaveAttribute('data-outcome', 'success');
  await expect(login).toContainText('analyst');
  await expect(login).toContainText('Sign-in');
  await expect(login).toContainText('auth.login');

  // Time presets beside the RFC 3339 fields.
  await page.getByTestId('audit-preset').filter({ hasText: 'Last hour' }).click();
  await page.waitForURL(/since=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\dZ/);
  await hydrated(page);
  await expect(page.getByTestId('filter-since')).toHaveValue(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await expect(login).toBeVisible();

  // Sign-ins that failed: the form's choices become the URL (a link to paste elsewhere).
  await page.getByTestId('filter-action').selectOption({ label: 'Sign-ins and sign-outs' });
  await page.getByTestId('filter-outcome').selectOption('failure');
  await page.getByTestId('filter-apply').click();
  await page.waitForURL(/outcome=failure/);
  await hydrated(page);
  const rows = page.getByTestId('audit-row');
  await expect(rows.first()).toBeVisible();
  for (const outcome of await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-outcome')))) {
    expect(outcome).toBe('failure');
  }
  await expect(rows.first().getByTestId('audit-error')).toContainText('unknown user');
  await expect(page.getByTestId('filter-outcome')).toHaveValue('failure');
  await page.screenshot({ path: 'screenshots/audit-filtered.png', fullPage: true });

  // A bad parameter is explained, not a blank page.
  await page.goto(`${demo}/audit?since=yesterday`);
  await expect(page.getByRole('alert')).toContainText('since must be an RFC 3339 time');
  expect(errors.filter((e) => !e.includes('status of 400'))).toEqual([]);
});

test('a flood of forged requests is one row as it happens and one count when the minute ends', async ({ page, request }) => {
  test.setTimeout(120_000);
  // 40 POSTs with long paths and no Origin, as a script would send them.
  const path = `/${'A'.repeat(2000)}`;
  for (let i = 0; i < 40; i++) {
    const res = await request.fetch(`${demo}${path}${i}?password=secret${i}`, { method: 'POST' });
    expect(res.status()).toBe(403);
  }
  await signIn(page, demo, 'analyst', '/audit?action=request.forged');
  const rows = page.locator('[data-testid="audit-row"][data-action="request.forged"]');
  await expect(rows.first()).toBeVisible();
  // The summary comes once the minute is over (the timer writes it within 10 s).
  await expect
    .poll(
      async () => {
        await page.reload();
        await hydrated(page);
        return page.locator('[data-testid="audit-row"]', { hasText: 'more like this in the same minute' }).count();
      },
      { timeout: 90_000, intervals: [5_000] },
    )
    .toBeGreaterThan(0);
  const html = await page.content();
  expect(html).not.toContain('secret');
  expect(html).not.toContain('A'.repeat(300));
  await page.screenshot({ path: 'screenshots/audit-refusals.png', fullPage: true });
});
