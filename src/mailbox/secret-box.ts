import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../shared/app-error.ts';

/**
 * Secrets at rest: AES-256-GCM with RAPPORT_SECRET_KEY (32 bytes as 64 hex
 * characters or base64). Stored as 'v1:' + base64(iv | tag | ciphertext).
 */
export function parseSecretKey(key: string | undefined): Buffer {
  if (!key) throw new AppError('SECRET_KEY_MISSING', 'RAPPORT_SECRET_KEY is not set: it is needed to store or read account secrets (32 bytes, e.g. `openssl rand -hex 32`)');
  const k = key.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(k)) bytes = Buffer.from(k, 'hex');
  else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(k)) bytes = Buffer.from(k.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!bytes || bytes.length !== 32) throw new AppError('SECRET_KEY_INVALID', 'RAPPORT_SECRET_KEY must be 32 bytes: 64 hex characters or 44 base64 characters');
  return bytes;
}

export function encryptSecret(plain: string, key: string | undefined): string {
  const k = parseSecretKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

export function decryptSecret(stored: string, key: string | undefined): string {
  const k = parseSecretKey(key);
  if (!stored.startsWith('v1:')) throw new AppError('SECRET_KEY_INVALID', 'stored secret has an unknown format');
  const data = Buffer.from(stored.slice(3), 'base64');
  if (data.length < 28) throw new AppError('SECRET_KEY_INVALID', 'stored secret is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', k, data.subarray(0, 12));
    decipher.setAuthTag(data.subarray(12, 28));
    return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new AppError('SECRET_KEY_INVALID', 'RAPPORT_SECRET_KEY does not decrypt the stored secret (was the key changed?)');
  }
}
