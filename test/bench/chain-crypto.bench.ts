/**
 * The chain's crypto primitives: ed25519 verifies/s through node:crypto against @noble/curves (the
 * pure-JS floor), ChaCha20-Poly1305 MB/s against AES-256-GCM (both node:crypto) on 64 KiB buffers,
 * SHA-256 MB/s, and key wraps/s. On x86 with AES-NI GCM wins; on a Pi 4 (no AES instructions) the
 * order reverses, which is why the chain and the agent seal with ChaCha20-Poly1305.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  Ed25519Signer,
  seal,
  sha256,
  verify,
  verifyNoble,
  wrapKey,
  x25519PublicKey,
} from '../../chain/index.js';
import type { BenchSuite } from './harness.js';

const perSecond = (n: number, t0: number) => n / ((performance.now() - t0) / 1000);
const mbPerSecond = (bytes: number, t0: number) => bytes / 1e6 / ((performance.now() - t0) / 1000);

export const suite: BenchSuite = {
  name: 'chain-crypto',
  figures: () => {
    const signers = Array.from({ length: 64 }, () => new Ed25519Signer(new Uint8Array(randomBytes(32))));
    const msgs = signers.map(() => new Uint8Array(randomBytes(120)));
    const sigs = signers.map((s, i) => s.sign(msgs[i]!));
    const buf = new Uint8Array(randomBytes(64 * 1024));
    const key = new Uint8Array(randomBytes(32));
    const nonce = new Uint8Array(12);
    const BUFS = 400;
    const recipient = x25519PublicKey(new Uint8Array(randomBytes(32)));
    return Promise.resolve([
      {
        name: 'ed25519 verify (node:crypto, 120-byte messages)',
        unit: 'verifies/s',
        measure: () => {
          const t0 = performance.now();
          const n = 6000;
          for (let i = 0; i < n; i++) {
            const j = i % signers.length;
            if (!verify(sigs[j]!, msgs[j]!, signers[j]!.publicKey)) throw new Error('verify failed');
          }
          return perSecond(n, t0);
        },
        floor: {
          name: '@noble/curves verify',
          measure: () => {
            const t0 = performance.now();
            const n = 300;
            for (let i = 0; i < n; i++) {
              const j = i % signers.length;
              if (!verifyNoble(sigs[j]!, msgs[j]!, signers[j]!.publicKey)) throw new Error('verify failed');
            }
            return perSecond(n, t0);
          },
        },
      },
      {
        name: 'ed25519 sign (node:crypto, parsed key)',
        unit: 'signs/s',
        measure: () => {
          const t0 = performance.now();
          const n = 10000;
          for (let i = 0; i < n; i++) signers[i % 64]!.sign(msgs[i % 64]!);
          return perSecond(n, t0);
        },
      },
      {
        name: 'chacha20-poly1305 seal, 64 KiB',
        unit: 'MB/s',
        measure: () => {
          const t0 = performance.now();
          for (let i = 0; i < BUFS; i++) seal(key, nonce, buf);
          return mbPerSecond(BUFS * buf.length, t0);
        },
        floor: {
          name: 'aes-256-gcm (node:crypto)',
          measure: () => {
            const t0 = performance.now();
            for (let i = 0; i < BUFS; i++) {
              const c = createCipheriv('aes-256-gcm', key, nonce);
              c.update(buf);
              c.final();
              c.getAuthTag();
            }
            return mbPerSecond(BUFS * buf.length, t0);
          },
        },
        note: 'GCM needs AES instructions to compete; a Pi 4 has none',
      },
      {
        name: 'sha256, 64 KiB',
        unit: 'MB/s',
        measure: () => {
          const t0 = performance.now();
          for (let i = 0; i < BUFS; i++) sha256(buf);
          return mbPerSecond(BUFS * buf.length, t0);
        },
        floor: {
          name: 'createHash directly',
          measure: () => {
            const t0 = performance.now();
            for (let i = 0; i < BUFS; i++) createHash('sha256').update(buf).digest();
            return mbPerSecond(BUFS * buf.length, t0);
          },
        },
      },
      {
        name: 'x25519 key wrap (ephemeral + HKDF + AEAD)',
        unit: 'wraps/s',
        measure: () => {
          const t0 = performance.now();
          const n = 300;
          for (let i = 0; i < n; i++) wrapKey(key, recipient);
          return perSecond(n, t0);
        },
      },
    ]);
  },
};
