import { expect, type Page, type APIRequestContext } from '@playwright/test';

// The demo seeds admin, dba and analyst with this password when PGPANEL_DEMO_PASSWORD is set
// (playwright.config.ts sets it); the "unreachable" server gets an admin with it from the CLI.
export const PASSWORD = 'e2e demo passphrase';

// Console errors include CSP violations and hydration panics: a clean page has none.
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // With the document it came from: a policy violation names the resource, not the page.
    if (msg.type() === 'error') errors.push(`${msg.text()} [on ${page.url()}]`);
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

export async function hydrated(page: Page) {
  await expect(page.locator('.app[data-hydrated="true"]')).toBeVisible();
}

// Signs in through the login page, as a person would, and waits for the page behind it.
export async function signIn(page: Page, base: string, user: string, next = '/') {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}${next}`);
  await hydrated(page);
  await expect(page.getByTestId('user-name')).toHaveText(user);
}

// Signs an API client in (the cookie stays in the request context).
export async function apiSignIn(request: APIRequestContext, base: string, user: string) {
  const res = await request.post(`${base}/api/auth/login`, {
    form: { username: user, password: PASSWORD },
    headers: { Origin: base },
  });
  expect(res.status()).toBe(200);
}

// Every page, as end2end/pages.json lists it (requests.spec.ts, a11y.spec.ts, the bench).
export type PageSpec = {
  name: string;
  path: string;
  role?: string;
  detail?: boolean;
  signedOut?: boolean;
  most?: Record<string, number>;
};

// The path to open for a page: for `detail`, the Queries page with its first statement's detail
// (just after the demo starts, the first statements sample may not be taken yet).
export async function pagePath(p: PageSpec, request: APIRequestContext, base: string): Promise<string> {
  if (!p.detail) return p.path;
  await apiSignIn(request, base, 'dba');
  let rows: { queryid: string }[] = [];
  await expect
    .poll(
      async () => {
        rows = (await (await request.get(`${base}/api/queries/top?target=demo&window=1h`)).json()).rows;
        return rows.length;
      },
      { timeout: 30_000 },
    )
    .toBeGreaterThan(0);
  return `/queries?target=demo&window=1h&queryid=${encodeURIComponent(rows[0].queryid)}`;
}

// Waits for a demo lock chain with at least 25 s of its 40 s left, so it does not end under the
// test (the graph is sampled every 2 s: a chain is seen that young in several samples). The demo
// builds one every 60 s: billing-batch (the root, idle in transaction) ← web-checkout ←
// web-checkout, and inventory-sync behind the first web-checkout.
// Returns the graph read once the chain is there.
export async function untilLockChain(request: APIRequestContext, base: string) {
  await expect
    .poll(
      async () => {
        const g = await (await request.get(`${base}/api/locks/graph?target=demo`)).json();
        if (g.waiting < 3 || g.roots.length === 0 || g.edges.some((e: { mode: string }) => e.mode === '')) return 0;
        const root = g.nodes.find((n: { session: { pid: number } }) => n.session.pid === g.roots[0].pid);
        return (root?.session.xact_age_ms ?? 99_999) < 15_000 ? g.roots.length : 0;
      },
      { timeout: 90_000, intervals: [500] },
    )
    .toBeGreaterThan(0);
  return (await request.get(`${base}/api/locks/graph?target=demo`)).json();
}

// [] when the document does not scroll sideways; else its width and the elements reaching past
// the edge that are not inside a box that scrolls by itself (wide tables scroll in their own).
export async function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const total = document.documentElement.scrollWidth;
    if (total <= width) return [];
    const culprits = Array.from(document.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .filter((e) => !e.parentElement?.closest('.table-scroll, .table-card, .lk-scroll, pre, svg'))
      .slice(0, 8)
      .map((e) => `${e.tagName.toLowerCase()}.${(e.getAttribute('class') || '').split(' ').join('.')}[${e.getAttribute('data-testid') ?? ''}] → ${Math.round(e.getBoundingClientRect().right)}px`);
    return [`the document is ${total}px wide in ${width}px`, ...culprits];
  });
}
