/**
 * The Segment HTTP tracking API: POST /v1/{track,identify,page,screen,group,alias} and /v1/batch,
 * with the write key as the HTTP Basic user name (or `writeKey` in the body). Each write key is a
 * source: messageIds are deduplicated per source.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import pMap from 'p-map';
import type { Ingest, IngestResult } from './ingestion.js';
import { BatchSchema, describeIssues, MAX_BATCH_BYTES, MAX_EVENT_BYTES, MESSAGE_TYPES, parseMessage, type FieldProblem, type Message } from './segment-schema.js';
import { BadRequest } from './http-errors.js';

/** Distinct people in a batch are ingested side by side; one person's events stay in order. */
const BATCH_CONCURRENCY = 32;

/** Segment sends the write key as the Basic auth user name (or in the body as `writeKey`). */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  const body = request.body as { writeKey?: unknown } | undefined;
  return typeof body?.writeKey === 'string' ? body.writeKey : undefined;
}

/** Every id a message names; a message naming two ids (identify, alias) says they are one person. */
function idsOf(message: Message): string[] {
  const ids = [message.userId, message.anonymousId && `anonymous:${message.anonymousId}`, message.type === 'alias' && `anonymous:${message.previousId}`];
  return ids.filter((id): id is string => !!id);
}

/** Union-find over the ids in a batch: maps any id to one representative of its person. */
function samePersonGroups(idSets: string[][]): (id: string) => string {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    const up = parent.get(id) ?? id;
    if (up === id) return id;
    const root = find(up);
    parent.set(id, root);
    return root;
  };
  for (const [first, ...rest] of idSets) for (const id of rest) parent.set(find(id), find(first!));
  return find;
}

export interface BatchOutcome {
  results: Array<IngestResult | 'rejected'>;
  rejected: Array<{ index: number; problems: FieldProblem[] }>;
}

/**
 * Ingests the valid messages of a batch and reports the invalid ones by index. Messages about the
 * same person (by any of their ids in the batch) run in batch order: an identify before the track
 * that needs its email, anonymous views before the sign-in that links them. Different people run
 * concurrently. Any failure to act on a valid message fails the whole call, so the CDP
 * retries it, and what was already accepted is deduplicated then.
 */
export async function ingestBatch(
  ingest: Ingest,
  source: string,
  items: Array<{ ok: true; message: Message } | { ok: false; problems: FieldProblem[] }>,
  options: Parameters<Ingest>[2],
): Promise<BatchOutcome> {
  const results: BatchOutcome['results'] = items.map(() => 'rejected');
  const byPerson = new Map<string, number[]>();
  const people = samePersonGroups(items.flatMap((item) => (item.ok ? [idsOf(item.message)] : [])));
  items.forEach((item, index) => {
    if (!item.ok) return;
    const person = people(idsOf(item.message)[0]!);
    byPerson.set(person, [...(byPerson.get(person) ?? []), index]);
  });
  await pMap(
    byPerson.values(),
    async (indexes) => {
      for (const index of indexes) results[index] = await ingest(source, (items[index] as { message: Message }).message, options);
    },
    { concurrency: BATCH_CONCURRENCY },
  );
  const rejected = items.flatMap((item, index) => (item.ok ? [] : [{ index, problems: item.problems }]));
  return { results, rejected };
}

export function registerSegmentRoutes(app: FastifyInstance, options: { ingest: Ingest; writeKeys: string[] }): void {
  const { ingest } = options;
  app.addHook('preHandler', async (request, reply) => {
    const key = writeKeyOf(request);
    if (!key || !options.writeKeys.includes(key)) return reply.code(401).send({ error: 'missing or unknown write key' });
  });

  for (const type of MESSAGE_TYPES) {
    app.post(`/v1/${type}`, { bodyLimit: MAX_EVENT_BYTES }, async (request) => {
      const parsed = parseMessage(request.body, { type });
      if (!parsed.ok) throw new BadRequest(parsed.problems);
      return { success: true, result: await ingest(writeKeyOf(request)!, parsed.message, { receivedAt: new Date() }) };
    });
  }

  app.post('/v1/batch', { bodyLimit: MAX_BATCH_BYTES }, async (request, reply) => {
    const receivedAt = new Date();
    const envelope = BatchSchema.safeParse(request.body);
    if (!envelope.success) throw new BadRequest(describeIssues(envelope.error));
    const { batch, context, sentAt } = envelope.data;
    // The batch's context and sentAt apply to each event that does not carry its own.
    const items = batch.map((item, index) =>
      parseMessage(item && typeof item === 'object' ? { ...(context && { context }), ...(sentAt && { sentAt }), ...item } : item, { prefix: `batch.${index}` }),
    );
    const outcome = await ingestBatch(ingest, writeKeyOf(request)!, items, { receivedAt });
    if (outcome.rejected.length === items.length) {
      throw new BadRequest(outcome.rejected.flatMap((r) => r.problems));
    }
    return reply.send({ success: true, ...outcome });
  });
}
