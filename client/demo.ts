/**
 * `npm run demo`: the whole product on the embedded stack. Installs what is missing, starts Temporal
 * (dev server) and FerretDB, a worker, the ingestion server and local stand-ins for SMTP, Twilio and
 * a retargeting platform; plays a CDP event stream for four customers over the Segment HTTP API; and
 * prints each customer's timeline: what was sent, what was not, and why.
 *
 * Waits are shortened by journey configuration (JOURNEY_SETTINGS), not by special code paths.
 */
import { startStack } from '../stack/index.js';
import { startLocalSystem, type LocalSystem } from '../stack/local-system.js';
import { DEMO_CAP, DEMO_SETTINGS, demoCustomers, playDemoStream } from './demo-script.js';
import { stackLogger } from '../platform/logger.js';
import { keptSecrets } from '../stack/secrets.js';
import { dataDir } from '../stack/paths.js';
import { formatTimeline, userTimeline } from '../reports/timeline.js';

async function main(): Promise<void> {
  const started = Date.now();
  console.log('Throughline demo: cart abandonment across email, SMS and retargeting\n');
  const stack = await startStack({ log: stackLogger, headless: false });
  let system: LocalSystem | undefined;
  try {
    system = await startLocalSystem({
      temporalAddress: stack.temporalAddress,
      mongoUrl: stack.mongoUrl,
      database: 'throughline_demo',
      taskQueue: 'throughline-demo',
      journeySettings: DEMO_SETTINGS,
      frequencyCap: DEMO_CAP,
      // The data folder's key, so instances an earlier demo left in its Temporal still open.
      env: { PAYLOAD_KEYS: (await keptSecrets(dataDir, stackLogger)).PAYLOAD_KEYS! },
    });
    console.log(`Temporal ${stack.temporalAddress}${stack.temporalUiUrl ? ` (web UI ${stack.temporalUiUrl})` : ''}, MongoDB wire ${stack.mongoUrl} (${stack.store})`);
    console.log(`Segment API ${system.httpUrl}, journey settings ${JSON.stringify(DEMO_SETTINGS)}, frequency cap ${DEMO_CAP}`);
    const customers = demoCustomers(Date.now().toString(36));
    console.log('\nCDP event stream:');
    await playDemoStream(system, customers, (line) => console.log(line));

    console.log('\nWhat each customer got, and why:\n');
    for (const { userId, story } of Object.values(customers)) {
      console.log(`${formatTimeline(userId, await userTimeline(system.temporal, system.db, userId))}\n    (${story})\n`);
    }
    console.log(
      `Providers saw: ${system.smtp.messages.length} emails, ${system.twilio.messages.length} SMS, ` +
        `${system.audiences.calls.length} audience calls (${system.audiences.rejected} with bad signatures).`,
    );
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(0)} s. Ask about any customer: npm run cli -- explain --user <id>`);
  } finally {
    await system?.close();
    await stack.stop();
  }
}

await main();
