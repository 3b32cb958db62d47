// Used by `pgpanel bench`: opens pgpanel's pages in Debian's Chromium (playwright-core, no
// browser download) and reports what they cost the server.
//
//   node bench/page-requests.mjs rates BASE USER PASSWORD SECONDS
//     every page of pages.json, one after the other: requests per second after hydration (the
//     live stream aside), as JSON {"page": rate, ...} on stdout;
//   node bench/page-requests.mjs hold BASE USER PASSWORD SECONDS PATH
//     keeps one page open for SECONDS (the bench measures pgpanel's CPU meanwhile).
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [mode, base, user, password, secondsText, holdPath] = process.argv.slice(2);
const seconds = Number(secondsText ?? 10);
const { pages } = JSON.parse(readFileSync(new URL('../pages.json', import.meta.url), 'utf8'));

const browser = await chromium.launch({
  executablePath: process.env.PGPANEL_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const context = await browser.newContext();
  const signIn = await context.request.post(`${base}/api/auth/login`, {
    form: { username: user, password },
    headers: { Origin: base },
  });
  if (signIn.status() !== 200) throw new Error(`sign-in failed: ${signIn.status()}`);
  const open = async (path) => {
    const page = await context.newPage();
    await page.goto(`${base}${path}`);
    await page.locator('.app[data-hydrated="true"]').waitFor({ timeout: 30_000 });
    return page;
  };
  if (mode === 'hold') {
    const page = await open(holdPath);
    await page.waitForTimeout(seconds * 1000);
    await page.close();
    console.log(JSON.stringify({ held: holdPath, seconds }));
  } else {
    const rates = {};
    for (const p of pages) {
      let path = p.path;
      if (p.detail) {
        const target = encodeURIComponent(await firstTarget(context, base));
        const top = await (await context.request.get(`${base}/api/queries/top?target=${target}&window=1h`)).json();
        if (!top.rows?.length) continue;
        path = `/queries?window=1h&queryid=${encodeURIComponent(top.rows[0].queryid)}`;
      }
      const page = await open(path);
      let n = 0;
      page.on('request', (r) => { if (new URL(r.url()).pathname !== '/live') n += 1; });
      await page.waitForTimeout(seconds * 1000);
      rates[p.name] = n / seconds;
      await page.close();
    }
    console.log(JSON.stringify(rates));
  }
} finally {
  await browser.close();
}

async function firstTarget(context, base) {
  const targets = await (await context.request.get(`${base}/api/targets`)).json();
  return targets[0].id;
}
