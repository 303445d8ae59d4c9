/**
 * An `UplinkRig` (uplink.contract.ts) for `openMqttUplink` against any broker on a TCP port: each
 * client connects through a `TcpProxy` the rig can cut or stall, except the steady one, which
 * connects straight to the broker. Client ids carry a prefix unique to the rig, so persistent
 * sessions of one check never meet another's on a shared broker.
 */
import { openMqttUplink, type Uplink } from '../../../agent/sync/index.js';
import { TcpProxy } from '../tcp-proxy.js';
import type { UplinkRig } from './uplink.contract.js';

let rigs = 0;

/** Makes a rig on the broker at `brokerUrl` (`mqtt://127.0.0.1:PORT`), speaking MQTT `protocolVersion`. */
export async function mqttUplinkRig(brokerUrl: string, protocolVersion: 4 | 5): Promise<UplinkRig> {
  const target = new URL(brokerUrl);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
  const prefix = `contract-${process.pid}-${++rigs}`;
  const links: Uplink[] = [];
  const open = (url: string, clientId: string): Uplink => {
    const link = openMqttUplink({
      url,
      clientId: `${prefix}-${clientId}`,
      protocolVersion,
      connectTimeoutMs: 2000,
      keepaliveSec: 5,
      // Quick retries: a check waits for the reconnect.
      backoff: { initialMs: 50, maxMs: 200 },
    });
    links.push(link);
    return link;
  };
  return {
    connect: (clientId) => open(`mqtt://127.0.0.1:${proxy.port}`, clientId),
    connectSteady: (clientId) => open(brokerUrl, clientId),
    async setNetwork(up) {
      proxy.setUp(up);
    },
    stall: () => proxy.stall(),
    keepsSessions: true,
    async dispose() {
      await Promise.all(links.map((l) => l.close()));
      await proxy.close();
    },
  };
}
