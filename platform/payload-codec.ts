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
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/** CommonJS: its namespaces are on the default export. */
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

/** The payload encoding of a sealed payload, as Temporal's own samples and codec servers name it. */
export const SEALED_ENCODING = 'binary/encrypted';
const KEY_NAME = 'encryption-key-id';
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

export function sealingCodec(keys: readonly PayloadKey[]): PayloadCodec {
  const [sealing] = keys;
  if (!sealing) throw new Error('no payload key to seal with');
  const byName = new Map(keys.map((k) => [k.name, k.key]));
  return {
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', sealing.key, iv);
        // The key's name is authenticated with the payload: a payload moved under another name fails.
        cipher.setAAD(Buffer.from(sealing.name));
        const sealed = Buffer.concat([iv, cipher.update(PayloadMessage.encode(payload).finish()), cipher.final(), cipher.getAuthTag()]);
        return { metadata: { encoding: Buffer.from(SEALED_ENCODING), [KEY_NAME]: Buffer.from(sealing.name) }, data: sealed };
      });
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map((payload) => {
        if (text(payload.metadata?.encoding) !== SEALED_ENCODING) return payload;
        const name = text(payload.metadata?.[KEY_NAME]);
        const key = byName.get(name);
        if (!key) throw new Error(`a payload sealed with key "${name}", which PAYLOAD_KEYS does not hold`);
        const data = Buffer.from(payload.data ?? []);
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(name));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const opened = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return PayloadMessage.decode(opened) as Payload;
      });
    },
  };
}

/** The data converter for these keys: sealing when there are keys, Temporal's default otherwise. */
export function sealedDataConverter(keys: readonly PayloadKey[] | undefined): DataConverter | undefined {
  return keys?.length ? { payloadCodecs: [sealingCodec(keys)] } : undefined;
}
