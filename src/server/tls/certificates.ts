// A local certificate authority and the HTTPS certificate it signs, so phones get a secure context with no manual work.
// Profile: RFC 5280 (https://www.rfc-editor.org/rfc/rfc5280) and Apple's TLS rules
// (https://support.apple.com/en-us/103769, https://support.apple.com/en-us/102028).
import { X509Certificate as NodeX509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { writeFileAtomic } from '../core/data-dir.ts';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The DNS names and IP addresses a server certificate is for. */
export interface TlsNames {
  dns: string[];
  ips: string[];
}

/** Everything the HTTPS server and the trust page need. */
export interface TlsMaterial {
  /** Server private key, PEM. */
  key: string;
  /** Server certificate chain, PEM (server certificate then CA certificate). */
  cert: string;
  /** CA certificate, PEM. */
  caCert: string;
  /** CA certificate, DER (for download). */
  caCertDer: Uint8Array;
  /** SHA-256 of the CA certificate DER, upper-case hex pairs joined by ':' (the form phones show). */
  caFingerprint256: string;
  /** Names the server certificate covers. */
  names: TlsNames;
  /** When the server certificate expires. */
  notAfter: Date;
}

/** Why a certificate could not be used. */
export type CertificateErrorCode = 'CA_DAMAGED' | 'FILE_MISSING' | 'FILE_UNREADABLE' | 'CERT_UNPARSABLE' | 'KEY_UNPARSABLE' | 'KEY_MISMATCH' | 'INVALID_NAME';

/** A certificate or key problem; the message names the file. */
export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Apple rejects TLS server certificates valid for more than 398 days. */
const SERVER_VALIDITY_DAYS = 397;
const CA_VALIDITY_DAYS = 10 * 365;
/** Re-issue the server certificate when it has less than this left. */
const RENEW_BEFORE_DAYS = 30;
/** Tolerates a phone whose clock is a little behind this machine's. */
const BACKDATE_MS = 60 * 60 * 1000;
const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const ORGANIZATION = 'websocket-webcam';

const FILES = { caKey: 'ca.key', caCert: 'ca.crt', serverKey: 'server.key', serverCert: 'server.crt' } as const;

/**
 * Loads or creates the local CA and server certificate in dataDir (creating dataDir); issues a new server certificate
 * (same CA) when `names` is not covered by the existing one, or it expires within 30 days, or the files are unreadable.
 * Private key files are written with mode 0o600.
 */
export async function ensureCertificates(
  dataDir: string,
  names: TlsNames,
  opts: { now?: Date } = {},
): Promise<TlsMaterial & { createdCa: boolean; issued: boolean; retiredCa: string | null }> {
  const now = opts.now ?? new Date();
  const wanted = normalizeNames(names);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = (name: string): string => path.join(dataDir, name);

  // The CA is kept while it outlives a fresh server certificate; replacing it means every phone must
  // trust it again, so a damaged one is never replaced behind people's backs.
  const found = await readCa(file(FILES.caCert), file(FILES.caKey));
  if ('damaged' in found) {
    throw new CertificateError(
      'CA_DAMAGED',
      `the certificate authority in ${dataDir} cannot be used: ${found.damaged}. Every phone that trusts this server trusts that CA: ` +
        `restore ${FILES.caCert} and ${FILES.caKey} from a backup, or move both aside to make a new CA (every phone must then trust it again)`,
    );
  }
  let ca = found.pair;
  const caUsable = ca !== null && ca.notAfter.getTime() - now.getTime() > (SERVER_VALIDITY_DAYS + 1) * DAY_MS;
  let createdCa = false;
  let retiredCa: string | null = null;
  if (!ca || !caUsable) {
    // A CA near its end is kept beside the new one, never overwritten.
    if (ca) retiredCa = await moveAside(dataDir, [FILES.caCert, FILES.caKey], `expired-${now.toISOString().slice(0, 10)}`);
    const created = await createCa(now);
    await writeFileAtomic(file(FILES.caKey), created.keyPem, 0o600);
    await writeFileAtomic(file(FILES.caCert), created.certPem, 0o644);
    ca = await readPair(file(FILES.caCert), file(FILES.caKey));
    if (!ca) throw new Error(`the CA just written to ${dataDir} cannot be read back`);
    createdCa = true;
  }

  let server = createdCa ? null : await readPair(file(FILES.serverCert), file(FILES.serverKey));
  let issued = false;
  if (!server || !serverUsable(server, ca, wanted, now)) {
    const created = await issueServerCertificate(ca, wanted, now);
    await writeFileAtomic(file(FILES.serverKey), created.keyPem, 0o600);
    await writeFileAtomic(file(FILES.serverCert), created.certPem, 0o644);
    server = await readPair(file(FILES.serverCert), file(FILES.serverKey));
    if (!server) throw new Error(`the server certificate just written to ${dataDir} cannot be read back`);
    issued = true;
  }

  const caDer = new Uint8Array(ca.cert.raw);
  return {
    key: server.keyPem,
    cert: server.certPem + ca.certPem,
    caCert: ca.certPem,
    caCertDer: caDer,
    caFingerprint256: ca.cert.fingerprint256,
    names: server.names,
    notAfter: server.notAfter,
    createdCa,
    retiredCa,
    issued,
  };
}

/** Reads a user-supplied certificate/key pair (--cert/--key), with a clear error naming the file when missing or unparsable. */
export async function loadUserCertificate(
  certPath: string,
  keyPath: string,
): Promise<{ key: string; cert: string; notAfter: Date; names: TlsNames }> {
  const certText = await readText(certPath, 'certificate');
  const keyText = await readText(keyPath, 'private key');
  let cert: NodeX509Certificate;
  try {
    if (!certText.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no "BEGIN CERTIFICATE" block');
    cert = new NodeX509Certificate(certText);
  } catch (err) {
    throw new CertificateError('CERT_UNPARSABLE', `${certPath} is not a PEM certificate (${(err as Error).message})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw new CertificateError(
      'KEY_UNPARSABLE',
      `${keyPath} is not a PEM private key; encrypted keys are not supported (${(err as Error).message})`,
    );
  }
  if (!cert.checkPrivateKey(key)) throw new CertificateError('KEY_MISMATCH', `${keyPath} is not the private key of ${certPath}`);
  const parsed = describe(cert);
  return { key: keyText, cert: certText, notAfter: parsed.notAfter, names: parsed.names };
}

// --- @peculiar/x509 loading ---------------------------------------------------------------------------------------

type X509Module = typeof import('@peculiar/x509');
let x509Module: Promise<X509Module> | undefined;

/** @peculiar/x509 with Node's WebCrypto; loaded lazily (it costs ~120 ms) after the Reflect metadata polyfill its DI container needs. */
function loadX509(): Promise<X509Module> {
  x509Module ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return x509Module;
}

// --- creating -------------------------------------------------------------------------------------------------------

interface CreatedPair {
  keyPem: string;
  certPem: string;
}

async function createCa(now: Date): Promise<CreatedPair> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const hostname = os.hostname() || 'unknown host';
  // The random suffix keeps two installs (or a re-created CA) apart in a phone's list of trusted CAs.
  const commonName = `websocket-webcam local CA (${hostname}) ${randomBytes(4).toString('hex')}`;
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ O: [ORGANIZATION] }, { CN: [commonName] }],
    keys,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING,
    extensions: [
      // pathLength 0: this CA signs server certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keyPem: await exportKeyPem(x509, keys.privateKey), certPem: cert.toString('pem') + '\n' };
}

async function issueServerCertificate(ca: StoredPair, names: TlsNames, now: Date): Promise<CreatedPair> {
  const x509 = await loadX509();
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const caKey = await crypto.subtle.importKey('pkcs8', ca.key.export({ format: 'der', type: 'pkcs8' }), EC_KEY, false, ['sign']);
  const caCert = new x509.X509Certificate(ca.cert.raw);
  const caKeyId = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.create({
    // The issuer is the CA's subject exactly as encoded, so chain building matches byte for byte.
    issuer: caCert.subjectName,
    subject: [{ O: [ORGANIZATION] }, { CN: [`websocket-webcam server (${names.dns[0] ?? names.ips[0] ?? 'local'})`] }],
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore,
    notAfter: new Date(notBefore.getTime() + SERVER_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keyPem: await exportKeyPem(x509, keys.privateKey), certPem: cert.toString('pem') + '\n' };
}

async function exportKeyPem(x509: X509Module, key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}

// --- reading and checking -------------------------------------------------------------------------------------------

interface StoredPair {
  certPem: string;
  keyPem: string;
  cert: NodeX509Certificate;
  key: KeyObject;
  notBefore: Date;
  notAfter: Date;
  names: TlsNames;
}

/** A certificate and its key from disk, or null when either is missing, unparsable, or they do not belong together. */
/**
 * A certificate and its key from disk: none (neither file exists), a pair that belongs together,
 * or why the files that exist cannot be used (half missing, unparsable, a key of another pair).
 */
async function readStored(certPath: string, keyPath: string): Promise<{ pair: StoredPair | null } | { damaged: string }> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8').catch(missingOrThrow), readFile(keyPath, 'utf8').catch(missingOrThrow)]);
  if (cert === null && key === null) return { pair: null };
  if (cert === null || key === null) return { damaged: `${path.basename(cert === null ? certPath : keyPath)} is missing` };
  let parsed: NodeX509Certificate;
  try {
    parsed = new NodeX509Certificate(cert);
  } catch {
    return { damaged: `${path.basename(certPath)} is not a certificate` };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return { damaged: `${path.basename(keyPath)} is not a private key` };
  }
  if (!parsed.checkPrivateKey(privateKey)) return { damaged: `${path.basename(keyPath)} does not belong to ${path.basename(certPath)}` };
  return { pair: { certPem: parsed.toString(), keyPem: key, cert: parsed, key: privateKey, ...describe(parsed) } };
}

/** The CA from disk, as readStored says, and damaged too when its certificate is not a CA's. */
async function readCa(certPath: string, keyPath: string): Promise<{ pair: StoredPair | null } | { damaged: string }> {
  const found = await readStored(certPath, keyPath);
  if ('pair' in found && found.pair && !found.pair.cert.ca) return { damaged: `${path.basename(certPath)} is not a CA certificate` };
  return found;
}

/** A file's text, or null when it does not exist (other errors are thrown: the server cannot tell). */
function missingOrThrow(err: unknown): null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
}

/** Renames files of the data dir with a suffix, keeping them; returns the suffix used. */
async function moveAside(dataDir: string, names: readonly string[], suffix: string): Promise<string> {
  for (const name of names) await rename(path.join(dataDir, name), path.join(dataDir, `${name}.${suffix}`));
  return suffix;
}

async function readPair(certPath: string, keyPath: string): Promise<StoredPair | null> {
  try {
    const found = await readStored(certPath, keyPath);
    return 'pair' in found ? found.pair : null;
  } catch {
    return null;
  }
}

/** Whether a stored server certificate can be served as is. */
function serverUsable(server: StoredPair, ca: StoredPair, names: TlsNames, now: Date): boolean {
  if (!server.cert.checkIssued(ca.cert) || !server.cert.verify(ca.cert.publicKey)) return false;
  if (!validAt(server, now) || server.notAfter.getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  return (
    names.dns.every((name) => server.cert.checkHost(name, { subject: 'never', wildcards: false }) !== undefined) &&
    names.ips.every((ip) => server.cert.checkIP(ip) !== undefined)
  );
}

function validAt(pair: StoredPair, now: Date): boolean {
  return pair.notBefore.getTime() <= now.getTime() && now.getTime() < pair.notAfter.getTime();
}

/**
 * Validity and subjectAltName entries of a certificate, read with Node's own parser: loading
 * @peculiar/x509 only to read them kept ~3 MB of heap for the server's whole life. Node prints the
 * entries as `DNS:name, IP Address:addr` (IPv6 written out in full); entries of other kinds, and
 * names no link could use, are left out.
 */
function describe(cert: NodeX509Certificate): { notBefore: Date; notAfter: Date; names: TlsNames } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:') && /^[A-Za-z0-9_.-]+$/.test(entry.slice(4))) dns.push(entry.slice(4));
    const ip = canonicalIp(entry.startsWith('IP Address:') ? entry.slice('IP Address:'.length) : '');
    if (ip !== null) ips.push(ip);
  }
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), names: { dns, ips } };
}

/**
 * An IP address in the one form equal addresses share (IPv6 the RFC 5952 way, "::1", as the WHATWG
 * URL parser prints it), or null when it is not one a certificate can carry (zone ids included).
 */
function canonicalIp(ip: string): string | null {
  const family = ip.includes('%') ? 0 : net.isIP(ip);
  if (family === 0) return null;
  return family === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Lower-cased, de-duplicated names; IPv6 in its canonical short form. Throws on anything a certificate cannot carry. */
function normalizeNames(names: TlsNames): TlsNames {
  const dns = new Set<string>();
  for (const raw of names.dns) {
    const name = raw.trim().toLowerCase();
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name) || name.length > 253) {
      throw new CertificateError('INVALID_NAME', `"${raw}" is not a DNS name a certificate can carry`);
    }
    dns.add(name);
  }
  const ips = new Set<string>();
  for (const raw of names.ips) {
    const ip = canonicalIp(raw.trim().toLowerCase());
    if (ip === null) throw new CertificateError('INVALID_NAME', `"${raw}" is not an IP address a certificate can carry (no zone ids)`);
    ips.add(ip);
  }
  if (dns.size === 0 && ips.size === 0) throw new CertificateError('INVALID_NAME', 'a server certificate needs at least one name or address');
  return { dns: [...dns], ips: [...ips] };
}

// --- files ----------------------------------------------------------------------------------------------------------

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CertificateError('FILE_MISSING', `${what} file ${file} does not exist`);
    throw new CertificateError('FILE_UNREADABLE', `cannot read ${what} file ${file}: ${(err as Error).message}`);
  }
}

/** Writes a whole new file then renames it into place: a crash never leaves half a key, and the mode is always applied. */
