/** Posts Segment-spec payloads to a Throughline (or any Segment-compatible) HTTP endpoint. */
export interface SegmentResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export async function postSegment(baseUrl: string, writeKey: string, path: string, payload: unknown): Promise<SegmentResponse> {
  const response = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify(payload),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}
