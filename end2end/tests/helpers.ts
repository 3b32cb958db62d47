import { expect, type Page, type APIRequestContext } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

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
// (just after the demo starts there may be none yet: statements show from the second
// pg_stat_statements read, which comes every 60 s while no Queries page is open).
export async function pagePath(p: PageSpec, request: APIRequestContext, base: string): Promise<string> {
  if (!p.detail) return p.path;
  await apiSignIn(request, base, 'dba');
  let rows: { queryid: string }[] = [];
  const top = async () =>
    (await (await request.get(`${base}/api/queries/top?target=demo&window=1h`)).json()).rows;
  rows = await top();
  if (rows.length > 0) return detailPath(rows[0].queryid);
  // Follow the statements topic as a Queries page does: the sampler then reads every slow tick.
  await whileWatching(request, base, 'statements', () =>
    expect
      .poll(
        async () => {
          rows = await top();
          return rows.length;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0),
  );
  return detailPath(rows[0].queryid);
}

// Runs `wait` while a /live stream follows `topics` of the demo target, as an open page of it
// would (`request` signed in): the sampler then reads every second, where it reads every 5 s
// while nobody watches (monitor.live_idle_interval_ms).
async function whileWatching<T>(request: APIRequestContext, base: string, topics: string, wait: () => Promise<T>): Promise<T> {
  const cookie = (await request.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const stream = new AbortController();
  const live = fetch(`${base}/live?target=demo&topics=${topics}`, {
    headers: { Cookie: cookie, Accept: 'text/event-stream' },
    signal: stream.signal,
  }).catch(() => undefined);
  try {
    return await wait();
  } finally {
    stream.abort();
    await live;
  }
}

function detailPath(queryid: string): string {
  return `/queries?target=demo&window=1h&queryid=${encodeURIComponent(queryid)}`;
}

// Waits for a demo lock chain with at least 25 s of its 40 s left, so it does not end under the
// test (the graph is sampled every 2 s: a chain is seen that young in several samples). The demo
// builds one every 60 s: billing-batch (the root, idle in transaction) ← web-checkout ←
// web-checkout, and inventory-sync behind the first web-checkout.
// Returns the graph read once the chain is there. It follows the demo's locks meanwhile, as the
// Locks page does (`request` signed in), so the graph is sampled at the watched cadence.
export async function untilLockChain(request: APIRequestContext, base: string) {
  return whileWatching(request, base, 'overview,locks', async () => {
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
  });
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

// axe-core's WCAG 2.1 A and AA rules on the page as it is now (an open dialog included): every
// violation, and the serious or critical ones as one line each (what fails a test).
export async function axe(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
  return { violations: results.violations, serious };
}

// Controls repeated on every row of a table (or every finding of Advice) must say which row
// they act on: a screen reader's list of buttons offers "VACUUM… public.events", not ten
// "VACUUM…". Returns the names that more than one such control has (with the count); [] when
// each is its own. The name is the aria-label or the text, hidden words included; links with one
// name and one destination are one purpose (WCAG 2.4.4) and pass.
export async function sameNamedRowControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const seen = new Map<string, Set<string>>();
    const controls = document.querySelectorAll(
      'table tbody tr :is(button, a[href], summary, input:not([type=hidden]), select), .finding :is(button, a[href], summary)',
    );
    Array.from(controls).forEach((c, i) => {
      const name = (c.getAttribute('aria-label') ?? c.textContent ?? '').replace(/\s+/g, ' ').trim();
      if (!name) return;
      const does = c.tagName === 'A' ? (c.getAttribute('href') ?? '') : `control ${i}`;
      seen.set(name, (seen.get(name) ?? new Set()).add(does));
    });
    return Array.from(seen.entries())
      .filter(([, d]) => d.size > 1)
      .map(([name, d]) => `${d.size}× "${name}"`);
  });
}

// Presses Tab `presses` times with a modal dialog open; returns where focus went that is neither
// in the open dialog nor the browser's own (the document body): [] when focus stays inside.
export async function tabLeavesDialog(page: Page, presses: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const where = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a || a === document.body || a.closest('dialog[open]')) return '';
      return `${a.tagName.toLowerCase()}.${a.className}[${a.getAttribute('data-testid') ?? ''}] "${(a.textContent ?? '').trim().slice(0, 40)}"`;
    });
    if (where) out.push(`Tab ${i + 1}: ${where}`);
  }
  return out;
}
