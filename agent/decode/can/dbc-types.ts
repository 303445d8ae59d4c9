/**
 * The parsed form of a DBC file (Vector's CAN database format): messages, their signals with bit
 * layout and scaling, value tables, comments and the attributes QoodBlock uses (cycle times, J1939
 * frame format and SPNs). Ids are stored without the DBC's bit-31 "extended" flag.
 */

/** `little` is Intel (@1), `big` is Motorola (@0). */
export type ByteOrder = 'little' | 'big';

/** How the raw bits are read: an integer, or IEEE-754 single/double (SIG_VALTYPE_ 1/2). */
export type SignalValueType = 'int' | 'float32' | 'float64';

/** Which values of which multiplexer switch a signal on (SG_MUL_VAL_, or `mN` against the message's `M`). */
export interface MultiplexCondition {
  readonly multiplexer: string;
  /** Inclusive ranges of the multiplexer's raw value. */
  readonly ranges: readonly (readonly [number, number])[];
}

export interface DbcSignal {
  readonly name: string;
  /** Bit position as written in the DBC: the LSB for little-endian, the MSB (sawtooth numbering) for big-endian. */
  readonly startBit: number;
  readonly length: number;
  readonly byteOrder: ByteOrder;
  readonly signed: boolean;
  readonly valueType: SignalValueType;
  readonly factor: number;
  readonly offset: number;
  readonly minimum: number;
  readonly maximum: number;
  readonly unit: string;
  readonly receivers: readonly string[];
  /** This signal selects which multiplexed signals are present (`M`, or the `M` of `m3M`). */
  readonly isMultiplexer: boolean;
  /** Present for a multiplexed signal (`m3`, `m3M`, or SG_MUL_VAL_). */
  readonly multiplexedBy?: MultiplexCondition;
  /** Value descriptions (VAL_ or a VAL_TABLE_), raw value -> text. */
  readonly choices?: ReadonlyMap<number, string>;
  readonly comment?: string;
  /** J1939 suspect parameter number (the SPN attribute). */
  readonly spn?: number;
  /** 1-based line of the SG_ in the file. */
  readonly line: number;
}

export interface DbcMessage {
  /** Identifier without the DBC's extended flag (bit 31). */
  readonly id: number;
  readonly extended: boolean;
  readonly name: string;
  /** Payload length in bytes as the DBC declares it (up to 64 for CAN FD). */
  readonly length: number;
  readonly sender: string;
  readonly signals: readonly DbcSignal[];
  readonly comment?: string;
  /** GenMsgCycleTime, when given. */
  readonly cycleTimeMs?: number;
  /** A J1939 parameter group: matched by PGN whatever the source address. */
  readonly j1939: boolean;
  /** CAN FD frame format (VFrameFormat StandardCAN_FD / ExtendedCAN_FD). */
  readonly fd: boolean;
  readonly line: number;
}

/** Something the parser tolerated, with where it was. */
export interface DbcWarning {
  readonly line: number;
  readonly message: string;
}

export interface DbcDatabase {
  /** The file name the parser was given (`<dbc>` when none), for errors found after parsing. */
  readonly file?: string;
  readonly version: string;
  readonly nodes: readonly string[];
  readonly messages: readonly DbcMessage[];
  /** Database-level attributes (BA_ "name" value;), such as ProtocolType. */
  readonly attributes: ReadonlyMap<string, string | number>;
  readonly warnings: readonly DbcWarning[];
}

export type DbcErrorCode = 'SYNTAX' | 'DUPLICATE' | 'UNKNOWN_REFERENCE' | 'RANGE' | 'CYCLE';

/** A DBC that cannot be read: says what, where (file:line) and what was expected. */
export class DbcError extends Error {
  constructor(
    readonly code: DbcErrorCode,
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'DbcError';
  }
}
