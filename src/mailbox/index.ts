// The mailbox domain: IMAP sync, parsing, threading, linking threads to clients.
export { importMessage, type ImportMessageOptions, type ImportedMessage } from './import-message.ts';
export { ourAddresses } from './our-addresses.ts';
export { parseMessage } from './parse-message.ts';
export type { ParsedMessage, MailAddress } from './parsed-message.ts';
export { storeMessages, type StoreItem, type StoreOptions, type StoreResult } from './store-messages.ts';
export { linkThreads } from './linking.ts';
export { decideLink, isUs } from './link-rules.ts';
export { normalizeSubject, stripSubjectPrefixes, hasReplyPrefix } from './subject.ts';
export { newestPart } from './quote-cut.ts';
export { normalizeAddress, domainOf } from './address.ts';
export { isFreemailDomain } from './freemail.ts';
export { relayOf } from './relays.ts';
export { buildThreadTree, flattenTree } from './thread-tree.ts';
export { messageDirection } from './direction.ts';
export { addAccount, listAccounts, getAccount, findAccount, removeAccount, setAccountEnabled, getAccountCredentials, type AccountInput, type AccountView, type AccountCredentials } from './accounts.ts';
export { encryptSecret, decryptSecret } from './secret-box.ts';
