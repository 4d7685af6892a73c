import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CertificateError, ensureCertificates, loadUserCertificate, type TlsMaterial } from '../../src/server/tls/certificates.ts';
import { lanNames } from '../../src/server/tls/lan-names.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const NAMES = { dns: ['localhost', 'camera-box.local'], ips: ['127.0.0.1', '::1'] };

/** The first certificate of a PEM chain. */
function leaf(material: TlsMaterial): X509Certificate {
  return new X509Certificate(material.cert);
}

/** GETs / over HTTPS and resolves with the body; rejects on any TLS error. */
function get(port: number, options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

describe('ensureCertificates', () => {
  let root: string;
  let dir: string;
  let first: Awaited<ReturnType<typeof ensureCertificates>>;
  let firstMs: number;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'webcam-certs-'));
    dir = path.join(root, 'nested', 'data');
    const started = performance.now();
    first = await ensureCertificates(dir, NAMES);
    firstMs = performance.now() - started;
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the data directory, a CA and a server certificate, quickly', () => {
    assert.equal(first.createdCa, true);
    assert.equal(first.issued, true);
    assert.ok(firstMs < 1000, `took ${firstMs.toFixed(0)} ms`);
  });

  it('makes a CA certificate that is a CA and a server certificate that verifies against it', () => {
    const ca = new X509Certificate(first.caCert);
    const server = leaf(first);
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca));
    assert.equal(server.verify(ca.publicKey), true);
    assert.match(ca.subject, /CN=websocket-webcam local CA \(.+\) [0-9a-f]{8}/);
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extKeyUsage serverAuth
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('covers every name and address', () => {
    const server = leaf(first);
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkHost('camera-box.local'), 'camera-box.local');
    assert.equal(server.checkHost('example.com'), undefined);
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(server.checkIP('::1'));
    assert.deepEqual(first.names, NAMES);
  });

  it('puts the server certificate then the CA in the chain', () => {
    const blocks = first.cert.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.equal(blocks.length, 2);
    assert.equal(new X509Certificate(blocks[1] ?? '').fingerprint256, new X509Certificate(first.caCert).fingerprint256);
  });

  it('keeps the server certificate valid for 397 days at most', () => {
    const server = leaf(first);
    const lifetime = new Date(server.validTo).getTime() - new Date(server.validFrom).getTime();
    assert.ok(lifetime <= 397 * DAY_MS && lifetime > 390 * DAY_MS);
    assert.equal(first.notAfter.getTime(), new Date(server.validTo).getTime());
  });

  it('reports the CA fingerprint as phones show it, and its DER', () => {
    const ca = new X509Certificate(first.caCert);
    assert.equal(first.caFingerprint256, ca.fingerprint256);
    assert.match(first.caFingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(Buffer.from(first.caCertDer), ca.raw);
    const sha = createHash('sha256').update(first.caCertDer).digest('hex').toUpperCase();
    assert.equal(first.caFingerprint256.replaceAll(':', ''), sha);
  });

  it('writes private keys with mode 0600', { skip: process.platform === 'win32' }, async () => {
    for (const name of ['ca.key', 'server.key']) {
      assert.equal((await stat(path.join(dir, name))).mode & 0o777, 0o600, name);
    }
    for (const name of ['ca.crt', 'server.crt']) assert.ok((await stat(path.join(dir, name))).isFile());
  });

  it('serves TLS to a client that trusts only the CA, by name and by IP', async () => {
    const server = https.createServer({ key: first.key, cert: first.cert }, (_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      assert.equal(await get(port, { ca: first.caCert, servername: 'localhost', headers: { host: 'localhost' } }), 'hello');
      assert.equal(await get(port, { ca: first.caCert }), 'hello');
      // Without the CA, or for a name the certificate lacks, the connection is refused.
      await assert.rejects(get(port, {}), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
      await assert.rejects(get(port, { ca: first.caCert, servername: 'example.com' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reuses the files when the names are covered', async () => {
    const again = await ensureCertificates(dir, NAMES);
    assert.equal(again.createdCa, false);
    assert.equal(again.issued, false);
    assert.equal(again.caFingerprint256, first.caFingerprint256);
    assert.equal(again.cert, first.cert);
    assert.equal(again.key, first.key);
    // A subset, other spellings of the same names, or another order are covered too.
    const subset = await ensureCertificates(dir, { dns: ['LOCALHOST'], ips: ['0:0:0:0:0:0:0:1', '127.0.0.1'] });
    assert.equal(subset.issued, false);
  });

  it('issues a new server certificate from the same CA for a new address', async () => {
    const names = { dns: NAMES.dns, ips: [...NAMES.ips, '192.168.1.23'] };
    const renewed = await ensureCertificates(dir, names);
    assert.equal(renewed.createdCa, false);
    assert.equal(renewed.issued, true);
    assert.equal(renewed.caFingerprint256, first.caFingerprint256);
    assert.equal(renewed.caCert, first.caCert);
    const server = leaf(renewed);
    assert.equal(server.checkIP('192.168.1.23'), '192.168.1.23');
    assert.equal(server.verify(new X509Certificate(first.caCert).publicKey), true);
    assert.notEqual(server.serialNumber, leaf(first).serialNumber);
    assert.deepEqual(renewed.names, names);
    assert.equal((await ensureCertificates(dir, names)).issued, false);
  });

  it('re-issues a server certificate that expires within 30 days', async () => {
    const later = new Date(Date.now() + 380 * DAY_MS);
    const renewed = await ensureCertificates(dir, NAMES, { now: later });
    assert.equal(renewed.createdCa, false);
    assert.equal(renewed.issued, true);
    assert.equal(renewed.caFingerprint256, first.caFingerprint256);
    assert.ok(renewed.notAfter.getTime() > later.getTime() + 390 * DAY_MS);
    assert.equal((await ensureCertificates(dir, NAMES, { now: later })).issued, false);
  });

  it('re-issues when the server certificate is unreadable, keeping the CA', async () => {
    await writeFile(path.join(dir, 'server.crt'), 'not a certificate');
    const repaired = await ensureCertificates(dir, NAMES);
    assert.equal(repaired.issued, true);
    assert.equal(repaired.createdCa, false);
    assert.equal(repaired.caFingerprint256, first.caFingerprint256);
  });

  it('re-issues when the server key does not belong to the certificate', async () => {
    await writeFile(path.join(dir, 'server.key'), await readFile(path.join(dir, 'ca.key')));
    const repaired = await ensureCertificates(dir, NAMES);
    assert.equal(repaired.issued, true);
    assert.equal(repaired.createdCa, false);
    assert.equal(leaf(repaired).checkPrivateKey(createPrivateKey(repaired.key)), true);
  });

  it('refuses a damaged CA with what to do, and leaves its files as they were', async () => {
    const own = path.join(root, 'damaged');
    await ensureCertificates(own, NAMES);
    const cert = await readFile(path.join(own, 'ca.crt'), 'utf8');
    const cases: [string, () => Promise<void>, RegExp][] = [
      ['an empty key', () => writeFile(path.join(own, 'ca.key'), ''), /ca\.key is not a private key/],
      ['a key of another pair', async () => writeFile(path.join(own, 'ca.key'), await readFile(path.join(own, 'server.key'))), /ca\.key does not belong to ca\.crt/],
      ['a missing key', () => rm(path.join(own, 'ca.key')), /ca\.key is missing/],
      ['a certificate that is not one', async () => {
        await writeFile(path.join(own, 'ca.key'), 'x');
        await writeFile(path.join(own, 'ca.crt'), 'garbage');
      }, /ca\.crt is not a certificate/],
    ];
    for (const [what, damage, reason] of cases) {
      await damage();
      const before = await Promise.all(['ca.crt', 'ca.key'].map((f) => readFile(path.join(own, f), 'utf8').catch(() => null)));
      await assert.rejects(ensureCertificates(own, NAMES), (e: unknown) => e instanceof CertificateError && e.code === 'CA_DAMAGED' && reason.test(e.message) && /restore ca\.crt and ca\.key from a backup, or move both aside/.test(e.message), what);
      const after = await Promise.all(['ca.crt', 'ca.key'].map((f) => readFile(path.join(own, f), 'utf8').catch(() => null)));
      assert.deepEqual(after, before, `${what}: the files are left as they were`);
    }
    assert.notEqual(cert, 'garbage');
  });

  it('keeps a CA near its end beside the new one (never overwritten)', async () => {
    const own = path.join(root, 'retiring');
    const old = await ensureCertificates(own, NAMES);
    const later = new Date(Date.now() + (10 * 365 - 300) * DAY_MS);
    const renewed = await ensureCertificates(own, NAMES, { now: later });
    assert.equal(renewed.createdCa, true);
    assert.notEqual(renewed.caFingerprint256, old.caFingerprint256);
    const suffix = `expired-${later.toISOString().slice(0, 10)}`;
    assert.equal(renewed.retiredCa, suffix);
    assert.equal(new X509Certificate(await readFile(path.join(own, `ca.crt.${suffix}`), 'utf8')).fingerprint256, old.caFingerprint256);
    assert.ok((await stat(path.join(own, `ca.key.${suffix}`))).isFile());
  });

  it('rejects names a certificate cannot carry', async () => {
    await assert.rejects(ensureCertificates(dir, { dns: ['bad name'], ips: [] }), { name: 'CertificateError', code: 'INVALID_NAME' });
    await assert.rejects(ensureCertificates(dir, { dns: [], ips: ['fe80::1%eth0'] }), CertificateError);
    await assert.rejects(ensureCertificates(dir, { dns: [], ips: ['300.1.1.1'] }), CertificateError);
  });
});

describe('loadUserCertificate', () => {
  let dir: string;
  let material: TlsMaterial;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'webcam-user-cert-'));
    material = await ensureCertificates(dir, NAMES);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a certificate chain and its key', async () => {
    const loaded = await loadUserCertificate(path.join(dir, 'server.crt'), path.join(dir, 'server.key'));
    assert.equal(loaded.key, material.key);
    assert.match(loaded.cert, /BEGIN CERTIFICATE/);
    assert.deepEqual(loaded.names, NAMES);
    assert.equal(loaded.notAfter.getTime(), material.notAfter.getTime());
  });

  it('names the missing file', async () => {
    const missing = path.join(dir, 'nope.crt');
    await assert.rejects(loadUserCertificate(missing, path.join(dir, 'server.key')), (err: unknown) => {
      assert.ok(err instanceof CertificateError);
      assert.equal(err.code, 'FILE_MISSING');
      assert.ok(err.message.includes(missing), err.message);
      return true;
    });
    await assert.rejects(loadUserCertificate(path.join(dir, 'server.crt'), path.join(dir, 'nope.key')), {
      code: 'FILE_MISSING',
      message: /nope\.key/,
    });
  });

  it('names an unparsable file', async () => {
    const garbage = path.join(dir, 'garbage.pem');
    await writeFile(garbage, 'hello');
    await assert.rejects(loadUserCertificate(garbage, path.join(dir, 'server.key')), { code: 'CERT_UNPARSABLE', message: /garbage\.pem/ });
    await assert.rejects(loadUserCertificate(path.join(dir, 'server.crt'), garbage), { code: 'KEY_UNPARSABLE', message: /garbage\.pem/ });
  });

  it('rejects a key that does not belong to the certificate', async () => {
    await assert.rejects(loadUserCertificate(path.join(dir, 'server.crt'), path.join(dir, 'ca.key')), {
      code: 'KEY_MISMATCH',
      message: /ca\.key/,
    });
  });
});

describe('lanNames', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo =>
    family === 'IPv4'
      ? { address, family, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }
      : { address, family, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 };

  it('lists localhost, the host name, its .local name and every usable address', () => {
    const names = lanNames({
      hostname: () => 'Kitchen-Laptop.example.com',
      networkInterfaces: () => ({
        lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
        wlan0: [iface('192.168.1.23', 'IPv4'), iface('fe80::1c2:3ff:fe45:6789', 'IPv6'), iface('2001:db8::23', 'IPv6')],
        docker0: [iface('192.168.1.23', 'IPv4')],
      }),
    });
    assert.deepEqual(names.dns, ['localhost', 'kitchen-laptop.example.com', 'kitchen-laptop.local']);
    assert.deepEqual(names.ips, ['127.0.0.1', '::1', '192.168.1.23', '2001:db8::23']);
  });

  it('does not repeat a name that is already .local, and survives a failing interface list', () => {
    const names = lanNames({
      hostname: () => 'Mac.local',
      networkInterfaces: () => {
        throw new Error('uv_interface_addresses');
      },
    });
    assert.deepEqual(names, { dns: ['localhost', 'mac.local'], ips: [] });
  });

  it('reads this machine', () => {
    const names = lanNames();
    assert.equal(names.dns[0], 'localhost');
    assert.ok(names.ips.includes('127.0.0.1'));
    assert.ok(names.ips.every((ip) => !ip.startsWith('fe80:')));
    assert.equal(new Set(names.dns).size, names.dns.length);
  });
});
