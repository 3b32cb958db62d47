import { defineConfig } from '@playwright/test';

// Two pgpanel processes: the demo stack (throwaway PostgreSQL + workload), and a plain `serve`
// watching a fleet of 40 targets that are all down, to check the "unreachable" state and the
// header's switcher with more targets than it lists. Both are release builds made by
// `cargo leptos build --release` before this runs (.ci/test does it).
export const demoPort = Number(process.env.PGPANEL_E2E_PORT ?? 3917);
export const downPort = demoPort + 1;
export const demoUrlFile = `${process.cwd()}/.e2e-demo-url`;

export default defineConfig({
  testDir: './tests',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${demoPort}`,
    viewport: { width: 1440, height: 900 },
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium: never download browsers.
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: [
    {
      command: `../target/release/pgpanel demo --listen 127.0.0.1:${demoPort}`,
      // pgpanel's own messages, without one line per HTTP request; known demo passwords.
      env: {
        RUST_LOG: 'warn,server=info,app=info',
        PGPANEL_DEMO_PASSWORD: 'e2e demo passphrase',
        // The tests open sessions of their own on the demo cluster (see tests/live.spec.ts).
        PGPANEL_DEMO_URL_FILE: demoUrlFile,
      },
      url: `http://127.0.0.1:${demoPort}/readyz`,
      timeout: 120_000,
      reuseExistingServer: false,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      // A fresh store with one admin, then the server, watching 40 servers that are not there.
      command: 'sh fixtures/unreachable-fleet.sh',
      env: { PGPANEL__HTTP__LISTEN: `127.0.0.1:${downPort}`, RUST_LOG: 'warn,server=info,app=info' },
      url: `http://127.0.0.1:${downPort}/readyz`,
      timeout: 60_000,
      reuseExistingServer: false,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
      stdout: 'pipe',
      stderr: 'pipe',
    },
  ],
});
