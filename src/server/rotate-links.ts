// `npm run rotate-links`: a new access secret, so every camera and viewer link (and every device's
// cookie) stops working. A running server picks it up within seconds and prints the new links.
import { rotateSecretFile } from './access.ts';
import { configOrExit, usage } from './config.ts';

async function main(): Promise<void> {
  const config = configOrExit(process.argv.slice(2), process.env);
  if (!config) {
    console.log(`npm run rotate-links -- [--data-dir DIR]: makes new links; the old ones stop working.\n\n${usage()}`);
    return;
  }
  if (config.token !== undefined) {
    console.error('error: the access secret is set with --token / WEBCAM_TOKEN: change it there and restart the server.');
    process.exit(2);
  }
  const file = await rotateSecretFile(config.dataDir);
  console.log(`New access secret written to ${file}.`);
  console.log('Every old camera and viewer link stops working, and devices that used one must open a new link.');
  console.log('A running server switches within a few seconds and prints the new links; otherwise they are printed at the next start.');
}

void main();
