/**
 * The mqtt adapter of `chain/`: the only file there that imports the package. A persistent session
 * (clean start off, a long session expiry), QoS 1, mqtt.js's reconnect every `reconnectMs` (a
 * node is one client, so no jitter is needed), and subscriptions renewed by the ingest at each
 * connect in case the broker lost the session.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import type { IngestLink } from './link.js';

export interface MqttIngestLinkOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: {
    readonly caFile?: string | undefined;
    readonly certFile?: string | undefined;
    readonly keyFile?: string | undefined;
    readonly rejectUnauthorized?: boolean;
  };
  /** Delay between reconnect attempts, ms (default 1000). */
  readonly reconnectMs?: number;
  /** MQTT 5 (default; session expiry) or 3.1.1 for brokers without 5. */
  readonly protocolVersion?: 4 | 5;
}

/** Starts connecting and returns at once. */
export function openMqttIngestLink(options: MqttIngestLinkOptions): IngestLink {
  const tls = options.tls ?? {};
  const file = (p: string | undefined) => (p === undefined ? {} : { v: readFileSync(p) });
  const ca = file(tls.caFile);
  const cert = file(tls.certFile);
  const key = file(tls.keyFile);
  const o: IClientOptions = {
    clientId: options.clientId,
    protocolVersion: options.protocolVersion ?? 5,
    clean: false,
    ...((options.protocolVersion ?? 5) === 5 ? { properties: { sessionExpiryInterval: 7 * 86_400 } } : {}),
    reconnectPeriod: options.reconnectMs ?? 1000,
    resubscribe: false,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...('v' in ca ? { ca: ca.v } : {}),
    ...('v' in cert ? { cert: cert.v } : {}),
    ...('v' in key ? { key: key.v } : {}),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  };
  const client = mqtt.connect(options.url, o);
  client.on('error', () => {}); // reported by 'close' and the reconnect loop; must not throw
  return {
    get connected() {
      return client.connected;
    },
    publish: (topic, payload, po) =>
      new Promise((resolve, reject) =>
        client.publish(
          topic,
          Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
          { qos: 1, retain: po?.retain === true },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
    subscribe: (filter) =>
      new Promise((resolve, reject) =>
        client.subscribe(filter, { qos: 1 }, (err, granted) => {
          if (err) reject(err);
          else if (granted?.some((g) => g.qos >= 128)) reject(new Error(`the broker refused ${filter}`));
          else resolve();
        }),
      ),
    onMessage(l) {
      const h = (topic: string, payload: Buffer) => l(topic, payload);
      client.on('message', h);
      return () => client.off('message', h);
    },
    onConnect(l) {
      const h = (p: { sessionPresent: boolean }) => l({ sessionPresent: p.sessionPresent });
      client.on('connect', h);
      return () => client.off('connect', h);
    },
    close: () => new Promise((resolve) => client.end(true, {}, () => resolve())),
  };
}
