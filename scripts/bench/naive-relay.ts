// The fan-out benchmark's reference: the simplest relay there is. Same TLS (the product's own
// certificate from the data dir), same WebSocket library and settings, but every binary message a
// camera sends goes to every viewer as it is, with no parsing, no queue limits and no drops.
// Speaks just enough of the protocol for the benchmark's camera and viewers (hello → welcome).
// Argv: <port> <data dir>. Prints "listening" when ready.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../../src/shared/protocol.ts';

const [portArg, dataDir] = process.argv.slice(2);
if (!portArg || !dataDir) throw new Error('usage: naive-relay.ts <port> <data dir>');
const [key, cert, ca] = await Promise.all(['server.key', 'server.crt', 'ca.crt'].map((f) => readFile(path.join(dataDir, f), 'utf8')));
const server = createServer({ key, cert: cert! + ca! });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const viewers = new Set<WebSocket>();

wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('close', () => viewers.delete(ws));
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      for (const v of viewers) v.send(data);
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; role?: string };
    if (m.type !== 'hello') return;
    ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, role: m.role }));
    if (m.role === 'viewer') viewers.add(ws);
  });
});
server.listen(Number(portArg), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
