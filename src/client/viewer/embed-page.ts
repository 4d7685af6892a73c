// The embed page (/embed?camera=Kitchen&key=<viewer key>): one <webcam-player> filling its frame,
// for a Home Assistant iframe card, an OBS browser source or any page of the owner's. In another
// site's frame the browser sends no cookie (it is SameSite=Strict), so the page keeps the key from
// its address and opens the WebSocket with it.
import { WS_PATH } from '../../shared/protocol.ts';
import { ViewerConnection } from './connection.ts';
import { liveEdgeFromParams } from './live-edge.ts';
import { usePlayerConnection } from './webcam-player.ts';

const params = new URLSearchParams(location.search);
const key = params.get('key');
const url = new URL(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${WS_PATH}`);
if (key) url.searchParams.set('key', key);
const connection = new ViewerConnection(
  {
    player: { liveEdge: liveEdgeFromParams(params).config, lowDelay: true, batchAppends: true },
    chunks: params.get('decoder') !== 'mse',
  },
  url.href,
  key ? `/api/access?key=${encodeURIComponent(key)}` : undefined,
);
document.getElementById('player')!.setAttribute('camera', params.get('camera') ?? '');
usePlayerConnection(connection);
