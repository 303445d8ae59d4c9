/**
 * In-memory doubles of the MQTT link for unit tests of the sync and the ingest: a `MemoryBroker`
 * that routes messages between `Uplink`s it hands out (topic filters with `+` and `#`), and lets a
 * test take the broker down and up again, drop messages, or inject any payload. Delivery is
 * asynchronous (a microtask later), as with a real broker.
 */
import { SyncError, type Uplink, UplinkListeners } from './uplink.js';

/** True when an MQTT topic matches a filter with `+` and `#` wildcards (MQTT 3.1.1 section 4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

class MemoryUplink implements Uplink {
  readonly listeners = new UplinkListeners();
  readonly filters = new Set<string>();
  connected = false;
  closed = false;

  readonly #broker: MemoryBroker;

  constructor(
    broker: MemoryBroker,
    readonly clientId: string,
  ) {
    this.#broker = broker;
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (!this.connected) return Promise.reject(new SyncError('NOT_CONNECTED', 'memory', 'not connected'));
    this.#broker.route(this.clientId, topic, payload.slice());
    return Promise.resolve();
  }

  async subscribe(topicFilter: string): Promise<void> {
    if (!this.connected) throw new SyncError('NOT_CONNECTED', 'memory', 'not connected');
    this.filters.add(topicFilter);
  }

  onMessage(l: (topic: string, payload: Uint8Array) => void): () => void {
    return UplinkListeners.add(this.listeners.message, l);
  }

  onConnect(l: (info: { readonly sessionPresent: boolean }) => void): () => void {
    return UplinkListeners.add(this.listeners.connect, l);
  }

  onDisconnect(l: (info: { readonly reason: string }) => void): () => void {
    return UplinkListeners.add(this.listeners.disconnect, l);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.setConnected(false, 'closed');
  }

  setConnected(up: boolean, reason = 'broker down'): void {
    if (up === this.connected || (up && this.closed)) return;
    this.connected = up;
    if (up) for (const l of this.listeners.connect) l({ sessionPresent: false });
    else {
      this.filters.clear(); // the memory broker keeps no sessions
      for (const l of this.listeners.disconnect) l({ reason });
    }
  }
}

/** A broker in memory. */
export class MemoryBroker {
  readonly #clients = new Map<string, MemoryUplink>();
  #up = true;
  /** Every routed message, for assertions. */
  readonly log: { from: string; topic: string; payload: Uint8Array }[] = [];
  /** When it returns true for a message, the message is lost (as in a broker crash). */
  drop: (topic: string, payload: Uint8Array) => boolean = () => false;

  /** A new client, connected (a microtask later) when the broker is up. */
  connect(clientId: string): Uplink {
    const c = new MemoryUplink(this, clientId);
    this.#clients.set(clientId, c);
    queueMicrotask(() => {
      if (this.#up) c.setConnected(true);
    });
    return c;
  }

  /** Takes the broker down (every client disconnects) or up (every open client reconnects). */
  setUp(up: boolean): void {
    this.#up = up;
    for (const c of this.#clients.values()) if (!c.closed) c.setConnected(up);
  }

  /** Delivers a message as if a client had published it (a test's hostile or garbage peer). */
  inject(topic: string, payload: Uint8Array): void {
    this.route('test', topic, payload);
  }

  route(from: string, topic: string, payload: Uint8Array): void {
    this.log.push({ from, topic, payload });
    if (this.drop(topic, payload)) return;
    for (const c of this.#clients.values()) {
      if (!c.connected || ![...c.filters].some((f) => topicMatches(f, topic))) continue;
      queueMicrotask(() => {
        if (c.connected) for (const l of c.listeners.message) l(topic, payload);
      });
    }
  }
}
