/**
 * Transaction bytes: the body of each kind as a positional array, the envelope, signing, and
 * decoding that refuses anything malformed with the field's path (CodecError).
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readAmount, readArray, readBytes, readText, readUint } from '../codec/fields.js';
import type { Ed25519Signer } from '../crypto/ed25519.js';
import { taggedHash, toHex } from '../crypto/hash.js';
import { MAX_KEY_BUNDLE_BYTES } from '../data/key-bundle.js';
import {
  type AgreementTerms,
  type SignedTx,
  TOKENS,
  TX_KINDS,
  type TxBodies,
  type TxKind,
  type UnsignedTx,
} from './types.js';

export const TX_VERSION = 1;
const b32 = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const addr = (v: CanonicalValue | undefined, path: string) => toHex(readBytes(v, path, 32));
const KIND_NAMES = Object.fromEntries(Object.entries(TX_KINDS).map(([k, n]) => [n, k])) as Record<
  number,
  TxKind
>;

/** The terms' canonical value, which both agreement parties sign (taggedHash 'qood/agreement/v1'). */
export function agreementTermsValue(t: AgreementTerms): CanonicalValue {
  return [
    b32(t.vehicle),
    b32(t.owner),
    b32(t.oem),
    t.version,
    t.classes.map((c) => [c.name, c.holder, c.privacy]),
    t.split.map((s) => [b32(s.party), s.bps]),
  ];
}

/** What the owner and the OEM each sign for an agreement. */
export function agreementTermsHash(t: AgreementTerms): Uint8Array {
  return taggedHash('qood/agreement/v1', encodeCanonical(agreementTermsValue(t)));
}

function readTerms(v: CanonicalValue | undefined, p: string): AgreementTerms {
  const a = readArray(v, p, 6);
  return {
    vehicle: addr(a[0], `${p}.vehicle`),
    owner: addr(a[1], `${p}.owner`),
    oem: addr(a[2], `${p}.oem`),
    version: readUint(a[3], `${p}.version`),
    classes: readArray(a[4], `${p}.classes`).map((c, i) => {
      const x = readArray(c, `${p}.classes[${i}]`, 3);
      return {
        name: readText(x[0], `${p}.classes[${i}].name`, 64),
        holder: readUint(x[1], `${p}.classes[${i}].holder`, 2),
        privacy: readUint(x[2], `${p}.classes[${i}].privacy`, 1),
      };
    }),
    split: readArray(a[5], `${p}.split`).map((s, i) => {
      const x = readArray(s, `${p}.split[${i}]`, 2);
      return {
        party: addr(x[0], `${p}.split[${i}].party`),
        bps: readUint(x[1], `${p}.split[${i}].bps`, 10000),
      };
    }),
  };
}

/** The body's canonical value. */
export function bodyValue(tx: UnsignedTx): CanonicalValue {
  switch (tx.kind) {
    case 'transfer':
      return [b32(tx.body.to), TOKENS[tx.body.token], tx.body.amount, tx.body.memo];
    case 'issue':
      return [b32(tx.body.to), tx.body.amount];
    case 'redeem':
    case 'stake':
    case 'unstake':
      return [tx.body.amount];
    case 'withdraw':
      return [];
    case 'registerProducer':
      return [tx.body.url];
    case 'vote':
      return [tx.body.producers.map(b32)];
    case 'doubleSign':
      return [tx.body.a, tx.body.b];
    case 'registerVehicle':
      return [b32(tx.body.vehicle)];
    case 'bindDevice':
      return [b32(tx.body.vehicle), b32(tx.body.device)];
    case 'agreement':
      return [agreementTermsValue(tx.body.terms), tx.body.ownerSignature, tx.body.oemSignature];
    case 'descriptor': {
      const d = tx.body;
      return [b32(d.agreement), d.merkleRoot, d.chunkCount, d.dataClass, d.fromMs, d.toMs, d.dictionary];
    }
    case 'order':
      return [tx.body.side === 'buy' ? 0 : 1, b32(tx.body.descriptor), tx.body.price, tx.body.expiresHeight];
    case 'cancelOrder':
      return [b32(tx.body.order)];
    case 'fill':
      return [b32(tx.body.order), tx.body.commitment];
    case 'reveal':
      return [b32(tx.body.order), tx.body.wrappedKey];
    case 'grant': {
      const g = tx.body;
      return [
        b32(g.vehicle),
        b32(g.grantee),
        g.kind === 'listen' ? 0 : 1,
        [...g.scope],
        g.fromMs,
        g.toMs,
        g.termsHash,
        // Only present when the owner offers an extension, so grants without one keep their bytes.
        ...(g.extension === undefined
          ? []
          : [[g.extension.pricePerHour, g.extension.latestEndMs, g.extension.entryPaid]]),
      ];
    }
    case 'revoke':
      return [b32(tx.body.grant)];
    case 'controlExec':
      return [b32(tx.body.grant), tx.body.command, tx.body.argsHash, tx.body.resultCode];
    case 'listenerPay':
      return [b32(tx.body.grant), tx.body.amount, tx.body.extendToMs];
  }
}

