/**
 * Decoding SocketCAN error frames (linux/can/error.h): the error class is in the id bits, details
 * in the data bytes. Only what an operator acts on is named; the raw bytes travel with the event.
 */
import type { CanErrorKind } from './frame.js';

// Error classes (can_id bits), linux/can/error.h.
const CAN_ERR_TX_TIMEOUT = 0x001;
const CAN_ERR_LOSTARB = 0x002;
const CAN_ERR_CRTL = 0x004;
const CAN_ERR_PROT = 0x008;
const CAN_ERR_TRX = 0x010;
const CAN_ERR_ACK = 0x020;
const CAN_ERR_BUSOFF = 0x040;
const CAN_ERR_BUSERROR = 0x080;
const CAN_ERR_RESTARTED = 0x100;
// Controller status (data[1]) for CAN_ERR_CRTL.
const CAN_ERR_CRTL_RX_WARNING = 0x04;
const CAN_ERR_CRTL_TX_WARNING = 0x08;
const CAN_ERR_CRTL_RX_PASSIVE = 0x10;
const CAN_ERR_CRTL_TX_PASSIVE = 0x20;
const CAN_ERR_CRTL_ACTIVE = 0x40;

/** The kinds an error frame reports, from its class bits (`id`) and data. */
export function decodeErrorFrame(id: number, data: Uint8Array): CanErrorKind[] {
  const kinds: CanErrorKind[] = [];
  if (id & CAN_ERR_BUSOFF) kinds.push('bus-off');
  if (id & CAN_ERR_CRTL) {
    const ctrl = data[1] ?? 0;
    if (ctrl & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)) kinds.push('error-passive');
    else if (ctrl & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING)) kinds.push('error-warning');
    if (ctrl & CAN_ERR_CRTL_ACTIVE) kinds.push('error-active');
    if (!(ctrl & 0x7c)) kinds.push('controller-problem');
  }
  if (id & CAN_ERR_RESTARTED) kinds.push('restarted');
  if (id & CAN_ERR_TX_TIMEOUT) kinds.push('tx-timeout');
  if (id & CAN_ERR_LOSTARB) kinds.push('lost-arbitration');
  if (id & CAN_ERR_PROT) kinds.push('protocol-violation');
  if (id & CAN_ERR_TRX) kinds.push('transceiver');
  if (id & CAN_ERR_ACK) kinds.push('no-ack');
  if (id & CAN_ERR_BUSERROR) kinds.push('bus-error');
  return kinds;
}
