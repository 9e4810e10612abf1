/**
 * The bytes of a fragment being received on a stream that retains nothing, on their way to the live buffer,
 * held against the live buffer's global cap (a LiveReservation) from the first byte.
 *
 * How they are stored decides whether the memory goes back to the system once the fragment is evicted: the
 * arrival-sized chunks (~64 KiB each) land in the allocator's heap, which is not given back while anything
 * allocated later sits above them; one allocation per fragment is (for large fragments) a mapping of its own,
 * unmapped when freed. So a Cluster of known size (ffmpeg, most muxers) is copied into one buffer of exactly
 * its size, reserved in full up front; a Cluster of unknown size (GStreamer, the KVS producer SDK) is kept as
 * chunks and concatenated once it ends.
 */
import type { LiveReservation } from './liveBuffer.js';

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];

/** ID + size field + payload of a Cluster of known size, from its first bytes; undefined if unknown or too few bytes. */
export function knownClusterSize(first: Buffer): number | undefined {
  if (first.length < 5 || CLUSTER_ID.some((b, i) => first[i] !== b)) return undefined;
  const lead = first[4]!;
  let width = 1;
  while (width <= 8 && !(lead & (0x80 >> (width - 1)))) width++;
  if (width > 8 || first.length < 4 + width) return undefined;
  let value = lead & (0xff >> width);
  let allOnes = value === 0xff >> width;
  for (let i = 1; i < width; i++) {
    value = value * 256 + first[4 + i]!;
    if (first[4 + i] !== 0xff) allOnes = false;
  }
  return allOnes ? undefined : 4 + width + value;
}

export class FragmentMemory {
  private exact?: Buffer;
  private filled = 0;
  private chunks: Buffer[] = [];
  private started = false;
  private givenUp = false;

  /** `maxBytes`: the largest fragment accepted; a larger declared size is not allocated up front. */
  constructor(
    private readonly reservation: LiveReservation,
    private readonly maxBytes: number,
  ) {}

  /** Keeps the next bytes of the cluster; false once the cap could not make room (then nothing is kept). */
  push(bytes: Buffer): boolean {
    if (this.givenUp) return false;
    if (!this.started) {
      this.started = true;
      const total = knownClusterSize(bytes);
      if (total !== undefined && total <= this.maxBytes) {
        if (!this.reservation.grow(total)) return this.giveUp();
        this.exact = Buffer.allocUnsafeSlow(total);
      }
    }
    if (this.exact && this.filled + bytes.length <= this.exact.length) {
      bytes.copy(this.exact, this.filled);
      this.filled += bytes.length;
      return true;
    }
    if (!this.reservation.grow(bytes.length)) return this.giveUp();
    this.chunks.push(Buffer.from(bytes));
    return true;
  }

  /** The cluster's bytes, once it ended; the reservation ends (the live buffer counts them from here). */
  finish(): Buffer[] | undefined {
    this.reservation.release();
    if (this.givenUp) return undefined;
    const head = this.exact ? [this.exact.subarray(0, this.filled)] : [];
    const parts = [...head, ...this.chunks];
    return parts.length <= 1 ? parts : [Buffer.concat(parts)];
  }

  /** Lets go of everything (the fragment failed, or the session ended inside it). */
  giveUp(): false {
    this.givenUp = true;
    this.reservation.release();
    this.exact = undefined;
    this.chunks = [];
    return false;
  }
}
