import type {Clock} from '../clock.js';

/**
 * A wake-up latch for loops that sleep between polls: wait() returns on notify() (also one that
 * came before the wait), when the time is up, or when the signal fires. All timing goes through
 * the injected Clock.
 */
export class Wakeup {
  #pending = false;
  #wake: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  notify(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted) {
      this.#pending = false;
      return;
    }
    const timer = new AbortController();
    const woken = new Promise<void>((resolve) => {
      this.#wake = resolve;
      signal?.addEventListener('abort', () => resolve(), {once: true, signal: timer.signal});
    });
    try {
      await Promise.race([woken, this.clock.sleep(ms, timer.signal).catch(() => undefined)]);
    } finally {
      this.#wake = undefined;
      timer.abort();
    }
  }
}
