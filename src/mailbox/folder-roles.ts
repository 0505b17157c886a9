import type { FolderRole } from '../db/tables/mailbox.ts';

/** Localized names of the Sent folder, as servers and clients create them (compared case-insensitively, last path segment). */
export const SENT_FOLDER_NAMES = [
  'sent', 'sent items', 'sent messages', 'sent mail', '[gmail]/sent mail', '[google mail]/sent mail', 'inbox.sent', 'inbox/sent',
  '已发送', '已发送邮件', '已發送', '已傳送', '寄件備份', '寄件备份', '发件箱', '送信済み', '送信済みメール', '보낸편지함',
  'gesendet', 'gesendete elemente', 'gesendete objekte', 'enviados', 'elementos enviados', 'itens enviados', 'mensagens enviadas',
  'envoyés', 'éléments envoyés', 'messages envoyés', 'inviata', 'posta inviata', 'elementi inviati', 'verzonden', 'verzonden items',
  'skickat', 'skickade objekt', 'sendt', 'sendte elementer', 'lähetetyt', 'wysłane', 'elementy wysłane', 'odeslané', 'отправленные',
  'gönderilmiş öğeler', 'gönderilenler', 'απεσταλμένα', 'נשלחו', 'المرسلة', 'terkirim', 'đã gửi', 'ส่งแล้ว',
];

export interface ListedFolder {
  readonly path: string;
  readonly specialUse?: string | undefined;
  readonly flags?: ReadonlySet<string> | undefined;
}

/** INBOX, the Sent folder (by \Sent, else by a known name), and the configured extras that exist. */
export function pickFolders(listed: ReadonlyArray<ListedFolder>, extra: ReadonlyArray<string> = []): Array<{ path: string; role: FolderRole }> {
  const usable = listed.filter((f) => !f.flags?.has('\\Noselect') && !f.flags?.has('\\NonExistent'));
  const out: Array<{ path: string; role: FolderRole }> = [];
  const inbox = usable.find((f) => f.path.toUpperCase() === 'INBOX') ?? usable.find((f) => f.specialUse === '\\Inbox');
  if (inbox) out.push({ path: inbox.path, role: 'inbox' });
  const sent =
    usable.find((f) => f.specialUse === '\\Sent') ??
    usable.find((f) => SENT_FOLDER_NAMES.includes(f.path.toLowerCase())) ??
    usable.find((f) => SENT_FOLDER_NAMES.includes((f.path.split(/[/.]/).pop() ?? '').toLowerCase()));
  if (sent && sent !== inbox) out.push({ path: sent.path, role: 'sent' });
  for (const e of extra) {
    const f = usable.find((x) => x.path === e) ?? usable.find((x) => x.path.toLowerCase() === e.toLowerCase());
    if (f && !out.some((o) => o.path === f.path)) out.push({ path: f.path, role: 'other' });
  }
  return out;
}
