// The record layout of src/protocol/record.ts must be the one asm/codec/record.ts compiled in.
import { describe, expect, it } from 'vitest';
import { Rec, RecordLayout } from '../../src/protocol/record.js';
import { codec } from './helpers.js';

describe('decoded record layout', () => {
  it('mirrors every offset of asm/codec/record.ts, in the same order', () => {
    const fromWasm = RecordLayout.map((_, i) => codec.exports.layoutOffset(i));
    expect(fromWasm).toEqual(RecordLayout.map((name) => Rec[name]));
    expect(codec.exports.layoutOffset(RecordLayout.length)).toBe(-1);
    expect(codec.exports.recordSize()).toBe(Rec.RECORD_SIZE);
  });
  it('keeps the property slots, the will slots and the item cell apart', () => {
    expect(Rec.PROP_SLOTS + 43 * 8).toBe(Rec.WILL_PROP_SLOTS);
    expect(Rec.WILL_PROP_SLOTS + 43 * 8).toBe(Rec.ITEM_ID);
    expect(Rec.PROP_MASK % 8).toBe(0);
  });
});
