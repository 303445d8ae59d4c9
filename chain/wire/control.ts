/**
 * Signed messages of the control and listener APIs, canonical CBOR:
 *
 *   command  = [1, grantId (32), signer (32), command (text), [[arg, int]...], nonce (16), issuedMs]
 *   signed   = [command, ed25519(signer, taggedHash("qood/control/v1", canonical(command)))]
 *
 *   pull     = [1, grantId (32), signer (32), nonce (16), issuedMs]
 *   signed   = [pull, ed25519(signer, taggedHash("qood/listen-pull/v1", canonical(pull)))]
 *
 *   receipt  = [1, grantId (32) | null, commandId (32), outcome, reason, detail, framesWritten, atMs]
 *   signed   = [receipt, ed25519(device, taggedHash("qood/receipt/v1", canonical(receipt)))]
 *
 * The signer is carried so a command signed by some other key is refused as "wrong grantee" and one
 * whose signature does not verify as "forged". The command id is the signed hash (or, for bytes
 * that do not decode, SHA-256 of the bytes), so a receipt names exactly what it answers.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { sha256, taggedHash, toHex } from '../crypto/hash.js';

/** Largest control command or pull request accepted, bytes. */
export const MAX_COMMAND_BYTES = 1024;
/** Most arguments a command carries. */
export const MAX_ARGS = 16;

