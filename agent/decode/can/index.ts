/** DBC decoding for the agent: parse a DBC, compile it, decode frames into signal values and encode them back. */
export {
  CompiledDbc,
  CompiledMessage,
  type DecodedMessage,
  type DecodeOptions,
  type J1939Special,
  j1939Pgn,
  j1939Special,
  type SignalVisitor,
} from './compiled-dbc.js';
export { parseDbc } from './dbc-parse.js';
export {
  type ByteOrder,
  type DbcDatabase,
  DbcError,
  type DbcErrorCode,
  type DbcMessage,
  type DbcSignal,
  type DbcWarning,
  type MultiplexCondition,
  type SignalValueType,
} from './dbc-types.js';
export { compileSignal, type SignalCodec } from './signal-codec.js';

import { readFileSync } from 'node:fs';
import { CompiledDbc } from './compiled-dbc.js';
import { parseDbc } from './dbc-parse.js';

/** Reads, parses and compiles a DBC file. Throws DbcError with file:line for a file it cannot read. */
export function loadDbcFile(path: string): CompiledDbc {
  return new CompiledDbc(parseDbc(readFileSync(path, 'latin1'), path));
}
