// Codec configuration boxes of MP4 sample entries, turned into WebCodecs codec strings and decoder
// descriptions (https://www.w3.org/TR/webcodecs-codec-registry/).
// Spec: ISO/IEC 14496-15 §5.3.3 (AVCDecoderConfigurationRecord, `avcC`)
//       VP Codec ISO Media File Format Binding §2.2 (`vpcC`) https://www.webmproject.org/vp9/mp4/
//       ISO/IEC 14496-1 §7.2.6 (ES_Descriptor in `esds`), ISO/IEC 14496-3 §1.6.2.1 (AudioSpecificConfig)
//       Encapsulation of Opus in ISOBMFF §4.3.2 (`dOps`) https://opus-codec.org/docs/opus_in_isobmff.html
//       RFC 7845 §5.1 (OpusHead) https://www.rfc-editor.org/rfc/rfc7845#section-5.1
// Pure code: no Node or DOM imports.
import { BoxBody } from './boxes.ts';
import { malformed, unsupported } from './errors.ts';

/** An `avcC` record's codec string `avc1.PPCCLL` (profile, constraint flags, level in hex); validates the record. */
export function avcCodec(avcC: BoxBody): string {
  const at = avcC.offset;
  const version = avcC.u8('configurationVersion');
  if (version !== 1) throw malformed(`avcC configurationVersion ${version}, not 1`, at);
  const profile = avcC.u8('AVCProfileIndication');
  const compat = avcC.u8('profile_compatibility');
  const level = avcC.u8('AVCLevelIndication');
  // Frames carry NAL units behind lengths of this size; 3 is reserved (14496-15 §5.3.3.1.2).
  const lengthSize = (avcC.u8('lengthSizeMinusOne') & 3) + 1;
  if (lengthSize === 3) throw malformed('avcC says NAL unit lengths are 3 bytes (only 1, 2 or 4 are allowed)', avcC.offset - 1);
  // The parameter sets must lie inside the record, or a decoder given it as description fails late.
  const sps = avcC.u8('numOfSequenceParameterSets') & 0x1f;
  for (let k = 0; k < sps; k++) avcC.skip(avcC.u16('sequenceParameterSetLength'), 'sequenceParameterSetNALUnit');
  const pps = avcC.u8('numOfPictureParameterSets');
  for (let k = 0; k < pps; k++) avcC.skip(avcC.u16('pictureParameterSetLength'), 'pictureParameterSetNALUnit');
  return `avc1.${hex2(profile)}${hex2(compat)}${hex2(level)}`;
}

/** VP9 levels (×10) and their largest picture in luma samples (VP9 bitstream spec Annex A). */
const VP9_LEVELS: readonly (readonly [number, number])[] = [
  [10, 36864], [11, 73728], [20, 122880], [21, 245760], [30, 552960], [31, 983040],
  [40, 2228224], [50, 8912896], [60, 35651584],
];

/**
 * A `vpcC` box's codec string `vp09.PP.LL.DD` (profile, level, bit depth, decimal). Level 0 is not a
 * VP9 level but Chromium's own MP4 muxer writes it, and WebCodecs rejects `vp09.00.00.08`: then the
 * lowest level whose picture size fits `width`×`height` is named instead (decoders only check it).
 */
export function vp9Codec(vpcC: BoxBody, width: number, height: number): string {
  const { version } = vpcC.fullBox();
  if (version > 1) throw unsupported(`vpcC version ${version} (only 0 and 1 exist)`, vpcC.offset - 4);
  const profile = vpcC.u8('profile');
  const level = vpcC.u8('level');
  // Version 1 packs bitDepth(4) chromaSubsampling(3) fullRange(1); the older version 0 bitDepth(4)
  // colorSpace(4): the bit depth is the high nibble in both.
  const bitDepth = vpcC.u8('bitDepth') >> 4;
  if (profile > 3) throw malformed(`vpcC profile ${profile} (VP9 has profiles 0 to 3)`, vpcC.offset - 3);
  if (bitDepth !== 8 && bitDepth !== 10 && bitDepth !== 12) throw malformed(`vpcC bit depth ${bitDepth} (8, 10 or 12)`, vpcC.offset - 1);
  const named = level !== 0 ? level : (VP9_LEVELS.find(([, max]) => width * height <= max) ?? [62])[0];
  return `vp09.${dec2(profile)}.${dec2(named)}.${dec2(bitDepth)}`;
}

/** What an `esds` box says about an MPEG-4 audio stream. */
export interface EsdsInfo {
  /** `mp4a.40.<audioObjectType>`. */
  codec: string;
  /** The AudioSpecificConfig (a copy): AAC decoders' description. */
  config: Uint8Array;
  /** From the AudioSpecificConfig; 0 when it does not say. */
  sampleRate: number;
  channels: number;
}

