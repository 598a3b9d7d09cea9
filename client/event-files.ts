/**
 * Sending Segment-spec events from files to a Throughline (or any Segment-compatible) endpoint, as
 * the CLI's `events send` and `events replay` do: JSONL in, /v1/batch calls under Segment's size
 * limits out, retried on 503 as a CDP would, with a count of what was accepted, duplicate or rejected.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { postSegment } from './segment-http.js';
import type { FieldProblem } from '../store/field-rules.js';
import { MAX_BATCH_BYTES } from '../events/limits.js';

const MAX_BATCH_EVENTS = 500;
/** Room for the envelope around the events. */
const BATCH_BUDGET = MAX_BATCH_BYTES - 1024;

export type EventLine = { line: number; event: Record<string, unknown> };

export async function* readJsonl(file: string): AsyncGenerator<EventLine> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line += 1;
    if (!text.trim()) continue;
    try {
      yield { line, event: JSON.parse(text) as Record<string, unknown> };
    } catch (err) {
      throw new Error(`${file}:${line}: not JSON (${(err as Error).message})`, { cause: err });
    }
  }
}

/** A new event: ids and time filled in when missing, as a tracking library would. */
export function asNewEvent(event: Record<string, unknown>): Record<string, unknown> {
  return { messageId: randomUUID(), timestamp: new Date().toISOString(), ...event };
}

/**
 * A past event (a Segment export, an archive): its own time kept, and a messageId derived from its
 * content when it has none, so replaying the same file twice has one effect. The sender's sentAt is
 * dropped: skew correction against today's clock would move a months-old event to now.
 */
export function asPastEvent(event: Record<string, unknown>): Record<string, unknown> {
  const { sentAt: _sentAt, originalTimestamp, receivedAt, ...rest } = event;
  const timestamp = rest.timestamp ?? originalTimestamp ?? receivedAt;
  const messageId = rest.messageId ?? `replay-${createHash('sha256').update(JSON.stringify(event)).digest('hex').slice(0, 32)}`;
  return { ...rest, messageId, ...(timestamp ? { timestamp } : {}) };
}

export interface SendSummary {
  accepted: number;
  duplicate: number;
  rejected: Array<{ line: number; problems: FieldProblem[] }>;
}

/** The API names fields from the batch root (batch.3.event); a file's reader wants them per line. */
const inEvent = (problem: FieldProblem): FieldProblem => ({ ...problem, field: problem.field.split('.').slice(2).join('.') || '(event)' });

interface BatchReply {
  results?: Array<'accepted' | 'duplicate' | 'rejected'>;
  rejected?: Array<{ index: number; problems: FieldProblem[] }>;
  problems?: FieldProblem[];
}

async function postWithRetry(url: string, writeKey: string, batch: unknown[], attempts = 6) {
  for (let attempt = 1; ; attempt++) {
    const response = await postSegment(url, writeKey, '/v1/batch', { batch });
    if (response.status !== 503 || attempt === attempts) return response;
    const wait = Number(response.headers.get('retry-after') ?? '1') * 1000;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

export async function sendEvents(url: string, writeKey: string, events: AsyncIterable<EventLine> | Iterable<EventLine>): Promise<SendSummary> {
  const summary: SendSummary = { accepted: 0, duplicate: 0, rejected: [] };
  let batch: EventLine[] = [];
  let bytes = 0;

  const flush = async () => {
    if (!batch.length) return;
    const sent = batch;
    batch = [];
    bytes = 0;
    const response = await postWithRetry(url, writeKey, sent.map((e) => e.event));
    const reply = response.body as BatchReply;
    if (response.status === 400 && reply.problems) {
      // Nothing in the batch was valid: every event is reported on its line.
      const byIndex = new Map<number, FieldProblem[]>();
      for (const problem of reply.problems) {
        const index = Number(problem.field.split('.')[1]);
        byIndex.set(index, [...(byIndex.get(index) ?? []), inEvent(problem)]);
      }
      summary.rejected.push(...[...byIndex].map(([index, problems]) => ({ line: sent[index]!.line, problems })));
      return;
    }
    if (response.status !== 200 || !reply.results) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(response.body)}`);
    for (const result of reply.results) if (result !== 'rejected') summary[result] += 1;
    summary.rejected.push(...(reply.rejected ?? []).map((r) => ({ line: sent[r.index]!.line, problems: r.problems.map(inEvent) })));
  };

  for await (const item of events) {
    const size = Buffer.byteLength(JSON.stringify(item.event)) + 1;
    if (batch.length >= MAX_BATCH_EVENTS || bytes + size > BATCH_BUDGET) await flush();
    batch.push(item);
    bytes += size;
  }
  await flush();
  return summary;
}
