// `npm run rotate-links`: a new access secret, so every camera, viewer and owner link stops working
// (devices that joined keep their access; `--revoke-devices` withdraws theirs too). A running server
// picks it up within seconds and prints the new links.
import { rotateSecretFile } from './access.ts';
import { configOrExit, usage } from './config.ts';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const revokeDevices = args.includes('--revoke-devices');
  const config = configOrExit(
    args.filter((a) => a !== '--revoke-devices'),
    process.env,
  );
  if (!config) {
    console.log(`npm run rotate-links -- [--data-dir DIR] [--revoke-devices]: makes new links; the old ones stop working.\n--revoke-devices: every device that joined loses its access too.\n\n${usage()}`);
    return;
  }
  if (config.token !== undefined) {
    console.error('error: the access secret is set with --token / WEBCAM_TOKEN: change it there and restart the server.');
    process.exit(2);
  }
  const file = await rotateSecretFile(config.dataDir, revokeDevices);
  console.log(`New access secret written to ${file}.`);
  console.log('Every old camera, viewer and owner link stops working.');
  console.log(
    revokeDevices
      ? 'Every device that joined loses its access too, and must open a new link.'
      : 'Devices that joined keep their access (revoke them one by one in Settings, or run this again with --revoke-devices).',
  );
  console.log('A running server switches within a few seconds and prints the new links; otherwise they are printed at the next start.');
}

void main();
