/**
 * A TCP link to the database that drops chosen commands: a command whose bytes hold every marker
 * never reaches the server, and its connection is closed. Dropped twice, a write is lost as the
 * driver sees a database going away mid-write (its one retry fails too), which an error thrown in
 * front of the driver is not: the driver wraps what a bulk insert meets in its own error. MongoDB
 * has fail points for this; FerretDB has none.
 */
import net from 'node:net';

export interface CuttableLink {
  /** The database's URL, through the link. */
  url: string;
  /** Drops the next `times` commands whose bytes hold every marker. */
  dropAt(markers: string[], times: number): void;
  /** How many commands were dropped. */
  dropped(): number;
  close(): Promise<void>;
}

export async function cuttableLink(mongoUrl: string): Promise<CuttableLink> {
  const target = new URL(mongoUrl);
  let markers: Buffer[] = [];
  let toDrop = 0;
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
    };
    sockets.add(client);
    for (const socket of [client, upstream]) socket.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      if (toDrop > 0 && markers.every((m) => chunk.includes(m))) {
        toDrop--;
        dropped++;
        return close();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(mongoUrl);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // A replica set's members would be dialled directly, around the link.
  url.searchParams.set('directConnection', 'true');
  return {
    url: url.toString(),
    dropAt: (list, times) => {
      markers = list.map((m) => Buffer.from(m));
      toDrop = times;
    },
    dropped: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
