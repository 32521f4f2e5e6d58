import { describe, expect, it } from 'vitest';
import {
  isPortTakenError,
  memberPortRange,
  parseEphemeralRange,
} from '../../src/cluster/member-host-port.ts';

describe('member host ports: drawn outside the kernel ephemeral range', () => {
  it('parses ip_local_port_range and rejects what is not two ports in order', () => {
    expect(parseEphemeralRange('32768\t60999\n')).toEqual({ from: 32768, to: 60999 });
    expect(parseEphemeralRange('1024 65535')).toEqual({ from: 1024, to: 65535 });
    expect(parseEphemeralRange('')).toBeNull();
    expect(parseEphemeralRange('60999 32768')).toBeNull();
    expect(parseEphemeralRange('0 100')).toBeNull();
    expect(parseEphemeralRange('32768 70000')).toBeNull();
    expect(parseEphemeralRange('a b')).toBeNull();
  });

  it('takes the wider span beside the ephemeral range, none when both are too narrow', () => {
    // Linux's default: 10000–32767 below (22768 ports) beats 61000–65535 above.
    expect(memberPortRange({ from: 32768, to: 60999 })).toEqual({ from: 10000, to: 32767 });
    // An ephemeral range starting low leaves the top.
    expect(memberPortRange({ from: 10500, to: 50000 })).toEqual({ from: 50001, to: 65535 });
    // Everything ephemeral: nothing to draw from, the kernel's choice is used instead.
    expect(memberPortRange({ from: 1024, to: 65535 })).toBeNull();
    expect(memberPortRange({ from: 10500, to: 65000 })).toBeNull();
  });

  it("recognises Docker's words for a taken published port, and only those", () => {
    expect(
      isPortTakenError(
        new Error(
          '(HTTP code 500) server error - driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:46473 failed: port is already allocated',
        ),
      ),
    ).toBe(true);
    expect(
      isPortTakenError(
        new Error('Error starting userland proxy: listen tcp4 0.0.0.0:20001: bind: address already in use'),
      ),
    ).toBe(true);
    expect(isPortTakenError(new Error('(HTTP code 404) no such container'))).toBe(false);
    expect(isPortTakenError('port 5 is fine')).toBe(false);
  });
});
