/** Where a broker gets a fresh epoch, the name of a new life of a room's seq. */
import { randomBytes } from 'node:crypto';

/**
 * Fresh epochs (16 hex characters) from a pool of random bytes: the Redis broker passes one with
 * every publish, in case it has to start the room's stream, so they must be cheap.
 */
export class EpochSource {
  private pool = Buffer.alloc(0);
  private at = 0;

  /** The next epoch; each one is handed out once. */
  next(): string {
    if (this.at + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.at = 0;
    }
    const epoch = this.pool.toString('hex', this.at, this.at + 8);
    this.at += 8;
    return epoch;
  }
}
