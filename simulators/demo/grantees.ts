/**
 * The demo's third parties: an insurer with a listen grant (speed rounded to 10 km/h, location to
 * 0.01°, about a kilometre, once a second) and a car-sharing firm with a control grant (lock,
 * unlock). Both talk to the car only through the broker; the insurer decrypts what the car sends it
 * (the broker sees ciphertext), the firm gets device-signed receipts. Then the owner revokes both on
 * the device, and both stop at once.
 */
import { randomBytes } from 'node:crypto';
import { BASE_TERMS, issueGrant, type Permissions } from '../../agent/permissions/index.js';
import { openMqttUplink, type Uplink } from '../../agent/sync/index.js';
import {
  Ed25519Signer,
  ListenerReader,
  openReceipt,
  type Receipt,
  signCommand,
  toHex,
} from '../../chain/index.js';

/** What the third parties saw. */
export interface GranteeReport {
  readonly listened: number;
  readonly listenedAfterRevoke: number;
  readonly receipts: readonly { command: string; outcome: string; reason: string; frames: number }[];
}

export interface DemoGranteesOptions {
  readonly brokerUrl: string;
  readonly vehicleId: string;
  readonly ownerSecretKey: Uint8Array;
  readonly devicePublicKey: Uint8Array;
  /** The agent's permissions (the owner revokes through them, as `qood grants revoke` does). */
  readonly permissions: Permissions;
  readonly print: (line: string) => void;
}

/** One step of the script, at a fraction of the run (or a second count when the run is open-ended). */
export type GranteeAct = 'grant' | 'lock' | 'unlock' | 'revoke' | 'after-revoke';

export class DemoGrantees {
  readonly #insurerSecret = new Uint8Array(randomBytes(32));
  readonly #insurer = new Ed25519Signer(this.#insurerSecret);
  readonly #sharing = new Ed25519Signer(new Uint8Array(randomBytes(32)));
  readonly #link: Uplink;
  readonly #reader: ListenerReader;
  readonly #o: DemoGranteesOptions;
  #listenId = '';
  #controlId = '';
  #revokedAtMs: number | undefined;
  #listened = 0;
  #listenedAfterRevoke = 0;
  #lastPrintMs = 0;
  readonly #receipts: { command: string; outcome: string; reason: string; frames: number }[] = [];
  readonly #pending = new Map<string, string>();

  constructor(options: DemoGranteesOptions) {
    this.#o = options;
    this.#reader = new ListenerReader(this.#insurerSecret, options.devicePublicKey);
    this.#link = openMqttUplink({ url: options.brokerUrl, clientId: 'demo-grantees', protocolVersion: 4 });
    this.#link.onMessage((topic, payload) => this.#onMessage(topic, payload));
  }

  /** Connects and subscribes. */
  async start(): Promise<void> {
    const until = Date.now() + 5000;
    while (!this.#link.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const v = this.#o.vehicleId;
    await this.#link.subscribe(`qood/v1/${v}/listen/+`);
    await this.#link.subscribe(`qood/v1/${v}/control/+/receipt`);
  }

  async act(what: GranteeAct): Promise<void> {
    const { print, permissions } = this.#o;
    switch (what) {
      case 'grant': {
        const common = {
          ownerSecretKey: this.#o.ownerSecretKey,
          vehicleId: this.#o.vehicleId,
          fromMs: Date.now() - 1000,
          toMs: Date.now() + 3_600_000,
        };
        const listen = issueGrant({
          ...common,
          grantee: toHex(this.#insurer.publicKey),
          kind: 'listen',
          scope: ['Vehicle.Speed', 'Vehicle.CurrentLocation.Latitude', 'Vehicle.CurrentLocation.Longitude'],
          terms: {
            ...BASE_TERMS,
            rateHz: 1,
            granularity: new Map([
              ['Vehicle.Speed', 10],
              ['Vehicle.CurrentLocation.Latitude', 0.01],
              ['Vehicle.CurrentLocation.Longitude', 0.01],
            ]),
          },
          nonce: 1,
        });
        const control = issueGrant({
          ...common,
          grantee: toHex(this.#sharing.publicKey),
          kind: 'control',
          scope: ['lock', 'unlock'],
          terms: { ...BASE_TERMS, whileEngineRunning: true },
          nonce: 2,
        });
        this.#listenId = listen.id;
        this.#controlId = control.id;
        await this.#link.publish(`qood/v1/${this.#o.vehicleId}/down/grant`, listen.bundle);
        await this.#link.publish(`qood/v1/${this.#o.vehicleId}/down/grant`, control.bundle);
        print(
          `owner grants: insurer may listen to speed (10 km/h steps) and location (0.01°) at 1 Hz [${listen.id.slice(0, 8)}]; car-sharing may lock and unlock [${control.id.slice(0, 8)}]`,
        );
        return;
      }
      case 'lock':
      case 'unlock':
      case 'after-revoke': {
        const command = what === 'lock' ? 'lock' : 'unlock';
        const bytes = signCommand(
          {
            grantId: this.#controlId,
            command,
            args: {},
            nonce: toHex(new Uint8Array(randomBytes(16))),
            issuedMs: Date.now(),
          },
          this.#sharing,
        );
        this.#pending.set(this.#controlId, command);
        await this.#link.publish(`qood/v1/${this.#o.vehicleId}/control/${this.#controlId}/cmd`, bytes);
        return;
      }
      case 'revoke': {
        for (const id of [this.#listenId, this.#controlId]) permissions.revoke(id);
        this.#revokedAtMs = Date.now();
        print(
          'owner revokes both grants on the device (qood grants revoke): effective at once, a revoke is queued for the chain',
        );
        return;
      }
    }
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (topic.endsWith(`/listen/${this.#listenId}`)) {
      try {
        const m = this.#reader.open(payload);
        this.#listened++;
        if (this.#revokedAtMs !== undefined && m.tMs > this.#revokedAtMs) this.#listenedAfterRevoke++;
        if (Date.now() - this.#lastPrintMs >= 2000) {
          this.#lastPrintMs = Date.now();
          this.#o.print(
            `insurer decrypts: ${m.values.map(([p, v]) => `${p.replace('Vehicle.', '')}=${String(v)}`).join('  ')}`,
          );
        }
      } catch {
        // Not for this reader: counted nowhere, as a grantee would.
      }
      return;
    }
    if (topic.endsWith('/receipt')) {
      let r: Receipt;
      try {
        r = openReceipt(payload, this.#o.devicePublicKey);
      } catch {
        return;
      }
      const command = this.#pending.get(r.grantId ?? '') ?? '?';
      this.#receipts.push({ command, outcome: r.outcome, reason: r.reason, frames: r.framesWritten });
      this.#o.print(
        `car-sharing ${command}: ${r.outcome}${r.reason === 'OK' ? '' : ` (${r.reason}${r.detail ? `: ${r.detail}` : ''})`}, ${r.framesWritten} frame(s) written, receipt signed by the device`,
      );
    }
  }

  report(): GranteeReport {
    return {
      listened: this.#listened,
      listenedAfterRevoke: this.#listenedAfterRevoke,
      receipts: [...this.#receipts],
    };
  }

  close(): Promise<void> {
    return this.#link.close();
  }
}