function readBody<K extends TxKind>(kind: K, v: CanonicalValue | undefined): TxBodies[K] {
  const p = 'tx.body';
  const body = (n: number) => readArray(v, p, n);
  const r = (): TxBodies[TxKind] => {
    switch (kind as TxKind) {
      case 'transfer': {
        const a = body(4);
        const token = readUint(a[1], `${p}.token`, 1) === 0 ? 'QDT' : 'QDD';
        return {
          to: addr(a[0], `${p}.to`),
          token,
          amount: readAmount(a[2], `${p}.amount`),
          memo: readBytes(a[3], `${p}.memo`, undefined, 64),
        };
      }
      case 'issue': {
        const a = body(2);
        return { to: addr(a[0], `${p}.to`), amount: readAmount(a[1], `${p}.amount`) };
      }
      case 'redeem':
      case 'stake':
      case 'unstake':
        return { amount: readAmount(body(1)[0], `${p}.amount`) };
      case 'withdraw':
        body(0);
        return {};
      case 'registerProducer':
        return { url: readText(body(1)[0], `${p}.url`, 128) };
      case 'vote':
        return {
          producers: readArray(body(1)[0], `${p}.producers`).map((x, i) => addr(x, `${p}.producers[${i}]`)),
        };
      case 'doubleSign': {
        const a = body(2);
        return { a: a[0]!, b: a[1]! };
      }
      case 'registerVehicle':
        return { vehicle: addr(body(1)[0], `${p}.vehicle`) };
      case 'bindDevice': {
        const a = body(2);
        return { vehicle: addr(a[0], `${p}.vehicle`), device: addr(a[1], `${p}.device`) };
      }
      case 'agreement': {
        const a = body(3);
        return {
          terms: readTerms(a[0], `${p}.terms`),
          ownerSignature: readBytes(a[1], `${p}.ownerSignature`, 64),
          oemSignature: readBytes(a[2], `${p}.oemSignature`, 64),
        };
      }
      case 'descriptor': {
        const a = body(7);
        return {
          agreement: addr(a[0], `${p}.agreement`),
          merkleRoot: readBytes(a[1], `${p}.merkleRoot`, 32),
          chunkCount: readUint(a[2], `${p}.chunkCount`),
          dataClass: readText(a[3], `${p}.dataClass`, 64),
          fromMs: readUint(a[4], `${p}.fromMs`),
          toMs: readUint(a[5], `${p}.toMs`),
          dictionary: readText(a[6], `${p}.dictionary`, 64),
        };
      }
      case 'order': {
        const a = body(4);
        return {
          side: readUint(a[0], `${p}.side`, 1) === 0 ? 'buy' : 'sell',
          descriptor: addr(a[1], `${p}.descriptor`),
          price: readAmount(a[2], `${p}.price`),
          expiresHeight: readUint(a[3], `${p}.expiresHeight`),
        };
      }
      case 'cancelOrder':
        return { order: addr(body(1)[0], `${p}.order`) };
      case 'fill': {
        const a = body(2);
        return { order: addr(a[0], `${p}.order`), commitment: readBytes(a[1], `${p}.commitment`, 32) };
      }
      case 'reveal': {
        const a = body(2);
        return {
          order: addr(a[0], `${p}.order`),
          wrappedKey: readBytes(a[1], `${p}.wrappedKey`, undefined, MAX_KEY_BUNDLE_BYTES),
        };
      }
      case 'grant': {
        const a = readArray(v, p);
        if (a.length !== 7 && a.length !== 8)
          throw new CodecError('SHAPE', p, `expected 7 or 8 items, got ${a.length}`);
        const x = a.length === 8 ? readArray(a[7], `${p}.extension`, 3) : undefined;
        return {
          vehicle: addr(a[0], `${p}.vehicle`),
          grantee: addr(a[1], `${p}.grantee`),
          kind: readUint(a[2], `${p}.kind`, 1) === 0 ? 'listen' : 'control',
          scope: readArray(a[3], `${p}.scope`).map((s, i) => readText(s, `${p}.scope[${i}]`, 128)),
          fromMs: readUint(a[4], `${p}.fromMs`),
          toMs: readUint(a[5], `${p}.toMs`),
          termsHash: readBytes(a[6], `${p}.termsHash`, 32),
          ...(x === undefined
            ? {}
            : {
                extension: {
                  pricePerHour: readAmount(x[0], `${p}.extension.pricePerHour`),
                  latestEndMs: readUint(x[1], `${p}.extension.latestEndMs`),
                  entryPaid: readAmount(x[2], `${p}.extension.entryPaid`),
                },
              }),
        };
      }
      case 'revoke':
        return { grant: addr(body(1)[0], `${p}.grant`) };
      case 'controlExec': {
        const a = body(4);
        return {
          grant: addr(a[0], `${p}.grant`),
          command: readText(a[1], `${p}.command`, 64),
          argsHash: readBytes(a[2], `${p}.argsHash`, 32),
          resultCode: readUint(a[3], `${p}.resultCode`, 0xffff),
        };
      }
      case 'listenerPay': {
        const a = body(3);
        return {
          grant: addr(a[0], `${p}.grant`),
          amount: readAmount(a[1], `${p}.amount`),
          extendToMs: readUint(a[2], `${p}.extendToMs`),
        };
      }
    }
  };
  return r() as TxBodies[K];
}

