/**
 * Email throughput: emails/s through the provider the worker uses (pooled nodemailer transport,
 * deterministic Message-ID, VERP return path, List-Unsubscribe headers, no-delay sockets) into a
 * local SMTP server, versus a raw nodemailer loop (pooled transport, plain sendMail) into the same
 * server at the same concurrency, in one run.
 *   npm run bench:email [-- emails]
 */
import nodemailer from 'nodemailer';
import pMap from 'p-map';
import { createEmailProvider } from '../activities/providers/email.js';
import { unclaimed } from '../activities/providers/provider.js';
import { startSmtpSink } from '../stack/smtp-sink.js';

const total = Number(process.argv[2] ?? 2_000);
const CONCURRENCY = 16;
const MAX_CONNECTIONS = 5;
const from = 'Shop <news@shop.example>';
const content = (i: number) => ({
  to: `customer-${i}@example.com`,
  subject: 'Your cart is waiting',
  html: `<p>Hi customer ${i},</p><p>Your cart is waiting.</p>`,
  text: `Hi customer ${i},\n\nYour cart is waiting.`,
});

async function rate(send: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await pMap(Array.from({ length: total }, (_, i) => i), send, { concurrency: CONCURRENCY });
  return total / ((performance.now() - started) / 1000);
}

const sink = await startSmtpSink();
try {
  const raw = nodemailer.createTransport(`${sink.url}?pool=true&maxConnections=${MAX_CONNECTIONS}`);
  const rawRate = await rate((i) => raw.sendMail({ from, ...content(i) }));
  raw.close();

  const provider = createEmailProvider({ smtpUrl: sink.url, from, maxConnections: MAX_CONNECTIONS, bounceDomain: 'bounces.shop.example' });
  const providerRate = await rate((i) => provider.send({ ...content(i), unsubscribeUrl: `https://shop.example/u?t=${i}` }, `bench/${i}`, unclaimed));
  provider.close();

  if (sink.messages.length !== 2 * total) throw new Error(`the SMTP server got ${sink.messages.length} messages, expected ${2 * total}`);
  console.log(`${total} emails each, ${CONCURRENCY} in flight, ${MAX_CONNECTIONS} pooled connections:`);
  console.log(`  raw nodemailer loop: ${rawRate.toFixed(0)} emails/s`);
  console.log(`  Throughline email provider: ${providerRate.toFixed(0)} emails/s`);
  console.log(`  ratio provider/raw: ${(providerRate / rawRate).toFixed(2)}`);
} finally {
  await sink.close();
}
