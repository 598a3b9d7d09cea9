/**
 * The console's pages over a large deployment: 50,000 customers and 200,000 ledger entries (cart
 * abandonment, folded into the rollups as the schedule would), each page fetched signed in as an
 * operator, ROUNDS times; printed per page: p50 and p95 beside the baseline of the same run (the
 * sign-in page, which reads nothing), with the machine's load.
 *   npm run bench:console [-- <customers> <ledger entries>]
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hashPassword } from '../console/passwords.js';
import { stackLogger } from '../platform/logger.js';
import { installTemporalRuntime } from '../platform/temporal-runtime.js';
import { foldIntoRollups } from '../reports/rollup.js';
import { startStack } from '../stack/index.js';
import { startLocalSystem } from '../stack/local-system.js';
import { insertNew } from '../store/db.js';
import { cartTraffic, SENDS_PER_INSTANCE } from './cart-traffic.js';

installTemporalRuntime();
const CUSTOMERS = Number(process.argv[2] ?? 50_000);
const LEDGER = Number(process.argv[3] ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const BATCH = 5_000;

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const stack = await startStack({ dataDir: await mkdtemp(path.join(os.tmpdir(), 'throughline-bench-')), log: stackLogger });
const run = Date.now().toString(36);
try {
  const system = await startLocalSystem({
    temporalAddress: stack.temporalAddress,
    mongoUrl: stack.mongoUrl,
    database: `bench_console_${run}`,
    taskQueue: `bench-${run}`,
    startWorker: false,
    env: {
      CONSOLE_USERS: JSON.stringify([{ name: 'bench', role: 'operator', password: await hashPassword('bench-password') }]),
      CONSOLE_SECRET: 'bench-console-secret-of-at-least-32-chars',
    },
  });
  try {
    const { collections } = system.db;
    const started = performance.now();
    for (let n = 0; n < CUSTOMERS; n += BATCH) {
      await collections.profiles.insertMany(
        Array.from({ length: Math.min(BATCH, CUSTOMERS - n) }, (_, i) => ({
          _id: `bench-${n + i}`,
          traits: { email: `bench-${n + i}@example.com`, phone: `+1415${String(5_000_000 + n + i).padStart(7, '0')}`, first_name: 'Bench' },
          updatedAt: new Date(),
        })),
      );
    }
    const instancesPerBatch = Math.floor(BATCH / SENDS_PER_INSTANCE);
    for (let instances = 0, written = 0; written < LEDGER; ) {
      const count = Math.min(instancesPerBatch, Math.ceil((LEDGER - written) / SENDS_PER_INSTANCE));
      const traffic = cartTraffic(instances, count);
      instances += count;
      await collections.ledger.insertMany(traffic.ledger);
      await insertNew(collections.ledgerHours, [...new Set(traffic.ledger.map((entry) => entry.hour!))].map((hour) => ({ _id: hour })));
      await collections.progress.insertMany(traffic.progress);
      if (traffic.conversions.length) await collections.conversions.insertMany(traffic.conversions);
      written += traffic.ledger.length;
    }
    await foldIntoRollups(system.db, { lagMs: 0, batchSize: 20_000, halfLifeMs: 7 * 86_400_000 });
    console.log(
      `seeded ${await collections.profiles.countDocuments()} customers and ${await collections.ledger.countDocuments()} ledger entries in ${((performance.now() - started) / 1000).toFixed(0)} s (${stack.store})`,
    );

    // Sign in as a browser would: the login form's CSRF token and cookie, then the session cookie.
    const login = await fetch(`${system.httpUrl}/console/login`);
    const csrfCookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
    const signedIn = await fetch(`${system.httpUrl}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
      body: new URLSearchParams({ _csrf: token, name: 'bench', password: 'bench-password' }),
    });
    const cookie = [csrfCookie, ...signedIn.headers.getSetCookie().map((c) => c.split(';')[0])].join('; ');
    const customer = 'bench-4242';
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    // Each page with what it must show, so a page that found nothing cannot pass for a fast one.
    const pages: Array<[string, string, string]> = [
      ['sign-in page (baseline: reads nothing)', '/console/login', 'password'],
      ['journeys', '/console', 'cartAbandonment'],
      ['journey cartAbandonment v1', '/console/journeys/cartAbandonment?version=1', 'cart-reminder-email'],
      ['customer search by email', `/console/customers?q=${customer}%40example.com`, customer],
      ['customer search by phone', `/console/customers?q=%2B14155004242`, customer],
      ['customer page', `/console/customers/${customer}`, customer],
      ['messages of one customer', `/console/messages?user=${customer}`, 'cart-reminder'],
      ['messages, newest 200', '/console/messages', 'cart-reminder'],
      ['messages, newest 200 SMS without consent', '/console/messages?channel=sms&outcome=no-consent', 'no-consent'],
      ['messages of one day', `/console/messages?from=${day(5)}&to=${day(5)}`, 'cart-reminder'],
      ['template preview', `/console/templates?template=cart-reminder-sms&user=${customer}`, 'segment'],
    ];
    let baseline: number | undefined;
    console.log(`page times over ${ROUNDS} fetches each (target: under 300 ms):`);
    for (const [name, url, shown] of pages) {
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        const response = await fetch(`${system.httpUrl}${url}`, { headers: { cookie } });
        const html = await response.text();
        if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
        if (!html.includes(shown)) throw new Error(`${url} does not show "${shown}"`);
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      baseline ??= percentile(samples, 50);
      console.log(`  ${name.padEnd(40)} p50 ${percentile(samples, 50).toFixed(0).padStart(6)} ms, p95 ${percentile(samples, 95).toFixed(0).padStart(6)} ms (baseline ${baseline.toFixed(1)} ms); load ${load()}`);
    }
  } finally {
    await system.close();
  }
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
} finally {
  await stack.stop();
}
