/**
 * A settable clock for the session suites: pass `clock.read` where the code under test takes a
 * clock (microseconds since the epoch, like systemClock) and move time without sleeping.
 */
import { systemClock } from '../../src/db/datetime.ts';

/** A clock that follows the real one until frozen; `offset` moves it (microseconds). */
export class TestClock {
  frozen: number | null = null;
  offset = 0;
  readonly read = (): number => (this.frozen ?? systemClock()) + this.offset;
  freeze(us: number = systemClock()): void {
    this.frozen = us;
  }
  reset(): void {
    this.frozen = null;
    this.offset = 0;
  }
}
