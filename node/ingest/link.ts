/**
 * `IngestLink`: the node's MQTT connection as the ingest uses it. `openMqttIngestLink` is the real
 * one; tests may pass any object of this shape (the agent's memory broker doubles fit it).
 */
export interface IngestLink {
  readonly connected: boolean;
  /** Publishes at QoS 1 (retained with `retain`: the broker keeps the last one for new subscribers); resolves on PUBACK. */
  publish(topic: string, payload: Uint8Array, options?: { readonly retain?: boolean }): Promise<void>;
  /** Subscribes at QoS 1. */
  subscribe(topicFilter: string): Promise<void>;
  onMessage(listener: (topic: string, payload: Uint8Array) => void): () => void;
  onConnect(listener: (info: { readonly sessionPresent: boolean }) => void): () => void;
  close(): Promise<void>;
}
