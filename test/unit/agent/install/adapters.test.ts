/** Adapter detection reads udev's by-id names under the target root and never picks a ttyUSB number. */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyById, findAdapters } from '../../../../agent/install/index.js';
import { fakeRoot } from '../../../support/init-root.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});
const root = (names: string[]) => {
  const r = fakeRoot(names);
  roots.push(r);
  return r;
};

describe('classifyById', () => {
  it.each([
    ['usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0', 'obd', 'FTDI'],
    ['usb-1a86_USB_Serial-if00-port0', 'obd', 'CH340'],
    ['usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0', 'obd', 'CP210x'],
    ['usb-Prolific_Technology_Inc._USB-Serial_Controller-if00-port0', 'obd', 'PL2303'],
    ['usb-u-blox_AG_-_www.u-blox.com_u-blox_7_-_GPS_GNSS_Receiver-if00', 'gnss', 'u-blox'],
    ['usb-Prolific_Technology_Inc._USB-Serial_Controller_GPS-if00-port0', 'gnss', 'GNSS receiver'],
  ])('%s is a %s adapter (%s)', (name, role, chip) => {
    expect(classifyById(name)).toEqual({ role, chip });
  });

  it('ignores devices that are not known adapters', () => {
    expect(classifyById('usb-Logitech_USB_Receiver-if02')).toBeUndefined();
  });
});

describe('findAdapters', () => {
  it('returns by-id paths as the device sees them, sorted, with their role', () => {
    const r = root([
      'usb-u-blox_AG_-_www.u-blox.com_u-blox_7_-_GPS_GNSS_Receiver-if00',
      'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0',
      'usb-Logitech_USB_Receiver-if02',
    ]);
    expect(findAdapters(r)).toEqual([
      { role: 'obd', chip: 'FTDI', path: '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0' },
      {
        role: 'gnss',
        chip: 'u-blox',
        path: '/dev/serial/by-id/usb-u-blox_AG_-_www.u-blox.com_u-blox_7_-_GPS_GNSS_Receiver-if00',
      },
    ]);
  });

  it('finds nothing, without an error, when no serial device was ever plugged in', () => {
    expect(findAdapters(root([]))).toEqual([]);
  });
});
