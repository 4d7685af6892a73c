// The camera page's link parameters and saved settings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CAMERA_OPTIONS, defaultCameraName, readCameraOptions } from '../../src/client/camera/options.ts';

const read = (query: string, saved: string | null = null) => readCameraOptions(new URLSearchParams(query), saved);

describe('camera options', () => {
  it('defaults, and autostart with a name', () => {
    assert.deepEqual(read(''), { options: DEFAULT_CAMERA_OPTIONS, autostart: false, warnings: [], errors: [], named: false });
    assert.equal(read('name=Porch').named, true);
    assert.equal(read('', JSON.stringify({ name: 'Porch' })).named, true);
    const r = read('autostart=1&name=%20Kitchen%20&transport=mediarecorder&audio=0&resolution=480&fps=15');
    assert.equal(r.autostart, true);
    assert.deepEqual(r.options, { ...DEFAULT_CAMERA_OPTIONS, name: 'Kitchen', audio: false, resolution: 480, fps: 15, transport: 'mediarecorder' });
    assert.deepEqual(r.errors, []);
  });
  it('reads the transport, the codec and the bitrate from the link', () => {
    assert.equal(DEFAULT_CAMERA_OPTIONS.transport, 'auto');
    const r = read('transport=webcodecs&codec=vp8&bitrate=1500');
    assert.deepEqual(r.errors, []);
    assert.deepEqual([r.options.transport, r.options.codec, r.options.bitrateKbps], ['webcodecs', 'vp8', 1500]);
  });
  it('refuses bad parameters with clear errors', () => {
    const r = read(`transport=carrier-pigeon&audio=maybe&resolution=4k&fps=1000&autostart=yes&name=${'x'.repeat(65)}&codec=h265&bitrate=99`);
    assert.equal(r.errors.length, 8);
    assert.match(r.errors.join(' '), /Unknown transport "carrier-pigeon"/);
    assert.match(r.errors.join(' '), /Unknown codec "h265"/);
    assert.equal(read('name=a%07b').errors.length, 1, 'control characters');
  });
  it('uses saved settings under the link, and ignores broken saved settings', () => {
    const saved = JSON.stringify({ name: 'Porch', fps: 24, audio: false, resolution: 99 });
    assert.deepEqual(read('', saved).options, { ...DEFAULT_CAMERA_OPTIONS, name: 'Porch', fps: 24, audio: false });
    assert.equal(read('name=Door', saved).options.name, 'Door');
    assert.deepEqual(read('', '{not json').options, DEFAULT_CAMERA_OPTIONS);
  });

  it('names a camera nobody named after the device: its model where the browser says, else its kind', () => {
    const pixel = 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
    assert.equal(defaultCameraName(pixel, 'Pixel 7'), 'Pixel 7');
    assert.equal(defaultCameraName(pixel, null), 'Android phone');
    assert.equal(defaultCameraName(pixel, '  '), 'Android phone', 'an empty model');
    assert.equal(defaultCameraName(pixel, 'a\u0007b'), 'Android phone', 'not a name the server takes');
    assert.equal(defaultCameraName('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1', null), 'iPhone');
    assert.equal(defaultCameraName('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', null, 5), 'iPad', 'an iPad asks for the desktop site');
    assert.equal(defaultCameraName('Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', null), 'Camera');
  });
});
