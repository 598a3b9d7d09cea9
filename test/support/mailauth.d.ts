// The part of mailauth (a dev dependency, no bundled types) the DKIM test uses.
declare module 'mailauth/lib/dkim/verify.js' {
  export function dkimVerify(
    input: Buffer,
    options: { resolver: (name: string, rrtype: string) => Promise<string[][]> },
  ): Promise<{ results: Array<{ status: { result: string; comment?: string }; signingHeaders?: { keys: string } }> }>;
}
