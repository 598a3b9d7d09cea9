/**
 * Payloads sealed before they reach Temporal. Temporal keeps every workflow input, activity result,
 * signal and query answer in its histories and shows them in its web UI and CLI; sealed with
 * AES-256-GCM on the client or worker that made them, they hold no customer's email, phone, name or
 * event property for anyone without the key. Keys are named, and the name goes with each payload:
 * the first key configured seals, every key configured opens, so a key is rotated by putting a new
 * one first and dropping the old one once no history within retention was sealed with it. A payload
 * that is not sealed (written before encryption was turned on, or a recorded history) passes as it is.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import proto from '@temporalio/proto';

/** CommonJS: its namespaces are on the default export. */
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

/** The payload encoding of a sealed payload, as Temporal's own samples and codec servers name it. */
export const SEALED_ENCODING = 'binary/encrypted';
const KEY_NAME = 'encryption-key-id';
/** On a payload sealed with a customer's own key (see CustomerKeys): that key's id, which names nobody. */
const CUSTOMER_KEY_ID = 'customer-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PayloadKey {
  name: string;
  key: Buffer;
}

const KEY_PATTERN = /^([\w.-]{1,64}):([A-Za-z0-9+/=_-]+)$/;

/**
 * `name:base64key[,name:base64key…]`, the sealing key first; each key is 32 random bytes
 * (`openssl rand -base64 32`). Throws with the reason for a malformed list.
 */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const keys = text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const match = KEY_PATTERN.exec(part);
    if (!match) throw new Error('each key is name:base64 (a name of letters, digits, dots, dashes or underscores)');
    const key = Buffer.from(match[2]!, 'base64');
    if (key.length !== 32) throw new Error(`key "${match[1]}" is ${key.length} bytes; AES-256 takes 32`);
    return { name: match[1]!, key };
  });
  if (new Set(keys.map((k) => k.name)).size !== keys.length) throw new Error('a key name is given twice');
  return keys;
}

/** A fresh key, named by the day it was made: what the local stack generates for itself. */
export function newPayloadKey(now = new Date()): string {
  return `k${now.toISOString().slice(0, 10).replaceAll('-', '')}:${randomBytes(32).toString('base64')}`;
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();

/** AES-256-GCM with what is bound to the bytes as associated data: IV, ciphertext, tag. */
export function sealBytes(key: Buffer, boundTo: string, bytes: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo));
  return Buffer.concat([iv, cipher.update(bytes), cipher.final(), cipher.getAuthTag()]);
}

export function openBytes(key: Buffer, boundTo: string, sealed: Uint8Array): Buffer {
  const data = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(boundTo));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
}

/**
 * Customers' own data keys, for erasure by crypto-shredding: a journey instance's payloads are sealed
 * with its customer's key, which the deployment key wraps and the store keeps outside Temporal. The
 * erasure destroys it, and every payload it sealed, in any history, fixture or backup, is unreadable.
 */
export interface CustomerKeys {
  /** The customer whose payloads a workflow's are; undefined for the deployment's own workflows. */
  ownerOf(workflowId: string): string | undefined;
  /** The customer's data key, made on first use. */
  sealingKey(customer: string): Promise<{ id: string; key: Buffer }>;
  /** A data key by its id; undefined once destroyed. */
  openingKey(id: string): Promise<Buffer | undefined>;
}

/** A payload whose customer's key was destroyed: the customer was erased. */
export class ErasedPayloadError extends Error {
  constructor() {
    super("sealed with a customer's key that was destroyed: the customer was erased");
  }
}

export function sealingCodec(keys: readonly PayloadKey[], customerKeys?: CustomerKeys): PayloadCodec {
  const [sealing] = keys;
  if (!sealing) throw new Error('no payload key to seal with');
  const byName = new Map(keys.map((k) => [k.name, k.key]));
  const sealed = (data: Buffer, metadata: Record<string, string>): Payload => ({
    metadata: Object.fromEntries(Object.entries({ encoding: SEALED_ENCODING, ...metadata }).map(([k, v]) => [k, Buffer.from(v)])),
    data,
  });
  async function open(payload: Payload): Promise<Payload> {
    if (text(payload.metadata?.encoding) !== SEALED_ENCODING) return payload;
    const customerKeyId = payload.metadata?.[CUSTOMER_KEY_ID];
    if (customerKeyId) {
      const id = text(customerKeyId);
      if (!customerKeys) throw new Error("a payload sealed with a customer's key, and this process has no access to the customer keys");
      const key = await customerKeys.openingKey(id);
      if (!key) throw new ErasedPayloadError();
      return PayloadMessage.decode(openBytes(key, `customer:${id}`, payload.data ?? new Uint8Array())) as Payload;
    }
    const name = text(payload.metadata?.[KEY_NAME]);
    const key = byName.get(name);
    if (!key) throw new Error(`a payload sealed with key "${name}", which PAYLOAD_KEYS does not hold`);
    // The key's name is authenticated with the payload: a payload moved under another name fails.
    return PayloadMessage.decode(openBytes(key, name, payload.data ?? new Uint8Array())) as Payload;
  }
  return {
    async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
      const owner = context?.workflowId ? customerKeys?.ownerOf(context.workflowId) : undefined;
      if (owner !== undefined) {
        const { id, key } = await customerKeys!.sealingKey(owner);
        return payloads.map((payload) => sealed(sealBytes(key, `customer:${id}`, PayloadMessage.encode(payload).finish()), { [CUSTOMER_KEY_ID]: id }));
      }
      return payloads.map((payload) => sealed(sealBytes(sealing.key, sealing.name, PayloadMessage.encode(payload).finish()), { [KEY_NAME]: sealing.name }));
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return Promise.all(payloads.map(open));
    },
  };
}

/** The data converter for these keys: sealing when there are keys, Temporal's default otherwise. */
export function sealedDataConverter(keys: readonly PayloadKey[] | undefined, customerKeys?: CustomerKeys): DataConverter | undefined {
  return keys?.length ? { payloadCodecs: [sealingCodec(keys, customerKeys)] } : undefined;
}
