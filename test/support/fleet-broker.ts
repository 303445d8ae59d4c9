/**
 * A real mosquitto run with the shipped fleet configuration (packaging/mosquitto/qood.conf), its
 * paths pointed at a test CA folder and its listener at a free loopback port, and MQTT clients that
 * connect to it with certificates of that CA. Shared by the fleet system tests and the enrolment
 * bench.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { FleetCa } from '../../node/fleet/index.js';
import { Mosquitto } from './mosquitto.js';
import { projectRoot } from './system.js';

/** The shipped broker config. */
export function shippedFleetConfPath(): string {
  return join(projectRoot(), 'packaging', 'mosquitto', 'qood.conf');
}

/** The shipped ACL (a CA with one node, `qood-node`). */
export function shippedFleetAclPath(): string {
  return join(projectRoot(), 'packaging', 'mosquitto', 'qood.acl');
}

/**
 * The shipped config's lines for a test: comments dropped, `listener 8883` on `port` of 127.0.0.1,
 * `/etc/qood/fleet` replaced by the CA folder, and the ACL file `aclFile` when given.
 */
export function fleetListenerLines(port: number, caDir: string, aclFile?: string): string[] {
  const lines: string[] = [];
  for (const raw of readFileSync(shippedFleetConfPath(), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === 'listener 8883') lines.push(`listener ${port} 127.0.0.1`);
    else if (line.startsWith('acl_file ') && aclFile !== undefined) lines.push(`acl_file ${aclFile}`);
    else lines.push(line.replaceAll('/etc/qood/fleet', caDir));
  }
  return lines;
}

/** Starts mosquitto with the fleet config over `ca` (issues the broker its certificate for 127.0.0.1). */
export async function startFleetBroker(ca: FleetCa, aclFile?: string): Promise<Mosquitto> {
  await ca.issue({ role: 'broker', hosts: ['127.0.0.1'] }, { outDir: join(ca.dir, 'broker') });
  return Mosquitto.start({ tls: true, listener: (port) => fleetListenerLines(port, ca.dir, aclFile) });
}

/** A client's TLS files. */
export interface ClientFiles {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** The outcome of one connect: a client, or why the broker (or TLS) refused it. */
export type ConnectOutcome = { readonly client: MqttClient } | { readonly refused: string };

/**
 * Connects once over MQTT 5 (no reconnects) and resolves at the first of CONNACK, an error or a
 * closed socket, each of which a refusal at the TLS or MQTT level ends in.
 */
export function connectFleetClient(
  url: string,
  files: ClientFiles,
  extra: IClientOptions = {},
): Promise<ConnectOutcome> {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    rejectUnauthorized: true,
    ca: readFileSync(files.caFile),
    ...(files.certFile === undefined ? {} : { cert: readFileSync(files.certFile) }),
    ...(files.keyFile === undefined ? {} : { key: readFileSync(files.keyFile) }),
    ...extra,
  });
  // Errors after the outcome (a socket reset on end) have nowhere to go; they are not the test's.
  client.on('error', () => undefined);
  return new Promise((resolve) => {
    // Only our own listeners go: the client's internal 'close' handler clears its CONNACK timer.
    const onConnect = () => done({ client });
    const onError = (err: Error) => done({ refused: err.message });
    const onClose = () => done({ refused: 'connection closed before CONNACK' });
    const done = (o: ConnectOutcome) => {
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if ('refused' in o) client.end(true);
      resolve(o);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
  });
}

/** Like `connectFleetClient`, but throws when refused. */
export async function mustConnect(
  url: string,
  files: ClientFiles,
  extra: IClientOptions = {},
): Promise<MqttClient> {
  const r = await connectFleetClient(url, files, extra);
  if ('refused' in r)
    throw new Error(`connect to ${url} with ${files.certFile ?? 'no certificate'} refused: ${r.refused}`);
  return r.client;
}

/** Publishes at QoS 1 and resolves with the PUBACK's reason code (0 when accepted). */
export function publishQos1(c: MqttClient, topic: string, payload: string | Uint8Array): Promise<number> {
  return new Promise((resolve) =>
    c.publish(topic, Buffer.from(payload), { qos: 1 }, (err, packet) => {
      const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode;
      resolve(err ? ((err as { code?: number }).code ?? rc ?? -1) : (rc ?? 0));
    }),
  );
}

/** One enrolled simulated device. */
export interface EnrolledDevice {
  readonly vehicleId: string;
  readonly client: MqttClient;
  /** PUBACK reason code of its publish on its own up topic (0: accepted). */
  readonly ownRc: number;
  /** PUBACK reason code of its publish on its neighbour's up topic (0x87: not authorized). */
  readonly neighbourRc: number;
}

/** What `enrolFleet` did and how fast. */
export interface FleetEnrolment {
  readonly devices: readonly EnrolledDevice[];
  /** Certificates (with their TLS keys) issued per second, one after another. */
  readonly issuedPerSec: number;
  /** TLS + MQTT connects per second, one after another. */
  readonly connectsPerSec: number;
}

/**
 * Enrols `count` simulated devices `<idPrefix>-<i>`: issues each a certificate (with a random device
 * key), connects each, and has each publish first on its neighbour's up topic, then on its own (the
 * order lets a subscriber that got the own message know the other would have come first). The
 * caller ends the clients.
 */
export async function enrolFleet(o: {
  readonly ca: FleetCa;
  readonly url: string;
  readonly count: number;
  readonly outDir: string;
  readonly idPrefix?: string;
  readonly topicPrefix?: string;
}): Promise<FleetEnrolment> {
  const { randomBytes } = await import('node:crypto');
  const p = o.topicPrefix ?? 'qood/v1';
  const id = (i: number) => `${o.idPrefix ?? 'car'}-${i}`;
  const issued = [];
  const t0 = performance.now();
  for (let i = 0; i < o.count; i++)
    issued.push(
      await o.ca.issue(
        { role: 'vehicle', vehicleId: id(i), deviceKey: randomBytes(32).toString('hex') },
        { outDir: o.outDir },
      ),
    );
  const t1 = performance.now();
  const clients: MqttClient[] = [];
  for (const cert of issued) clients.push(await mustConnect(o.url, cert));
  const t2 = performance.now();
  const devices: EnrolledDevice[] = [];
  for (let i = 0; i < o.count; i++) {
    const client = clients[i]!;
    const neighbourRc = await publishQos1(
      client,
      `${p}/${id((i + 1) % o.count)}/up/chunk`,
      `forged-by-${id(i)}`,
    );
    const ownRc = await publishQos1(client, `${p}/${id(i)}/up/chunk`, `from-${id(i)}`);
    devices.push({ vehicleId: id(i), client, ownRc, neighbourRc });
  }
  return {
    devices,
    issuedPerSec: (o.count * 1000) / (t1 - t0),
    connectsPerSec: (o.count * 1000) / (t2 - t1),
  };
}
