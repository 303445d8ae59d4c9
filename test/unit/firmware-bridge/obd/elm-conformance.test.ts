import { describe, expect, it } from 'vitest';
import {
  type ElmFormat,
  parseReply,
  protocolFamily,
  replyLines,
  statusCode,
  vinFromResponses,
} from '../../../../firmware-bridge/index.js';
import { Elm327Emulator } from '../../../../simulators/elm327/elm327-emulator.js';
import {
  beforeStep,
  CONFORMANCE_VIN,
  carFor,
  readConformancePairs,
} from '../../../support/elm-conformance.js';

/** Pairs the emulator does not reproduce, with why. Empty: it reproduces all of them. */
const NOT_REPRODUCED: ReadonlyMap<number, string> = new Map();

describe('ELM327 conformance pairs (reference v1.5 chip)', () => {
  const tests = readConformancePairs();

  it('has the 154 pairs the file promises', () => {
    expect(tests.reduce((n, t) => n + t.steps.length, 0)).toBe(154);
  });

  for (const t of tests) {
    it(`emulator reproduces ${t.test} (${t.steps.length} pairs)`, () => {
      const car = carFor(t.test);
      const emu = new Elm327Emulator({ car });
      emu.execute('ATZ');
      for (const step of t.steps) {
        beforeStep(t.test, step.line, car, emu);
        if (NOT_REPRODUCED.has(step.line)) continue;
        const got = emu.execute(step.send.replace(/\r$/, '')).text;
        expect({ line: step.line, send: step.send, got }).toEqual({
          line: step.line,
          send: step.send,
          got: step.expect,
        });
      }
    });
  }

  it('every reply parses: errors typed, data decoded, no line left over', () => {
    let parsed = 0;
    for (const t of tests) {
      const car = carFor(t.test);
      const emu = new Elm327Emulator({ car });
      emu.execute('ATZ');
      for (const step of t.steps) {
        beforeStep(t.test, step.line, car, emu);
        emu.execute(step.send.replace(/\r$/, ''));
        const s = emu.settings;
        const format: ElmFormat = { family: protocolFamily(s.active ?? ''), headers: s.headers };
        const raw = step.expect.replace(/>$/, '');
        const sent = step.send.replace(/\r$/, '');
        const where = `${t.test} line ${step.line}`;
        parsed++;
        if (/^\s*a\s*t/i.test(sent) || sent === '') {
          // AT replies are text: the echo goes, `?` is typed, the rest is what the chip said.
          const lines = replyLines(raw, sent);
          expect(lines.length, where).toBeGreaterThan(0);
          expect(
            lines.some((l) => /^ATE0$/i.test(l)),
            where,
          ).toBe(false);
          expect(lines.map(statusCode), where).toEqual(
            lines.map((l) => (l === '?' ? 'UNKNOWN_COMMAND' : undefined)),
          );
          continue;
        }
        const reply = parseReply(raw, sent, format);
        expect(reply.bad, where).toEqual([]);
        const cmd = step.send.replace(/\s+/g, '').toUpperCase();
        const e = step.expect;
        if (/UNABLE TO CONNECT/.test(e))
          expect(
            reply.errors.map((x) => x.code),
            where,
          ).toEqual(['UNABLE_TO_CONNECT']);
        else if (/NO DATA/.test(e))
          expect(
            reply.errors.map((x) => x.code),
            where,
          ).toEqual(['NO_DATA']);
        else if (/CAN ERROR/.test(e))
          expect(
            reply.errors.map((x) => x.code),
            where,
          ).toEqual(['CAN_ERROR']);
        else if (/BUS INIT: \.*ERROR/.test(e))
          expect(
            reply.errors.map((x) => x.code),
            where,
          ).toEqual(['BUS_INIT_ERROR']);
        else if (/^\?|\r\?\r/.test(e))
          expect(
            reply.errors.map((x) => x.code),
            where,
          ).toEqual(['UNKNOWN_COMMAND']);
        else expect(reply.errors, where).toEqual([]);
        if (cmd === '010D' && !/ERROR|NO DATA|UNABLE/.test(e)) {
          expect(reply.messages.length, where).toBeGreaterThan(0);
          expect([...reply.messages[0]!.data], where).toEqual([0x41, 0x0d, 0x53]);
          if (t.test === 'test_elm_send_can_multimsg')
            expect(reply.messages.map((m) => [m.ecu, m.data[2]])).toEqual([
              ['7E8', 0x53],
              ['7E9', 0xfa],
            ]);
        }
        if (cmd === '0100' && !/ERROR|NO DATA|UNABLE/.test(e))
          expect([...reply.messages[0]!.data], where).toEqual([0x41, 0x00, 0xff, 0xff, 0xff, 0xfe]);
        if (cmd === '0902')
          expect(vinFromResponses(reply.messages.map((m) => m.data)), where).toBe(CONFORMANCE_VIN);
        if (/SEARCHING/.test(e)) expect(reply.info, where).toContain('SEARCHING...');
        if (/BUS INIT: OK/.test(e)) expect(reply.info, where).toContain('BUS INIT: OK');
      }
    }
    expect(parsed).toBe(154);
  });
});
