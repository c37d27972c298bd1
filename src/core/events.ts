/** Progress events emitted by core services; the CLI renders them (listr2, plain lines, or JSON lines). */
export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ProgressEvent {
  readonly kind: 'phase-start' | 'phase-end' | 'phase-fail' | 'message';
  readonly phase?: string;
  readonly level: EventLevel;
  readonly message: string;
  readonly runId?: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface EventSink {
  emit(event: ProgressEvent): void;
}

export const nullSink: EventSink = {emit: () => undefined};

/** Collects events in memory (used by tests and by commands that report them afterwards). */
export class MemorySink implements EventSink {
  readonly events: ProgressEvent[] = [];
  emit(event: ProgressEvent): void {
    this.events.push(event);
  }
}
