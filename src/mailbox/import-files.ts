import { open, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import { readMbox } from './mbox.ts';
import { ourAddresses } from './our-addresses.ts';
import { parseMessage } from './parse-message.ts';
import { storeMessages, type StoreItem } from './store-messages.ts';

export interface ImportFilesReport {
  readonly files: number;
  readonly messages: number;
  readonly created: number;
  readonly existing: number;
  readonly parseErrors: number;
}

async function listEml(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listEml(p)));
    else if (/\.(eml|msg822|txt)$/i.test(entry.name) || !entry.name.includes('.')) out.push(p);
  }
  return out.sort();
}

/**
 * `rapport import mail PATH`: an mbox file, an .eml file, or a folder of .eml
 * files (recursively), through the same parse, store, thread and link pipeline
 * as the sync. Idempotent: a second import stores nothing new.
 */
export async function importMailPath(db: Db, target: string, options: { batchSize?: number; onProgress?: (n: number) => void } = {}): Promise<ImportFilesReport> {
  let info;
  try {
    info = await stat(target);
  } catch (cause) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${target}: cannot be read (no such file or folder)`, { cause });
  }
  const us = await ourAddresses(db);
  const batchSize = options.batchSize ?? 200;
  let batch: StoreItem[] = [];
  let messages = 0;
  let created = 0;
  let existing = 0;
  let parseErrors = 0;
  let files = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const res = await storeMessages(db, batch, { us });
    created += res.created;
    existing += res.existing;
    batch = [];
    options.onProgress?.(messages);
  };
  const add = async (raw: Buffer): Promise<void> => {
    const parsed = await parseMessage(raw);
    if (parsed.parseError) parseErrors++;
    messages++;
    batch.push({ parsed, raw });
    if (batch.length >= batchSize) await flush();
  };
  if (info.isDirectory()) {
    for (const file of await listEml(target)) {
      files++;
      await add(await readFile(file));
    }
  } else {
    files = 1;
    const fh = await open(target, 'r');
    const probe = Buffer.alloc(5);
    await fh.read(probe, 0, 5, 0).finally(() => fh.close());
    const head = probe.toString('latin1');
    if (head === 'From ') for await (const raw of readMbox(target)) await add(raw);
    else await add(await readFile(target));
  }
  await flush();
  return { files, messages, created, existing, parseErrors };
}
