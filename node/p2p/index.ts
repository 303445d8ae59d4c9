/** Peer-to-peer between nodes: frames, messages, the handshake, peers and the network over TCP. */
export { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, FrameError } from './frame.js';
export {
  answerHello,
  authMessage,
  checkAuth,
  checkHello,
  type HandshakeContext,
  type Hello,
  handshakeTranscript,
} from './handshake.js';
export {
  type AdmissionLimits,
  BAN_SCORE,
  DEFAULT_ADMISSION,
  type NetworkLog,
  type NetworkOptions,
  type NetworkStats,
  type PeerAddress,
  type PeerInfo,
  PeerNetwork,
  type Transport,
} from './network.js';
export { DEFAULT_PEER_LIMITS, PENALTY, Peer, type PeerClose, type PeerLimits } from './peer.js';
export {
  deriveSessionKeys,
  type EphemeralKey,
  FrameOpener,
  FrameSealer,
  newEphemeralKey,
  SEAL_OVERHEAD_BYTES,
  type SessionKeys,
} from './seal.js';
export { type ByteLink, dialTcp, listenTcp, type TcpListener } from './tcp.js';
export {
  decodeP2p,
  encodeP2p,
  MAX_BLOCKS_PER_MESSAGE,
  P2P_TYPES,
  P2P_VERSION,
  type P2pMessage,
  P2pWireError,
  type RangeEntry,
} from './wire.js';

import type { Transport } from './network.js';
import { dialTcp, listenTcp } from './tcp.js';

/** The TCP transport a node uses. */
export const tcpTransport: Transport = { listen: listenTcp, dial: dialTcp };