const ES_DESCRIPTOR = 0x03;
const DECODER_CONFIG_DESCRIPTOR = 0x04;
const DECODER_SPECIFIC_INFO = 0x05;
/** objectTypeIndication of MPEG-4 Audio (14496-1 Table 5); the others (MPEG-2 AAC, MP3) we do not map. */
const OTI_MPEG4_AUDIO = 0x40;
/** samplingFrequencyIndex → Hz (14496-3 Table 1.18). */
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Reads an `esds` box down to its AudioSpecificConfig. */
export function readEsds(esds: BoxBody): EsdsInfo {
  const { version } = esds.fullBox();
  if (version !== 0) throw unsupported(`esds version ${version}`, esds.offset - 4);
  const es = descriptor(esds, ES_DESCRIPTOR, 'ES_Descriptor');
  es.skip(2, 'ES_ID');
  const flags = es.u8('ES_Descriptor flags');
  if (flags & 0x80) es.skip(2, 'dependsOn_ES_ID');
  if (flags & 0x40) es.skip(es.u8('URLlength'), 'URLstring');
  if (flags & 0x20) es.skip(2, 'OCR_ES_Id');
  const dc = descriptor(es, DECODER_CONFIG_DESCRIPTOR, 'DecoderConfigDescriptor');
  const oti = dc.u8('objectTypeIndication');
  if (oti !== OTI_MPEG4_AUDIO) throw unsupported(`mp4a with objectTypeIndication 0x${hex2(oti)} (only 0x40, MPEG-4 Audio)`, dc.offset - 1);
  dc.skip(12, 'DecoderConfigDescriptor fields');
  const dsi = descriptor(dc, DECODER_SPECIFIC_INFO, 'DecoderSpecificInfo (AudioSpecificConfig)');
  const at = dsi.offset;
  const config = dsi.view(dsi.left, 'AudioSpecificConfig').slice();
  if (config.length < 2) throw malformed(`AudioSpecificConfig of ${config.length} bytes (at least 2)`, at);
  // audioObjectType(5) [escape 31: 6 more bits] samplingFrequencyIndex(4) [15: 24-bit rate] channelConfiguration(4)
  const bits = new BitReader(config);
  let aot = bits.read(5);
  if (aot === 31) aot = 32 + bits.read(6);
  if (aot === 0) throw malformed('AudioSpecificConfig with audioObjectType 0 (null object)', at);
  const rateIndex = bits.read(4);
  const sampleRate = rateIndex === 15 ? bits.read(24) : (AAC_RATES[rateIndex] ?? 0);
  const channels = bits.read(4);
  return { codec: `mp4a.40.${aot}`, config, sampleRate, channels };
}

/** Enters the next descriptor, which must have `tag`: tag byte, then a size in 1 to 4 bytes of 7 bits each. */
function descriptor(parent: BoxBody, tag: number, name: string): BoxBody {
  const at = parent.offset;
  const got = parent.u8(`${name} tag`);
  if (got !== tag) throw malformed(`esds: expected ${name} (tag ${tag}), found tag ${got}`, at);
  let size = 0;
  for (let k = 0; ; k++) {
    if (k === 4) throw malformed(`esds: ${name} size longer than 4 bytes`, at);
    const b = parent.u8(`${name} size`);
    size = size * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  parent.need(size, name);
  const body = new BoxBody(parent.buf, parent.pos, parent.pos + size, parent.base, 'esds');
  parent.pos += size;
  return body;
}

/** MSB-first bit reader over a few bytes; reads past the end give zeros (callers check lengths first). */
class BitReader {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  read(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[this.bit >> 3] ?? 0;
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
}

/** What a `dOps` box says: channel count, and an OpusHead for WebCodecs' AudioDecoder. */
export interface OpusInfo {
  channels: number;
  /** RFC 7845 §5.1 identification header, which WebCodecs takes as the Opus `description`. */
  opusHead: Uint8Array;
}

/**
 * Reads a `dOps` box and rebuilds it as an OpusHead: the same fields, but dOps is big-endian with
 * Version 0 and no magic, while OpusHead starts with "OpusHead", has Version 1 and is little-endian.
 */
export function readDops(dOps: BoxBody): OpusInfo {
  const at = dOps.offset;
  const version = dOps.u8('Version');
  if (version !== 0) throw unsupported(`dOps version ${version} (only 0)`, at);
  const channels = dOps.u8('OutputChannelCount');
  if (channels === 0) throw malformed('dOps with OutputChannelCount 0', at + 1);
  const preSkip = dOps.u16('PreSkip');
  const inputRate = dOps.u32('InputSampleRate');
  const gain = dOps.u16('OutputGain'); // signed, but copied bit for bit
  const family = dOps.u8('ChannelMappingFamily');
  const tail = family === 0 ? new Uint8Array(0) : dOps.view(2 + channels, 'ChannelMappingTable');
  if (family === 0 && channels > 2) throw malformed(`dOps mapping family 0 with ${channels} channels (at most 2)`, at + 1);
  const head = new Uint8Array(19 + tail.length);
  head.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64]); // "OpusHead"
  const dv = new DataView(head.buffer);
  dv.setUint8(8, 1);
  dv.setUint8(9, channels);
  dv.setUint16(10, preSkip, true);
  dv.setUint32(12, inputRate, true);
  dv.setUint16(16, gain, true);
  dv.setUint8(18, family);
  head.set(tail, 19);
  return { channels, opusHead: head };
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

function dec2(n: number): string {
  return n.toString().padStart(2, '0');
}
