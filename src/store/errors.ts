// What a store failure means to the operator. LMDB and the OS report a failure as an errno or an
// MDB_* code; the operator needs the store's path, what the broker was doing, and what to change,
// so each known cause maps to one remedy. Unknown causes keep their own message. A corrupt data
// file is caught here before lmdb-js opens it, since lmdb-js would crash the process instead.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { WeirError } from '../errors.js';

interface Cause {
  test: (code: unknown, message: string) => boolean;
  reason: string;
  remedy: string;
}

const CORRUPT_REMEDY =
  'move the directory aside (the broker then starts with an empty store) and keep it for a bug report';

const CAUSES: Cause[] = [
  {
    test: (code, m) => code === 'ENOSPC' || code === 'EDQUOT' || code === 28 || /no space left/i.test(m),
    reason: 'the disk is full',
    remedy: 'free space on that disk, or lower --store-max-mb to what the disk can hold',
  },
  {
    // tmpfs and some network file systems report a full disk to LMDB as EIO.
    test: (code, m) => code === 'EIO' || code === 5 || /input\/output error/i.test(m),
    reason: 'an I/O error (the disk is full or failing)',
    remedy: 'free space on that disk or check it for errors (dmesg)',
  },
  {
    test: (code, m) => code === -30792 || /MDB_MAP_FULL/.test(m),
    reason: 'the store reached its size limit',
    remedy: 'raise --store-max-mb',
  },
  {
    test: (code, m) =>
      code === 'EACCES' || code === 'EPERM' || code === 13 || code === 1 || /permission denied/i.test(m),
    reason: 'permission denied',
    remedy: "fix the directory's permissions: the broker's user must be able to read and write it",
  },
  {
    test: (code, m) => code === 'EROFS' || code === 30 || /read-only file system/i.test(m),
    reason: 'the file system is read-only',
    remedy: 'choose a --data-dir on a writable file system',
  },
  {
    test: (code) => code === 'ENOTDIR' || code === 'EEXIST' || code === 20,
    reason: 'a part of the path is a file, not a directory',
    remedy: 'choose another --data-dir, or move that file away',
  },
  {
    // MDB_INVALID, MDB_VERSION_MISMATCH, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_BAD_TXN.
    test: (code, m) =>
      [-30793, -30794, -30796, -30797, -30782].includes(code as number) ||
      /MDB_(INVALID|VERSION_MISMATCH|CORRUPTED|PAGE_NOTFOUND)|corrupt/i.test(m),
    reason: 'the store is corrupt or not an LMDB store of this version',
    remedy: CORRUPT_REMEDY,
  },
];

/**
 * The ERR_STORE error for a failure of `what` (e.g. "open", "write to") on the store at `path`,
 * naming the cause and its remedy.
 */
export function storeError(path: string, what: string, cause: unknown): WeirError {
  const err = cause as { code?: unknown; message?: unknown } | null;
  const code = err?.code;
  const message = typeof err?.message === 'string' ? err.message : String(cause);
  const known = CAUSES.find((c) => c.test(code, message));
  const text = known
    ? `cannot ${what} the store at ${path}: ${known.reason} (${message}); ${known.remedy}`
    : `cannot ${what} the store at ${path}: ${message}`;
  const error = new WeirError('ERR_STORE', text);
  error.cause = cause;
  return error;
}

function corruptStoreError(path: string, file: string, detail: string): WeirError {
  return new WeirError(
    'ERR_STORE',
    `cannot open the store at ${path}: ${file} is corrupt or not an LMDB data file (${detail}); ${CORRUPT_REMEDY}`,
  );
}

// LMDB's meta pages as lmdb-js 3.5 writes them: a 24-byte page header (pgno, txnid, pad, flags,
// lower, upper), then the magic, the format version and, in the free DB's record, the page size.
// lmdb-js crashes the process (SIGSEGV) when it opens a data file whose meta pages are garbage, so
// they are checked here first.
const P_META = 0x08;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;

function metaProblem(page: Buffer, pgno: number): string | null {
  if (page.length < 64) return `page ${pgno} is cut short`;
  if (Number(page.readBigUInt64LE(0)) !== pgno || (page.readUInt16LE(18) & P_META) === 0) {
    return `page ${pgno} is not a meta page`;
  }
  if (page.readUInt32LE(24) !== MDB_MAGIC) return `page ${pgno} has no LMDB magic number`;
  const version = page.readUInt32LE(28);
  if (version !== MDB_DATA_VERSION) return `data format version ${version}, expected ${MDB_DATA_VERSION}`;
  return null;
}

/** Throws ERR_STORE when `path`/data.mdb exists and its meta pages are not LMDB's. */
export async function checkDataFile(path: string): Promise<void> {
  const file = join(path, 'data.mdb');
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw storeError(path, 'open', e);
  });
  if (!handle) return;
  try {
    const { size } = await handle.stat();
    if (size === 0) return; // created but never committed: LMDB initialises it
    const read = async (at: number) => {
      const page = Buffer.alloc(64);
      const { bytesRead } = await handle.read(page, 0, 64, at);
      return page.subarray(0, bytesRead);
    };
    const first = await read(0);
    const pageSize = first.length >= 52 ? first.readUInt32LE(48) : 0;
    const problem =
      metaProblem(first, 0) ??
      (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0
        ? `page size ${pageSize}`
        : size < 2 * pageSize
          ? `${size} bytes, shorter than two pages`
          : metaProblem(await read(pageSize), 1));
    if (problem) throw corruptStoreError(path, file, problem);
  } finally {
    await handle.close();
  }
}