/** A decoded control command (signature not yet checked). */
export interface ControlCommand {
  readonly grantId: string;
  readonly signer: string;
  readonly command: string;
  readonly args: Readonly<Record<string, number>>;
  readonly nonce: string;
  readonly issuedMs: number;
  /** taggedHash of the command value: what the signature covers, and the command's id. */
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

/** A decoded pull request. */
export interface PullRequest {
  readonly grantId: string;
  readonly signer: string;
  readonly nonce: string;
  readonly issuedMs: number;
  readonly hash: Uint8Array;
  readonly signature: Uint8Array;
}

/** Outcome of a control command as a receipt reports it. */
export type ControlOutcome = 'executed' | 'refused' | 'failed';

/** A receipt's fields. */
export interface Receipt {
  readonly grantId: string | null;
  readonly commandId: string;
  readonly outcome: ControlOutcome;
  /** `OK`, or the refusal or failure code. */
  readonly reason: string;
  readonly detail: string;
  readonly framesWritten: number;
  readonly atMs: number;
}

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

function commandValue(c: Omit<ControlCommand, 'hash' | 'signature'>): CanonicalValue {
  const args = Object.keys(c.args)
    .sort()
    .map((k) => [k, c.args[k]!]);
  return [1, hex(c.grantId), hex(c.signer), c.command, args, hex(c.nonce), c.issuedMs];
}

/** The grantee signs a command. `nonce` is 16 random bytes in hex. */
export function signCommand(
  c: Omit<ControlCommand, 'hash' | 'signature' | 'signer'>,
  signer: Ed25519Signer,
): Uint8Array {
  const value = commandValue({ ...c, signer: toHex(signer.publicKey) });
  return encodeCanonical([value, signer.sign(taggedHash('qood/control/v1', encodeCanonical(value)))]);
}

/** Decodes a command; throws CodecError naming the field. The signature is checked by the caller. */
export function decodeCommand(bytes: Uint8Array): ControlCommand {
  if (bytes.length > MAX_COMMAND_BYTES)
    throw new CodecError('SHAPE', 'command', `${bytes.length} bytes; expected at most ${MAX_COMMAND_BYTES}`);
  const top = readArray(decodeCanonical(bytes), 'command', 2);
  const a = readArray(top[0], 'command.body', 7);
  if (readUint(a[0], 'command.version') !== 1) throw new CodecError('SHAPE', 'command.version', 'expected 1');
  const argList = readArray(a[4], 'command.args');
  if (argList.length > MAX_ARGS)
    throw new CodecError('SHAPE', 'command.args', `expected at most ${MAX_ARGS}`);
  // No prototype: an argument named `__proto__` (which the signature covers) is an argument like any
  // other, not a prototype change that would drop it, and `constructor` reads nothing inherited.
  const args: Record<string, number> = Object.create(null);
  argList.forEach((x, i) => {
    const pair = readArray(x, `command.args[${i}]`, 2);
    const name = readText(pair[0], `command.args[${i}].name`, 32);
    const v = pair[1];
    if (typeof v !== 'number')
      throw new CodecError('SHAPE', `command.args[${i}].value`, 'expected an integer');
    if (Object.hasOwn(args, name)) throw new CodecError('SHAPE', `command.args[${i}]`, `duplicate '${name}'`);
    args[name] = v;
  });
  return {
    grantId: toHex(readBytes(a[1], 'command.grantId', 32)),
    signer: toHex(readBytes(a[2], 'command.signer', 32)),
    command: readText(a[3], 'command.command', 32),
    args,
    nonce: toHex(readBytes(a[5], 'command.nonce', 16)),
    issuedMs: readUint(a[6], 'command.issuedMs'),
    hash: taggedHash('qood/control/v1', encodeCanonical(top[0]!)),
    signature: readBytes(top[1], 'command.signature', 64),
  };
}

/** The grantee signs a pull request. */
export function signPull(
  p: Omit<PullRequest, 'hash' | 'signature' | 'signer'>,
  signer: Ed25519Signer,
): Uint8Array {
  const value = [1, hex(p.grantId), signer.publicKey, hex(p.nonce), p.issuedMs];
  return encodeCanonical([value, signer.sign(taggedHash('qood/listen-pull/v1', encodeCanonical(value)))]);
}

/** Decodes a pull request; throws CodecError. */
export function decodePull(bytes: Uint8Array): PullRequest {
  if (bytes.length > MAX_COMMAND_BYTES)
    throw new CodecError('SHAPE', 'pull', `${bytes.length} bytes; expected at most ${MAX_COMMAND_BYTES}`);
  const top = readArray(decodeCanonical(bytes), 'pull', 2);
  const a = readArray(top[0], 'pull.body', 5);
  if (readUint(a[0], 'pull.version') !== 1) throw new CodecError('SHAPE', 'pull.version', 'expected 1');
  return {
    grantId: toHex(readBytes(a[1], 'pull.grantId', 32)),
    signer: toHex(readBytes(a[2], 'pull.signer', 32)),
    nonce: toHex(readBytes(a[3], 'pull.nonce', 16)),
    issuedMs: readUint(a[4], 'pull.issuedMs'),
    hash: taggedHash('qood/listen-pull/v1', encodeCanonical(top[0]!)),
    signature: readBytes(top[1], 'pull.signature', 64),
  };
}

/** True when a command's or pull's signature verifies under its signer key. */
export function signatureValid(m: { hash: Uint8Array; signature: Uint8Array; signer: string }): boolean {
  try {
    return verify(m.signature, m.hash, hex(m.signer));
  } catch {
    return false;
  }
}

/** The id of bytes that did not decode: SHA-256 of them, hex. */
export function rawMessageId(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

function receiptValue(r: Receipt): CanonicalValue {
  return [
    1,
    r.grantId === null ? null : hex(r.grantId),
    hex(r.commandId),
    r.outcome,
    r.reason,
    r.detail.slice(0, 256),
    r.framesWritten,
    r.atMs,
  ];
}

/** The device signs a receipt. */
export function signReceipt(r: Receipt, device: Ed25519Signer): Uint8Array {
  const value = receiptValue(r);
  return encodeCanonical([value, device.sign(taggedHash('qood/receipt/v1', encodeCanonical(value)))]);
}

/** Decodes a receipt and checks the device's signature; throws CodecError, or Error('BAD_SIGNATURE'). */
export function openReceipt(bytes: Uint8Array, devicePublicKey: Uint8Array): Receipt {
  const top = readArray(decodeCanonical(bytes), 'receipt', 2);
  const a = readArray(top[0], 'receipt.body', 8);
  if (
    !verify(
      readBytes(top[1], 'receipt.signature', 64),
      taggedHash('qood/receipt/v1', encodeCanonical(top[0]!)),
      devicePublicKey,
    )
  )
    throw new CodecError('SHAPE', 'receipt.signature', 'the device signature does not verify');
  const outcome = readText(a[3], 'receipt.outcome', 16);
  if (!['executed', 'refused', 'failed'].includes(outcome))
    throw new CodecError('SHAPE', 'receipt.outcome', 'expected executed | refused | failed');
  return {
    grantId: a[1] === null ? null : toHex(readBytes(a[1], 'receipt.grantId', 32)),
    commandId: toHex(readBytes(a[2], 'receipt.commandId', 32)),
    outcome: outcome as ControlOutcome,
    reason: readText(a[4], 'receipt.reason', 64),
    detail: readText(a[5], 'receipt.detail', 1024),
    framesWritten: readUint(a[6], 'receipt.framesWritten'),
    atMs: readUint(a[7], 'receipt.atMs'),
  };
}
