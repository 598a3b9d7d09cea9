/**
 * What providers send back after a message went out, as they send it: a bounce as an MTA writes it,
 * posted to the bounce webhook, and Twilio's signed status callbacks.
 */
import twilio from 'twilio';
import type { TestSystem } from './system.js';

/** A bounce as an MTA writes it (RFC 3464 multipart/report), delivered to the VERP return path. */
export function dsn(returnPath: string, recipient: string, status: string, messageId: string) {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.com>',
    `To: ${returnPath}`,
    `X-Original-To: ${returnPath}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    `I'm sorry to have to inform you that your message could not be delivered to ${recipient}.`,
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.com',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    `Status: ${status}`,
    '--b1',
    'Content-Type: text/rfc822-headers',
    '',
    `Message-ID: ${messageId}`,
    '--b1--',
    '',
  ].join('\r\n');
}

export const postBounce = (system: TestSystem, body: string, secret = system.config.BOUNCE_WEBHOOK_SECRET) =>
  fetch(new URL('/webhooks/bounce', system.httpUrl), { method: 'POST', headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${secret}` }, body });

/** A Twilio status callback for one message, signed with the stand-in's auth token as Twilio signs it. */
export function postTwilioStatus(system: TestSystem, params: Record<string, string>, token = system.twilio.authToken) {
  const url = new URL('/webhooks/twilio/status', system.httpUrl).href;
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params) },
    body: new URLSearchParams(params).toString(),
  });
}
