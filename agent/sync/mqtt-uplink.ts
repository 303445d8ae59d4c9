/**
 * The mqtt adapter of `agent/`: the only file that imports the package. Connects to the TSP's
 * broker with the vehicle id as client id, a persistent session (MQTT 5: clean start off and a
 * session expiry; 3.1.1: clean session off), so acks published while the device was away wait for
 * it at the broker. QoS 1 both ways. mqtt.js's own fixed-period reconnect is off; this adapter
 * reconnects with exponential backoff and jitter instead (backoff.ts), and restarts from a fresh
 * outgoing store each time: the sync republishes what is unacknowledged from the database, which
 * is the one source of truth.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type BackoffOptions, backoffDelayMs } from './backoff.js';
import { SyncError, type Uplink, UplinkListeners } from './uplink.js';

/** TLS material as file paths (PEM). */
export interface UplinkTlsFiles {
  /** CA bundle that signs the broker's certificate (default: the system's). */
  readonly caFile?: string | undefined;
  /** Client certificate and key, for brokers that authenticate devices by certificate. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Check the broker's certificate (default true; false only for a lab broker). */
  readonly rejectUnauthorized?: boolean;
}

export interface MqttUplinkOptions {
  /** `mqtt://host:1883`, `mqtts://host:8883`, `ws://`, `wss://`. */
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: UplinkTlsFiles;
  /** 5 (default) or 4 (3.1.1). */
  readonly protocolVersion?: 4 | 5;
  /** How long the broker keeps the session while the device is away, s (MQTT 5; default 7 days). */
  readonly sessionExpirySec?: number;
  /** Keepalive, s (default 30). */
  readonly keepaliveSec?: number;
  /** Give up a connection attempt after this long, ms (default 10000). */
  readonly connectTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
}

/** Starts connecting and returns at once; the link connects and reconnects in the background. */
export function openMqttUplink(options: MqttUplinkOptions): Uplink {
  const version = options.protocolVersion ?? 5;
  const tls = options.tls ?? {};
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(p));
  let ca: Buffer | undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  try {
    ca = read(tls.caFile);
    cert = read(tls.certFile);
    key = read(tls.keyFile);
  } catch (err) {
    throw new SyncError('CONFIG', options.url, `cannot read a TLS file: ${(err as Error).message}`);
  }
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    protocolVersion: version,
    clean: false,
    keepalive: options.keepaliveSec ?? 30,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 0,
    resubscribe: false,
    ...(version === 5
      ? { properties: { sessionExpiryInterval: options.sessionExpirySec ?? 7 * 86_400 } }
      : {}),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  };
  return new MqttUplink(mqtt.connect(options.url, clientOptions), options);
}

class MqttUplink implements Uplink {
  readonly #client: MqttClient;
  readonly #l = new UplinkListeners();
  readonly #url: string;
  readonly #backoff: BackoffOptions;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  #up = false;
  #closed = false;
  #lastError = '';
  /**
   * Rejections of the publishes still waiting for their PUBACK. mqtt.js leaves a QoS 1 publish's
   * callback pending when the connection drops (with clean: false it flushes nothing, and the
   * fresh store of the next connection never resends the message), so without these a publish
   * whose link failed would wait forever instead of rejecting as `Uplink.publish` promises.
   */
  readonly #awaitingAck = new Set<(err: SyncError) => void>();

  constructor(client: MqttClient, options: MqttUplinkOptions) {
    this.#client = client;
    this.#url = options.url;
    this.#backoff = options.backoff ?? {};
    client.on('connect', (connack) => {
      this.#attempt = 0;
      this.#up = true;
      this.#lastError = '';
      for (const l of this.#l.connect) l({ sessionPresent: connack.sessionPresent });
    });
    client.on('message', (topic, payload) => {
      for (const l of this.#l.message) l(topic, payload);
    });
    // Without a listener an 'error' event would throw; the 'close' that follows is what matters.
    client.on('error', (err) => {
      this.#lastError = err.message;
    });
    client.on('close', () => {
      this.#failAwaitingAck('PUBLISH_FAILED', 'the connection was lost before the PUBACK');
      if (this.#up) {
        this.#up = false;
        for (const l of this.#l.disconnect) l({ reason: this.#lastError || 'connection closed' });
      }
      this.#scheduleReconnect();
    });
  }

  get connected(): boolean {
    return this.#up && this.#client.connected;
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new SyncError('CLOSED', this.#url, 'the uplink is closed'));
    if (!this.connected) return Promise.reject(new SyncError('NOT_CONNECTED', this.#url, 'not connected'));
    return new Promise((resolve, reject) => {
      const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      this.#awaitingAck.add(reject);
      this.#client.publish(topic, buf, { qos: 1 }, (err) => {
        this.#awaitingAck.delete(reject);
        if (err) reject(new SyncError('PUBLISH_FAILED', this.#url, err.message));
        else resolve();
      });
    });
  }

  subscribe(topicFilter: string): Promise<void> {
    if (!this.connected) return Promise.reject(new SyncError('NOT_CONNECTED', this.#url, 'not connected'));
    return new Promise((resolve, reject) => {
      this.#client.subscribe(topicFilter, { qos: 1 }, (err, granted) => {
        if (err) reject(new SyncError('SUBSCRIBE_FAILED', this.#url, err.message));
        else if (granted?.some((g) => g.qos >= 128))
          reject(new SyncError('SUBSCRIBE_FAILED', this.#url, `the broker refused ${topicFilter}`));
        else resolve();
      });
    });
  }

  onMessage(l: (topic: string, payload: Uint8Array) => void): () => void {
    return UplinkListeners.add(this.#l.message, l);
  }

  onConnect(l: (info: { readonly sessionPresent: boolean }) => void): () => void {
    return UplinkListeners.add(this.#l.connect, l);
  }

  onDisconnect(l: (info: { readonly reason: string }) => void): () => void {
    return UplinkListeners.add(this.#l.disconnect, l);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#failAwaitingAck('CLOSED', 'the uplink was closed before the PUBACK');
    return new Promise((resolve) => {
      // force: do not wait for in-flight PUBACKs; what is unacknowledged stays in the database.
      this.#client.end(true, {}, () => resolve());
    });
  }

  #failAwaitingAck(code: 'PUBLISH_FAILED' | 'CLOSED', message: string): void {
    for (const reject of this.#awaitingAck) reject(new SyncError(code, this.#url, message));
    this.#awaitingAck.clear();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const delay = backoffDelayMs(this.#attempt++, this.#backoff);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed) this.#client.reconnect();
    }, delay);
  }
}
