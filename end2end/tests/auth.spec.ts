import { test, expect } from '@playwright/test';
import { demoPort } from '../playwright.config';
import { PASSWORD, collectErrors, hydrated, signIn } from './helpers';

const demo = `http://127.0.0.1:${demoPort}`;

test('an anonymous visitor signs in and comes back to the page asked for', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/users');
  await expect(page).toHaveURL(`${demo}/login?next=/users`);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByTestId('sidenav')).toHaveCount(0);
  await page.screenshot({ path: 'screenshots/login.png', fullPage: true });

  // A wrong password: one calm message, the same as for an unknown user, and still here.
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Invalid username or password.');
  await expect(page).toHaveURL(/\/login/);
  await page.screenshot({ path: 'screenshots/login-error.png', fullPage: true });
  await page.getByLabel('Username').fill('nobody-here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(alert).toContainText('Invalid username or password.');

  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${demo}/users`);
  await hydrated(page);
  await expect(page.getByTestId('user-name')).toHaveText('admin');
  await expect(page.getByTestId('user-role')).toHaveText('admin');
  await expect(page.getByTestId('users-table')).toBeVisible();
  // The session cookie is invisible to scripts.
  expect(await page.evaluate(() => document.cookie)).not.toContain('pgpanel_session');
  // The console may show the 401 of the failed sign-ins; nothing else.
  expect(errors.filter((e) => !e.includes('status of 401'))).toEqual([]);
});

test('an admin manages users on the Users page', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'admin', '/users');
  const rows = page.getByTestId('user-row');
  await expect(rows).toHaveCount(3);
  await expect(page.getByTestId('sidenav').getByRole('link', { name: 'Users' })).toBeVisible();

  // Add a user; a bad one first gets a clear message and changes nothing.
  const form = page.getByTestId('add-user-form');
  await form.getByLabel('Username').fill('Night.Shift');
  await form.getByLabel('Password').fill('short but ok?');
  await form.getByLabel('Role').selectOption('dba');
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('users-notice')).toContainText('Added night.shift (dba).');
  await expect(rows).toHaveCount(4);
  await expect(form.getByLabel('Username')).toHaveValue('');
  await expect(form.getByLabel('Password')).toHaveValue('');
  await form.getByLabel('Username').fill('night.shift');
  await form.getByLabel('Password').fill('another long password');
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('users-notice')).toContainText('already exists');
  await expect(rows).toHaveCount(4);

  // Change the role, disable and enable again.
  const row = page.locator('[data-testid="user-row"][data-username="night.shift"]');
  await row.getByLabel('Role of night.shift').selectOption('analyst');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('users-notice')).toContainText('Saved night.shift.');
  await expect(row.getByLabel('Role of night.shift')).toHaveValue('analyst');
  await row.getByTestId('toggle-disabled').click();
  await expect(row.getByText('Disabled', { exact: true })).toBeVisible();
  await page.screenshot({ path: 'screenshots/users.png', fullPage: true });
  // The row the server re-read offers the opposite: click that one, not one being replaced.
  // Its name says whose row it is (the user's name is visually hidden after the word).
  await expect(row.getByTestId('toggle-disabled')).toHaveAccessibleName('Enable night.shift');
  await expect(row.getByTestId('toggle-disabled')).toHaveText(/^Enable\b/);
  await row.getByTestId('toggle-disabled').click();
  await expect(row.getByText('Enabled', { exact: true })).toBeVisible();

  // The last admin cannot demote themselves.
  const me = page.locator('[data-testid="user-row"][data-username="admin"]');
  await me.getByLabel('Role of admin').selectOption('dba');
  await me.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('users-notice')).toContainText('last enabled admin');
  // The form shows what the server has, not what was picked.
  await expect(me.getByLabel('Role of admin')).toHaveValue('admin');
  await page.screenshot({ path: 'screenshots/users-error.png', fullPage: true });
  expect(errors.filter((e) => !e.includes('status of 409') && !e.includes('status of 400'))).toEqual([]);
});

test('an admin sees this instance on the Cluster page', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'admin', '/cluster');
  await expect(page.getByTestId('sidenav').getByRole('link', { name: 'Cluster' })).toBeVisible();
  const row = page.getByTestId('cluster-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-state', 'running');
  await expect(row).toContainText('this instance');
  // The demo watches two targets: this instance samples both.
  await expect(row).toContainText('2 targets');
  await expect(row).toContainText('demo, legacy');
  // The demo's store is a SQLite file: the page says what sharing needs.
  await expect(page.getByTestId('cluster-summary')).toContainText('SQLite file');
  const api = await page.request.get('/api/cluster');
  expect(api.status()).toBe(200);
  const body = await api.json();
  expect(body.store).toBe('sqlite');
  expect(body.instances[0].this).toBe(true);
  await page.screenshot({ path: 'screenshots/cluster.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('an analyst sees every view but no admin page, and signs out', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, demo, 'analyst');
  await expect(page.getByTestId('user-role')).toHaveText('analyst');
  const nav = page.getByTestId('sidenav');
  await expect(nav.getByRole('link', { name: 'Overview' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Cluster' })).toHaveCount(0);
  for (const view of ['Activity', 'Queries', 'Fleet']) {
    await expect(nav.getByRole('link', { name: view })).toBeVisible();
  }
  await expect(page.getByTestId('target-card')).toHaveCount(1);

  const res = await page.goto('/users');
  expect(res?.status()).toBe(403);
  await hydrated(page);
  await expect(page.getByTestId('denied')).toContainText('needs the admin role');
  await expect(page.getByTestId('denied')).toContainText(/signed in as \w+, whose role is \w+\./);
  await expect(page.getByTestId('users-table')).toHaveCount(0);
  await page.screenshot({ path: 'screenshots/forbidden.png', fullPage: true });
  const api = await page.request.get('/api/users');
  expect(api.status()).toBe(403);

  await page.getByTestId('logout').click();
  await page.waitForURL(`${demo}/login`);
  const again = await page.request.get('/api/auth/me');
  expect(again.status()).toBe(401);
  await page.goto('/');
  await expect(page).toHaveURL(`${demo}/login?next=/`);
  expect(errors.filter((e) => !e.includes('status of 403'))).toEqual([]);
});

test('a dba sees the views without user management', async ({ page }) => {
  await signIn(page, demo, 'dba');
  await expect(page.getByTestId('user-role')).toHaveText('dba');
  await expect(page.getByTestId('sidenav').getByRole('link', { name: 'Users' })).toHaveCount(0);
  const res = await page.request.get('/api/users');
  expect(res.status()).toBe(403);
  expect((await page.request.get('/api/cluster')).status()).toBe(403);
  expect((await page.goto('/cluster'))?.status()).toBe(403);
  const forged = await page.request.post('/api/users/create', {
    form: { username: 'x1', password: 'forged password', role: 'admin' },
    headers: { Origin: 'http://evil.example' },
  });
  expect(forged.status()).toBe(403);
});
