/**
 * The catalogue of stable error codes. Every AppError carries one of these.
 * Add codes here (one line each, grouped by domain); never reuse or rename one.
 */
export const ERROR_CODES = {
  // config and input
  CONFIG_INVALID: 'a configuration value is missing or malformed',
  INPUT_INVALID: 'an input value is malformed',
  INPUT_FILE_UNREADABLE: 'an input file cannot be read or parsed',
  OUTPUT_FILE_UNWRITABLE: 'an output file cannot be written',
  NOT_FOUND: 'a referenced record does not exist',
  CONFLICT: 'the change conflicts with existing data',
  // database
  DB_UNREACHABLE: 'the database server cannot be reached',
  DB_SCHEMA_NEWER: 'the database was written by a newer version of Rapport',
  DB_MIGRATION_FAILED: 'a migration failed',
  DB_QUERY_FAILED: 'a database statement failed',
  // secrets
  SECRET_KEY_MISSING: 'RAPPORT_SECRET_KEY is needed to store or read a secret',
  SECRET_KEY_INVALID: 'RAPPORT_SECRET_KEY is malformed or does not decrypt the stored secret',
  // mailbox
  IMAP_CONNECT_FAILED: 'the IMAP server cannot be reached',
  IMAP_TLS_FAILED: 'the TLS handshake with the IMAP server failed',
  IMAP_AUTH_FAILED: 'the IMAP server refused the credentials',
  IMAP_CAPABILITY_MISSING: 'the IMAP server lacks a needed capability',
  IMAP_FOLDER_GONE: 'an IMAP folder no longer exists',
  IMAP_FAILED: 'an IMAP command failed',
  MAIL_PARSE_FAILED: 'a message could not be parsed',
  // templates
  TEMPLATE_INVALID: 'a template is malformed',
  TEMPLATE_NOT_FOUND: 'no such template or locale',
  TEMPLATE_RENDER_FAILED: 'a template could not be rendered for a recipient',
  TEMPLATE_VARIABLE_MISSING: 'a required template variable has no value',
  // outbound
  SMTP_CONNECT_FAILED: 'the SMTP server cannot be reached',
  SMTP_AUTH_FAILED: 'the SMTP server refused the credentials',
  SMTP_REJECTED: 'the SMTP server rejected the message',
  SMTP_TEMPORARY: 'the SMTP server answered with a temporary failure',
  RECIPIENT_SUPPRESSED: 'the recipient is on the suppression list',
  UNSUBSCRIBE_TOKEN_INVALID: 'the unsubscribe token is invalid',
  ACCOUNT_PAUSED: 'the sending account is paused',
  // campaigns
  CAMPAIGN_INVALID: 'a campaign definition is invalid',
  // triage
  ALERT_DELIVERY_FAILED: 'a triage alert (digest email or webhook) could not be delivered',
  // generic
  INTERNAL: 'an unexpected internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
