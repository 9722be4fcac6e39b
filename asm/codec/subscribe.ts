// SUBSCRIBE and UNSUBSCRIBE (3.1.1 §3.8, §3.10; 5.0 §3.8, §3.10). The payload is a list of topic
// filters (with a Subscription Options byte for SUBSCRIBE). It is validated in place and left in the
// input as the LIST span; `listNext` walks it again for JS. Filter syntax ('#' last, '+' alone in
// its level, $share) is the matcher's job (asm/topic); here only what makes the bytes malformed.
import { R, V } from './context';
import { cur, lim, readString, readU8, spanLen, spanPtr } from './cursor';
import { decodePacketId } from './ack';
import { decodeProperties } from './properties';
import {
  ITEM_A,
  ITEM_VALUE,
  LIST,
  LIST_COUNT,
  PROP_MASK,
  PROP_SLOTS,
  PROPS,
  SUB_ID_COUNT,
  TYPE,
  USER_PROP_COUNT,
  setSpan,
} from './record';
import { PacketType } from './reasons';
import { Err, fail } from './status';

/** Does a filter start with "$share/"? No Local is not allowed on shared subscriptions. */
function isShared(p: usize, n: u32): bool {
  // "$sha" = 24 73 68 61, "re/" = 72 65 2f
  return n >= 7 && load<u32>(p) == 0x61687324 && load<u16>(p + 4) == 0x6572 && load<u8>(p + 6) == 0x2f;
}

function optionsOk(o: i32, p: usize, n: u32): bool {
  // [MQTT-3.1.1 3.8.3-4] [MQTT-5.0 3.8.3-5] reserved bits (7-2 in 3.1.1, 7-6 in 5.0) are 0.
  if ((o & (V == 5 ? 0xc0 : 0xfc)) != 0) return fail(Err.SubscriptionOptionsReserved, o);
  // [MQTT-3.1.1 3.8.3-4] QoS 3 is malformed in 3.1.1; [MQTT-5.0 3.8.3.1] a protocol error in 5.0.
  if ((o & 3) == 3) return fail(V == 5 ? Err.SubscriptionQos : Err.QosInvalid, o);
  if (V == 5) {
    // [MQTT-5.0 3.8.3.1] Retain Handling 3 is a protocol error.
    if (((o >> 4) & 3) == 3) return fail(Err.RetainHandling, o);
    // [MQTT-5.0 3.8.3-4] No Local on a shared subscription is a protocol error.
    if ((o & 4) != 0 && isShared(p, n)) return fail(Err.SharedNoLocal, o);
  }
  return true;
}

/** The filter list of SUBSCRIBE (withOptions) or UNSUBSCRIBE, up to the end of the packet. */
export function decodeFilters(withOptions: bool): bool {
  setSpan(R, LIST, cur, <u32>(lim - cur));
  let count: u32 = 0;
  while (cur < lim) {
    // [MQTT-3.1.1 3.8.3-1] [MQTT-5.0 3.8.3-1] filters are UTF-8 strings.
    if (!readString()) return false;
    const p = spanPtr;
    const n = spanLen;
    // [MQTT-3.1.1 4.7.3-1] [MQTT-5.0 4.7.3-1] a topic filter is at least one character long.
    if (n == 0) return fail(Err.FilterEmpty, <i32>count);
    if (withOptions) {
      const o = readU8();
      if (o < 0) return false;
      if (!optionsOk(o, p, n)) return false;
    }
    count++;
  }
  // [MQTT-3.1.1 3.8.3-3] [MQTT-5.0 3.8.3-2] SUBSCRIBE, [MQTT-3.1.1 3.10.3-2] [MQTT-5.0 3.10.3-2]
  // UNSUBSCRIBE: at least one filter.
  if (count == 0) return fail(Err.NoFilters, 0);
  store<u32>(R + LIST_COUNT, count);
  return true;
}

export function decodeSubscribe(): bool {
  if (!decodePacketId()) return false;
  const type = <i32>load<u32>(R + TYPE);
  if (V == 5) {
    // A SUBSCRIBE carries at most one Subscription Identifier [MQTT-5.0 3.8.2.1.2].
    if (!decodeProperties(R, PROPS, PROP_SLOTS, PROP_MASK, USER_PROP_COUNT, SUB_ID_COUNT, 1 << type, false)) {
      return false;
    }
  }
  return decodeFilters(type == PacketType.Subscribe);
}

/**
 * Iterate a validated filter list: the filter at `p` goes to ITEM_A, its options byte (SUBSCRIBE)
 * to ITEM_VALUE; returns the next address, or 0 at `end` or if the entry does not fit.
 */
export function listNext(rec: usize, p: usize, end: usize, withOptions: bool): usize {
  if (p >= end || end - p < 2) return 0;
  const n = (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
  const after = p + 2 + n + (withOptions ? 1 : 0);
  if (after > end) return 0;
  setSpan(rec, ITEM_A, p + 2, n);
  store<u32>(rec + ITEM_VALUE, withOptions ? <u32>load<u8>(p + 2 + n) : 0);
  return after;
}
