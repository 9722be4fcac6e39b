// Why a decode or encode failed: a short index recorded in ERROR_INDEX (and a detail number in
// ERROR_DETAIL, e.g. the property identifier or the offending byte), so that JS can say what was
// wrong. `errorReasonCode` is the single table from an index to the MQTT 5 reason code that
// `decode` returns negated; src/protocol/reason-codes.ts holds the messages for the same indices
// and a test checks that both sides agree.
import { ERROR_DETAIL, ERROR_INDEX } from './record';

export const enum Rc {
  Success = 0x00,
  Unspecified = 0x80,
  Malformed = 0x81,
  ProtocolError = 0x82,
  UnsupportedVersion = 0x84,
  ClientIdInvalid = 0x85,
  TopicNameInvalid = 0x90,
  TopicAliasInvalid = 0x94,
  PacketTooLarge = 0x95,
  PayloadFormatInvalid = 0x99,
}

export const enum Err {
  None = 0,
  TypeReserved = 1,
  FlagsReserved = 2,
  RemainingLengthTooLong = 3,
  VarintNotMinimal = 4,
  TooLarge = 5,
  Truncated = 6,
  Trailing = 7,
  Utf8Invalid = 8,
  Utf8Null = 9,
  PacketIdZero = 10,
  QosInvalid = 11,
  DupWithQos0 = 12,
  TopicWildcard = 13,
  TopicEmpty = 14,
  ProtocolName = 15,
  ProtocolLevel = 16,
  ConnectReserved = 17,
  WillFlags = 18,
  WillQos = 19,
  PasswordWithoutUsername = 20,
  ClientIdInvalid = 21,
  ConnackFlags = 22,
  ConnackReturnCode = 23,
  SessionPresentOnError = 24,
  PropertyUnknown = 25,
  PropertyNotAllowed = 26,
  PropertyDuplicate = 27,
  PropertyValue = 28,
  PropertyLength = 29,
  ReasonCodeInvalid = 30,
  NoFilters = 31,
  FilterEmpty = 32,
  SubscriptionOptionsReserved = 33,
  RetainHandling = 34,
  SharedNoLocal = 35,
  ServerOnly = 36,
  SubscriptionIdFromClient = 37,
  PayloadUtf8 = 38,
  AuthDataWithoutMethod = 39,
  ResponseTopicWildcard = 40,
  ReasonListEmpty = 41,
  VersionInvalid = 42,
  // Encoder errors (encode returns -1).
  EncodeType = 43,
  EncodeField = 44,
  EncodeProperty = 45,
  EncodeSpan = 46,
  InputOutsideMemory = 47,
  SubscriptionQos = 48,
  TopicAliasZero = 49,
  Count = 50,
}

/** The MQTT 5 reason code for an error index: the one place in asm/ that makes this choice. */
export function errorReasonCode(err: i32): i32 {
  switch (err) {
    case Err.None:
      return Rc.Success;
    case Err.TooLarge:
      return Rc.PacketTooLarge;
    case Err.TopicWildcard:
      return Rc.TopicNameInvalid;
    case Err.ProtocolName:
    case Err.ProtocolLevel:
    case Err.VersionInvalid:
      return Rc.UnsupportedVersion;
    case Err.ClientIdInvalid:
      return Rc.ClientIdInvalid;
    case Err.PayloadUtf8:
      return Rc.PayloadFormatInvalid;
    // A Topic Alias of 0 is "Topic Alias invalid" [MQTT-5.0 3.3.2-8] (MQTT 5.0 §3.3.2.3.4).
    case Err.TopicAliasZero:
      return Rc.TopicAliasInvalid;
    case Err.TopicEmpty:
    case Err.SessionPresentOnError:
    case Err.PropertyDuplicate:
    case Err.PropertyValue:
    case Err.NoFilters:
    case Err.RetainHandling:
    case Err.SharedNoLocal:
    case Err.ServerOnly:
    case Err.SubscriptionIdFromClient:
    case Err.AuthDataWithoutMethod:
    case Err.ResponseTopicWildcard:
    case Err.SubscriptionQos:
      return Rc.ProtocolError;
    case Err.EncodeType:
    case Err.EncodeField:
    case Err.EncodeProperty:
    case Err.EncodeSpan:
    case Err.InputOutsideMemory:
      return Rc.Unspecified;
    default:
      return err > 0 && err < Err.Count ? Rc.Malformed : Rc.Unspecified;
  }
}

// The record the current decode/encode writes its error into (set by the entry points).
let errRec: usize = 0;

export function setErrorRecord(rec: usize): void {
  errRec = rec;
}

/** Record why the packet is rejected; returns false so that checks read `return fail(...)`. */
export function fail(err: i32, detail: i32): bool {
  store<u32>(errRec + ERROR_INDEX, err);
  store<u32>(errRec + ERROR_DETAIL, detail);
  return false;
}
