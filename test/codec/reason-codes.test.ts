import { describe, expect, it } from 'vitest';
import { PacketType } from '../../src/protocol/packets.js';
import {
  connackReasonFromV3,
  connackReturnCodeV3,
  DECODE_ERROR_COUNT,
  decodeErrorReasonCode,
  ReasonCode,
  ReasonCodes,
  reasonAllowed,
} from '../../src/protocol/reason-codes.js';
import { codec } from './helpers.js';

describe('reason codes', () => {
  it('[MQTT-5.0 2.4] the table of packets per reason code agrees with the WASM codec for all 256 codes', () => {
    for (let rc = 0; rc < 256; rc++) {
      let mask = 0;
      for (const t of Object.values(PacketType)) if (reasonAllowed(t, rc)) mask |= 1 << t;
      expect(codec.exports.reasonCodePackets(rc), `reason code 0x${rc.toString(16)}`).toBe(mask);
    }
  });
  it('names every defined reason code once per code', () => {
    const codes = ReasonCodes.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.length).toBe(43);
  });
  it('maps every decode error to the same reason code as the WASM codec', () => {
    for (let i = 0; i < DECODE_ERROR_COUNT; i++) {
      expect(decodeErrorReasonCode(i), `error index ${i}`).toBe(codec.exports.errorReasonCode(i));
    }
  });
  it('[MQTT-3.1.1 3.2.2.3] maps 5.0 CONNACK reason codes to 3.1.1 return codes', () => {
    expect(connackReturnCodeV3(ReasonCode.SUCCESS)).toBe(0);
    expect(connackReturnCodeV3(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION)).toBe(1);
    expect(connackReturnCodeV3(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)).toBe(2);
    expect(connackReturnCodeV3(ReasonCode.SERVER_UNAVAILABLE)).toBe(3);
    expect(connackReturnCodeV3(ReasonCode.SERVER_BUSY)).toBe(3);
    expect(connackReturnCodeV3(ReasonCode.BAD_USER_NAME_OR_PASSWORD)).toBe(4);
    expect(connackReturnCodeV3(ReasonCode.NOT_AUTHORIZED)).toBe(5);
    expect(connackReturnCodeV3(ReasonCode.BANNED)).toBe(5);
    // [MQTT-3.1.1 3.1.4-1] a malformed CONNECT gets no CONNACK in 3.1.1: the connection is closed.
    expect(connackReturnCodeV3(ReasonCode.MALFORMED_PACKET)).toBeUndefined();
    expect(connackReturnCodeV3(ReasonCode.PROTOCOL_ERROR)).toBeUndefined();
    for (let rc = 0; rc <= 5; rc++) expect(connackReturnCodeV3(connackReasonFromV3(rc))).toBe(rc);
  });
});
