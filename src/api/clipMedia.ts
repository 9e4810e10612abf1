/**
 * The media of a clip: the fragments of an ON_DEMAND selection in order, as long as they share the first
 * one's codec data, up to 200 fragments and 100 MB, their samples concatenated per track, written as one
 * MP4 (src/playback/mp4Clip.ts).
 */
import type { Archive } from '../archive/archive.js';
import type { SessionSelection } from '../archive/playback.js';
import { fragmentSamples } from '../playback/demux.js';
import type { Sample } from '../playback/media.js';
import { clipMp4 } from '../playback/mp4Clip.js';
import type { StreamRecord } from '../storage/catalog.js';
import { asApiError, clusterOf, tracksOf } from './playbackSession.js';

export const CLIP_MAX_BYTES = 100 * 1024 * 1024;

export async function mp4Clip(
  archive: Archive,
  stream: StreamRecord,
  selection: Omit<SessionSelection, 'createdMs'>,
  now: number,
): Promise<Buffer> {
  const { fragments } = await archive.playback.window(stream, 'clip', { ...selection, createdMs: now }, now);
  const headerId = fragments[0]!.headerId;
  try {
    const set = await tracksOf(archive, stream, headerId);
    const samples: Sample[][] = set.tracks.map(() => []);
    let bytes = 0;
    for (const f of fragments) {
      if (f.headerId !== headerId || bytes + f.size > CLIP_MAX_BYTES) break;
      bytes += f.size;
      for (const [i, part] of fragmentSamples(await clusterOf(archive, stream, f), set).entries())
        samples[i]!.push(...part.samples);
    }
    return clipMp4(set.tracks, samples);
  } catch (err) {
    throw asApiError(err);
  }
}
