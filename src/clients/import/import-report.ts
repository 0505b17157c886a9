import type { ImportEntity } from './columns.ts';

/** A row left out of the import, with the line people see in their editor. */
export interface RejectedRow {
  readonly line: number;
  readonly reason: string;
}

/** Something worth knowing about an imported row that did not stop it (e.g. a time zone left empty). */
export interface ImportNote {
  readonly line: number;
  readonly message: string;
}

export interface ChangeCount {
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportCounts {
  clients: ChangeCount;
  contacts: ChangeCount;
  orders: ChangeCount;
  emailsAdded: number;
  channelsAdded: number;
  domainsAdded: number;
  ownersCreated: number;
  tagsAdded: number;
  touchpointsAdded: number;
}

export interface ImportReport {
  readonly file: string;
  readonly entity: ImportEntity;
  readonly format: 'csv' | 'xlsx';
  readonly encoding?: string | undefined;
  readonly delimiter?: string | undefined;
  readonly worksheet?: string | undefined;
  readonly dryRun: boolean;
  /** True when --strict refused the whole file because of rejected rows. */
  readonly abandoned: boolean;
  readonly headerLine: number;
  /** Columns mapped: header -> field. */
  readonly columns: Readonly<Record<string, string>>;
  /** Headers not recognised for this kind of file. */
  readonly ignoredColumns: readonly string[];
  /** Data rows read (header excluded). */
  readonly rows: number;
  /** Rows imported (or that would be, with --dry-run). */
  readonly accepted: number;
  readonly rejected: readonly RejectedRow[];
  readonly notes: readonly ImportNote[];
  readonly counts: ImportCounts;
}

export function emptyCounts(): ImportCounts {
  const c = (): ChangeCount => ({ created: 0, updated: 0, unchanged: 0 });
  return { clients: c(), contacts: c(), orders: c(), emailsAdded: 0, channelsAdded: 0, domainsAdded: 0, ownersCreated: 0, tagsAdded: 0, touchpointsAdded: 0 };
}

/** True when the import wrote (or would write) nothing. */
export function changedNothing(counts: ImportCounts): boolean {
  return (
    counts.clients.created + counts.clients.updated + counts.contacts.created + counts.contacts.updated + counts.orders.created + counts.orders.updated +
      counts.emailsAdded + counts.channelsAdded + counts.domainsAdded + counts.ownersCreated + counts.tagsAdded + counts.touchpointsAdded ===
    0
  );
}
