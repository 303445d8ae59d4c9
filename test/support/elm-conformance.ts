/**
 * The ELM327 conformance pairs (test/fixtures/obd/elm327_conformance_pairs.json, derived from
 * commaai/panda tests/elm_wifi.py, MIT) and the emulated car each of their tests ran against: the
 * pairs record only the adapter side, while the original tests also switched the simulated car
 * (CAN 11/29-bit, 500/250 kbit/s, K-line, a second ECU, an ECU switched off) between steps. Those
 * switches are replayed here before the step they preceded.
 */
import { readFileSync } from 'node:fs';
import type { EmulatedEcu } from '../../simulators/elm327/ecus.js';
import { TableEcu } from '../../simulators/elm327/ecus.js';
import type { Elm327Emulator, EmulatedCar } from '../../simulators/elm327/elm327-emulator.js';
import { fixturePath } from './system.js';

export interface ConformanceStep {
  readonly line: number;
  readonly send: string;
  readonly expect: string;
}

export interface ConformanceTest {
  readonly test: string;
  readonly steps: readonly ConformanceStep[];
}

/** Reads the pairs file from the repository's fixtures. */
export function readConformancePairs(): ConformanceTest[] {
  const j = JSON.parse(readFileSync(fixturePath('obd/elm327_conformance_pairs.json'), 'utf8')) as {
    tests: ConformanceTest[];
  };
  return j.tests;
}

/** The VIN the reference car simulator reports. */
export const CONFORMANCE_VIN = '1D4GP00R55B123456';

/** The reference simulator's engine ECU: 0100 -> FF FF FF FE, 010D -> 83 km/h, 0902 -> the VIN. */
export function referenceEcu(address: number): EmulatedEcu {
  const vin = [...Buffer.from(CONFORMANCE_VIN, 'latin1')];
  const can = new TableEcu(address, {
    '0100': [[0x41, 0x00, 0xff, 0xff, 0xff, 0xfe]],
    '010D': [[0x41, 0x0d, 0x53]],
    '0902': [[0x49, 0x02, 0x01, ...vin]],
  });
  const padded = [0, 0, 0, ...vin];
  const kline = new TableEcu(address, {
    '0100': [[0x41, 0x00, 0xff, 0xff, 0xff, 0xfe]],
    '010D': [[0x41, 0x0d, 0x53]],
    '0902': [0, 1, 2, 3, 4].map((i) => [0x49, 0x02, i + 1, ...padded.slice(i * 4, i * 4 + 4)]),
  });
  return {
    address,
    respond: (req, bus) => (bus === 'can' ? can.respond(req) : kline.respond(req)),
  };
}

/** The car a test starts with. */
export function carFor(test: string): EmulatedCar {
  if (test === 'test_elm_cli' || test === 'test_elm_setget_protocol' || test === 'test_elm_protocol_failure')
    return { bus: 'none', canKbps: 500, ecus: [] };
  if (/(^|_)lin(_|$)|KWP/.test(test)) return { bus: 'kwp', canKbps: 500, ecus: [referenceEcu(0x10)] };
  const ecus = [referenceEcu(0x7e8)];
  if (test === 'test_elm_send_can_multimsg') ecus.push(new TableEcu(0x7e9, { '010D': [[0x41, 0x0d, 0xfa]] }));
  return { bus: 'can11', canKbps: 500, ecus };
}

/** What the original test did to the car before a step (by the step's source line). */
export function beforeStep(test: string, line: number, car: EmulatedCar, emulator: Elm327Emulator): void {
  const set = (bus: 'can11' | 'can29', kbps: 500 | 250) => {
    car.bus = bus;
    car.canKbps = kbps;
    car.ecus = [referenceEcu(bus === 'can11' ? 0x7e8 : 0x18daf110)];
  };
  if (test === 'test_elm_protocol_autodetect_ISO15765') {
    if (line === 387) set('can11', 500);
    if (line === 392) set('can29', 500);
    if (line === 399) set('can11', 250);
    if (line === 404) set('can29', 250);
  }
  if (test === 'test_elm_can_baud' && line === 610) set('can11', 250);
  if (test === 'test_elm_interrupted_obd_cmd_resets_state' && line === 584) {
    // The pairs omit the interrupted 09FD (its reply was only partly compared): it ran the search.
    emulator.execute('09FD');
    car.ecus = [];
  }
}
