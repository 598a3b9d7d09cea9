/**
 * The CDPs' official Node SDKs, with their default options, against the ingestion server: Segment's
 * `@segment/analytics-node` (JSON batches) and RudderStack's `@rudderstack/rudder-sdk-node` (gzipped
 * batches labelled form-encoded). Each identify lands in the profile and each checkout starts the
 * cart journey.
 */
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../stack/wait-until.js';
import { journeyWorkflowId } from '../workflows/sdk/definitions.js';
import { startTestSystem, uniqueId, type TestSystem } from './support/system.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.close());

interface SdkCalls {
  identify(userId: string, traits: Record<string, unknown>): void;
  track(userId: string, event: string, properties: Record<string, unknown>): void;
  flush(): Promise<void>;
}

const sdks: Record<string, () => SdkCalls> = {
  segment() {
    const errors: unknown[] = [];
    const analytics = new SegmentAnalytics({ writeKey: system.writeKey, host: system.httpUrl });
    analytics.on('error', (err) => errors.push(err));
    return {
      identify: (userId, traits) => analytics.identify({ userId, traits }),
      track: (userId, event, properties) => analytics.track({ userId, event, properties }),
      async flush() {
        await analytics.closeAndFlush();
        expect(errors).toEqual([]);
      },
    };
  },
  rudderstack() {
    const analytics = new RudderAnalytics(system.writeKey, { dataPlaneUrl: system.httpUrl, logLevel: 'error' });
    return {
      identify: (userId, traits) => analytics.identify({ userId, traits: traits as never }),
      track: (userId, event, properties) => analytics.track({ userId, event, properties: properties as never }),
      // Rejects when the server refused the batch.
      flush: () => analytics.flush(),
    };
  },
};

for (const [name, start] of Object.entries(sdks)) {
  it(`${name}'s Node SDK with its defaults: identifies reach the profile, checkouts start the journey`, async () => {
    const sdk = start();
    const customers = Array.from({ length: 3 }, () => uniqueId(name));
    for (const userId of customers) {
      sdk.identify(userId, { email: `${userId}@example.com`, plan: name });
      sdk.track(userId, 'Checkout Started', { cart_id: `cart-${userId}`, value: 42 });
    }
    await sdk.flush();

    for (const userId of customers) {
      await waitUntil(async () => !!(await system.db.collections.profiles.findOne({ _id: userId })), 10_000, `profile of ${userId}`);
      expect((await system.db.collections.profiles.findOne({ _id: userId }))?.traits).toMatchObject({ email: `${userId}@example.com`, plan: name });
      const journey = await system.temporal.workflow.getHandle(journeyWorkflowId('cartAbandonment', userId)).describe();
      expect(journey.status.name).toBe('RUNNING');
    }
  });
}
