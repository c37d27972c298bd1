#!/usr/bin/env node
import * as nodeModule from 'node:module'
import {PerformanceObserver} from 'node:perf_hooks'
import v8 from 'node:v8'

// Cap V8's young generation at 8 MiB (it otherwise doubles up to 64 MiB under a high allocation
// rate): backups, restores and clones stream gigabytes through short-lived buffers, and a big
// nursery only holds garbage longer. The cap can only be set when node starts
// (--max-semi-space-size), so the growth is stopped at run time instead: after the garbage
// collection that takes the new space to the cap, it stops growing. Measured on a 1 GB database +
// 1 GB filestore (bench/README.md): backup peak RSS 146-152 MB instead of 163-165 MB; keeping the
// nursery at its initial 2 MiB saved no more memory and cost a restore 4.5 s of CPU in garbage
// collection (buffers waiting for a slow disk were promoted, then collected by full GCs).
// V8 flags given by the user (node --flag, NODE_OPTIONS) win.
const YOUNG_GENERATION_CAP = 8 * 1024 * 1024
if (![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /--(max-|min-)?semi-space/.test(a))) {
  const observer = new PerformanceObserver(() => {
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    if (young && young.space_size >= YOUNG_GENERATION_CAP) {
      v8.setFlagsFromString('--semi-space-growth-factor=1')
      observer.disconnect()
    }
  })
  observer.observe({entryTypes: ['gc']})
}

// Node (22.1+) caches compiled code between runs: start-up is most of a short command's time.
nodeModule.enableCompileCache?.()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
