// Used by `pgpanel bench`: opens pgpanel's pages in Debian's Chromium (playwright-core, no
// browser download) and reports what they cost the server.
//
//   node bench/page-requests.mjs rates BASE USER PASSWORD SECONDS
//     every page of pages.json, one after the other: requests per second after hydration (the
//     live stream aside), as JSON {"page": rate, ...} on stdout;
//   node bench/page-requests.mjs hold BASE USER PASSWORD SECONDS PATH
//     keeps one page open for SECONDS (the bench measures pgpanel's CPU meanwhile);
//   node bench/page-requests.mjs first-load BASE USER PASSWORD
//     every page the user may see, each as a first visit (an empty cache) on a throttled link
//     (10 Mbit/s, 40 ms round trip, CPU 4x slower, through the DevTools protocol), three times:
//     the time from navigation to hydration (the page's controls work) of the median visit and
//     of the slowest, and the bytes of wasm, JS and CSS fetched, as JSON
//     {"page": {"ms": ..., "worstMs": ..., "bytes": ...}, ...} on stdout.
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
  if (mode === 'first-load') {
    const state = await context.storageState();
    const out = {};
    for (const p of pages) {
      if (p.role === 'admin') continue;
      const path = await pagePath(context, base, p);
      if (!path) continue;
      // Three first visits each (one is noisy at CPU x4): the median one, and the slowest time.
      const runs = [];
      for (let i = 0; i < 3; i += 1) runs.push(await firstLoad(p.signedOut ? undefined : state, `${base}${path}`));
      runs.sort((a, b) => a.ms - b.ms);
      out[p.name] = { ...runs[1], worstMs: runs[2].ms };
    }
    console.log(JSON.stringify(out));
  } else if (mode === 'hold') {
    const page = await open(holdPath);
    await page.waitForTimeout(seconds * 1000);
    await page.close();
    console.log(JSON.stringify({ held: holdPath, seconds }));
  } else {
    const rates = {};
    for (const p of pages) {
      const path = await pagePath(context, base, p);
      if (!path) continue;
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

// One first visit: a fresh context (empty cache), the link and CPU throttled before navigating.
async function firstLoad(storageState, url) {
  const context = await browser.newContext({ storageState });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 40,
      downloadThroughput: 10_000_000 / 8,
      uploadThroughput: 10_000_000 / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    // The moment the app marks itself hydrated, in the page's own clock (0 = navigation start),
    // told through the console: waiting for it costs the page nothing (a locator's polling and
    // the load event's handling would run on the page's main thread while it hydrates).
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('.app[data-hydrated="true"]')) {
          window.__pgpanelHydratedAt = performance.now();
          observer.disconnect();
          console.debug('pgpanel-hydrated');
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
    });
    const hydrated = page.waitForEvent('console', {
      predicate: (m) => m.text() === 'pgpanel-hydrated',
      timeout: 60_000,
    });
    await page.goto(url, { waitUntil: 'commit' });
    await hydrated;
    return await page.evaluate(() => {
      let bytes = 0;
      let wasm = 0;
      for (const e of performance.getEntriesByType('resource')) {
        const path = new URL(e.name).pathname;
        if (/\.(wasm|js|css)$/.test(path)) bytes += e.transferSize;
        if (path.endsWith('.wasm')) wasm = Math.max(wasm, e.responseEnd);
      }
      // wasmMs: when the last byte of the wasm arrived; readyMs: when it was compiled and started
      // (the loader's mark); the rest is parsing the page and hydrating its islands.
      const mark = (name) => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? NaN);
      return {
        ms: Math.round(window.__pgpanelHydratedAt ?? performance.now()),
        wasmMs: Math.round(wasm),
        readyMs: mark('pgpanel:instantiated'),
        parsedMs: Math.round(performance.getEntriesByType('navigation')[0]?.domContentLoadedEventStart ?? NaN),
        bytes,
      };
    });
  } finally {
    await context.close();
  }
}

// The path to open for a page of pages.json: for `detail`, the first statement's detail (none
// yet: null).
async function pagePath(context, base, p) {
  if (!p.detail) return p.path;
  const target = encodeURIComponent(await firstTarget(context, base));
  const top = await (await context.request.get(`${base}/api/queries/top?target=${target}&window=1h`)).json();
  if (!top.rows?.length) return null;
  return `/queries?window=1h&queryid=${encodeURIComponent(top.rows[0].queryid)}`;
}

async function firstTarget(context, base) {
  const targets = await (await context.request.get(`${base}/api/targets`)).json();
  return targets[0].id;
}
