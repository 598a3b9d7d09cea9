/**
 * A call raced against a timer: the caller hears by `ms`, whatever the call does. Clients' own
 * deadlines are not enough where they retry with backoff: Temporal's client, with the server down,
 * answered after 2.0 s against a 1.5 s deadline. The call itself carries on; its outcome is dropped.
 */
export function within<T>(ms: number, call: () => Promise<T>, what = 'no answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([call(), late]).finally(() => clearTimeout(timer));
}