/** The unsigned transaction's canonical value. */
export function unsignedTxValue(tx: UnsignedTx): CanonicalValue {
  return [TX_VERSION, tx.chainId, TX_KINDS[tx.kind], b32(tx.sender), tx.nonce, tx.fee, bodyValue(tx)];
}

/** The transaction id (what the sender signs). */
export function txId(tx: UnsignedTx): Uint8Array {
  return taggedHash('qood/tx/v1', encodeCanonical(unsignedTxValue(tx)));
}

/** Signs a transaction; the signer's public key must be the sender. */
export function signTx(tx: UnsignedTx, signer: Ed25519Signer): SignedTx {
  const id = txId(tx);
  return { tx, signature: signer.sign(id), id };
}

/** The signed transaction's bytes (what travels and what a block holds). */
export function encodeSignedTx(s: SignedTx): Uint8Array {
  return encodeCanonical([unsignedTxValue(s.tx), s.signature]);
}

/** Reads an unsigned transaction from its canonical value. */
export function readUnsignedTx(v: CanonicalValue | undefined, path = 'tx'): UnsignedTx {
  const a = readArray(v, path, 7);
  if (readUint(a[0], `${path}.version`) !== TX_VERSION)
    throw new CodecError('SHAPE', `${path}.version`, `expected version ${TX_VERSION}`);
  const kindNo = readUint(a[2], `${path}.kind`);
  const kind = KIND_NAMES[kindNo];
  if (kind === undefined) throw new CodecError('SHAPE', `${path}.kind`, `unknown transaction kind ${kindNo}`);
  return {
    chainId: readText(a[1], `${path}.chainId`, 64),
    kind,
    sender: addr(a[3], `${path}.sender`),
    nonce: readUint(a[4], `${path}.nonce`),
    fee: readAmount(a[5], `${path}.fee`),
    body: readBody(kind, a[6]),
  } as UnsignedTx;
}

/** Decodes a signed transaction; throws CodecError naming the offset or field. */
export function decodeSignedTx(bytes: Uint8Array): SignedTx {
  const a = readArray(decodeCanonical(bytes), 'signed tx', 2);
  const tx = readUnsignedTx(a[0]);
  const signature = readBytes(a[1], 'signature', 64);
  return { tx, signature, id: txId(tx) };
}
