/**
 * How much CPU processes other than the bench (and the kvsd and ceiling processes it started) used
 * meanwhile: other work on a 2-core machine skews every figure, so the report says how much there was.
 * Machine busy time comes from /proc/stat; the bench's own from /proc/self/stat (its utime and stime plus
 * those of its exited children) and /proc/PID/stat of the children still running (kvsd, ceiling servers).
 */
import { readFileSync } from 'node:fs';
import { liveChildTicks } from './proc.js';

const TICK = 100; // USER_HZ on Linux

function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  void idle;
  void iowait;
  void steal;
  return user + nice + system + irq + softirq;
}

function ownTicks(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return fields[11]! + fields[12]! + fields[13]! + fields[14]! + liveChildTicks();
}

export class NoiseMeter {
  private busy = machineBusyTicks();
  private own = ownTicks();
  private at = performance.now();

  /** Average cores used by other processes since the last call. */
  lap(): number {
    const busy = machineBusyTicks();
    const own = ownTicks();
    const now = performance.now();
    const seconds = (now - this.at) / 1000;
    const other = (busy - this.busy - (own - this.own)) / TICK / seconds;
    this.busy = busy;
    this.own = own;
    this.at = now;
    return Math.max(0, other);
  }
}
