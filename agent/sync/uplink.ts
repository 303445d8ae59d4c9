/**
 * `Uplink`: the MQTT link as the sync sees it. `openMqttUplink` implements it on the mqtt package
 * (QoS 1, a persistent session, reconnect with backoff and jitter); `MemoryBroker` gives doubles
 * for unit tests of the sync logic. The link reconnects by itself; the sync reacts to
 * `onConnect`/`onDisconnect` and never blocks on the network.
 */

/** A publish/subscribe connection to one broker, at least once (QoS 1) in both directions. */
export interface Uplink {
  /** True between a CONNACK and the loss of the connection. */
  readonly connected: boolean;
  /** Publishes at QoS 1; resolves on PUBACK, rejects when the link fails before it. */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** Subscribes at QoS 1. Callers subscribe again after each connect (a broker may lose sessions). */
  subscribe(topicFilter: string): Promise<void>;
  /** Receives every message of the subscriptions; returns the unsubscribe function. */
  onMessage(listener: (topic: string, payload: Uint8Array) => void): () => void;
  /** Called at each (re)connection; `sessionPresent` when the broker kept the session. */
  onConnect(listener: (info: { readonly sessionPresent: boolean }) => void): () => void;
  /** Called when a connection is lost (the link then retries by itself). */
  onDisconnect(listener: (info: { readonly reason: string }) => void): () => void;
  /** Disconnects and stops retrying. Idempotent. */
  close(): Promise<void>;
}

/**
 * Receives the messages of one topic until the returned function is called: subscribes now when
 * connected and again after every connect (a broker may lose sessions); a failed subscription is
 * handed to `onError`.
 */
export function followTopic(
  uplink: Uplink,
  topic: string,
  onPayload: (payload: Uint8Array) => void,
  onError: (err: Error) => void,
): () => void {
  const subscribe = (): void => {
    uplink.subscribe(topic).catch(onError);
  };
  const offs = [
    uplink.onConnect(subscribe),
    uplink.onMessage((t, payload) => {
      if (t === topic) onPayload(payload);
    }),
  ];
  if (uplink.connected) subscribe();
  return () => {
    for (const off of offs) off();
  };
}

export type SyncErrorCode = 'NOT_CONNECTED' | 'PUBLISH_FAILED' | 'SUBSCRIBE_FAILED' | 'CLOSED' | 'CONFIG';

/** Why a sync or link operation failed, with the broker it concerned. */
export class SyncError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    readonly broker: string,
    message: string,
  ) {
    super(`${broker}: ${message}`);
    this.name = 'SyncError';
  }
}

/** Listener bookkeeping shared by the uplink implementations. */
export class UplinkListeners {
  readonly message = new Set<(topic: string, payload: Uint8Array) => void>();
  readonly connect = new Set<(info: { readonly sessionPresent: boolean }) => void>();
  readonly disconnect = new Set<(info: { readonly reason: string }) => void>();

  static add<T>(set: Set<T>, l: T): () => void {
    set.add(l);
    return () => set.delete(l);
  }
}
