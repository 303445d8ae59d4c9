/**
 * An MQTT broker inside the demo process (aedes on a loopback port), so `qood demo` shows the sync
 * without a broker installed. Devices in the field talk to the TSP's broker (mosquitto, EMQX ...);
 * the tests use a real mosquitto.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface DemoBroker {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the broker on 127.0.0.1 at a free port. */
export async function startDemoBroker(): Promise<DemoBroker> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Closing aedes ends its clients, which lets the server close.
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
